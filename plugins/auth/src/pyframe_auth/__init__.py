"""Authentication for pyframe: tokens, sessions and users."""
