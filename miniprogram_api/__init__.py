"""miniprogram_api package."""
