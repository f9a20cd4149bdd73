"""Redis implementation of pyframe's shared backends (broker, store, event log), for
``redis://``, ``rediss://`` (TLS) and ``unix://`` URLs; Valkey works the same."""

from .provider import SCHEMES, RedisOptions, check_url, create

__all__ = ["RedisOptions", "SCHEMES", "check_url", "create"]
