"""The web chat channel: a phone-sized customer chat page (local mode) through the dialogue engine."""
