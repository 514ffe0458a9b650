"""Conversations: inbound WeChat messages (inbox, dedupe source of truth), dialogue turns."""
