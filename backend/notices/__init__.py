"""Notices to customers and staff: what is said, over which channel, and how it was delivered.

The subscribe-message ledger and the customers' channel choices are ``backend.notifications``."""
