"""The built-in models: one plugin module each, registered like any third-party plugin."""
