"""Static file serving for pyframe."""
