"""Adapters to outside systems (the one place where their client libraries are imported)."""
