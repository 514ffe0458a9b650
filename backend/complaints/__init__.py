"""The complaints domain."""
