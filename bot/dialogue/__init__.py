"""The channel-agnostic dialogue engine: state, flows (one module each), copy from config/dialogue.yaml."""
