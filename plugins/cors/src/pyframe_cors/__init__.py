"""CORS for pyframe, following the Fetch standard."""
