"""The HTTP connection and writing responses: the only place that touches aiohttp's private
names (tests/core/test_aiohttp_private.py lists each one)."""
