"""The calendar domain."""
