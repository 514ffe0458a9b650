"""The roster domain."""
