"""Backends by URL: ``memory://`` built in, other schemes from the entry point group
``pyframe.backends``; one shared, reference-counted instance per URL per registry.

The app owns one registry (one per process in production, so one connection pool per
process per URL). Usable without an app: ``lease = await registry.open(url)``, then
``await lease.close()`` per user and ``await registry.close()`` at shutdown.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import importlib_metadata
import msgspec

from pyframe.logging import get_logger

from . import memory
from .contracts import (Backend, BackendClosed, BackendError, BackendHealth, BackendProvider,
                        Broker, EventLog, KeyValueStore, UnknownBackend)
from .options import redact_url, split_url

__all__ = ["ENTRY_POINT_GROUP", "DEFAULT_URL", "BackendRegistry", "BackendLease",
           "validate_url", "installed_schemes"]

ENTRY_POINT_GROUP = "pyframe.backends"
DEFAULT_URL = "memory://"
# Schemes pyframe's own extras serve, so the error can say what to install.
_EXTRAS = {"redis": "redis", "rediss": "redis", "unix": "redis"}

log = get_logger("pyframe.backends")


def _entry_points() -> dict[str, list[importlib_metadata.EntryPoint]]:
    found: dict[str, list[importlib_metadata.EntryPoint]] = {}
    for ep in importlib_metadata.entry_points(group=ENTRY_POINT_GROUP):
        same = found.setdefault(ep.name.lower(), [])
        if all(other.value != ep.value for other in same):  # one dist seen twice is one
            same.append(ep)
    return found


def installed_schemes() -> list[str]:
    """Every scheme a backend URL may use here: ``memory`` and the installed entry points."""
    return sorted({"memory", *_entry_points()})


def _dist_name(ep: importlib_metadata.EntryPoint) -> str:
    dist = getattr(ep, "dist", None)
    return dist.name if dist is not None else ep.value


def _load(scheme: str, eps: list[importlib_metadata.EntryPoint]) -> BackendProvider:
    if len(eps) > 1:
        names = ", ".join(sorted(_dist_name(ep) for ep in eps))
        raise BackendError(f"more than one installed distribution serves {scheme}:// "
                           f"URLs ({names}); uninstall all but one")
    try:
        provider = eps[0].load()
    except Exception as exc:
        raise BackendError(f"the {scheme}:// backend of {_dist_name(eps[0])} failed to load: "
                           f"{type(exc).__name__}: {exc}") from exc
    if not (callable(getattr(provider, "check_url", None))
            and callable(getattr(provider, "create", None))):
        raise BackendError(f"the {scheme}:// backend of {_dist_name(eps[0])} "
                           f"({eps[0].value}) has no check_url and create")
    return provider


class BackendLease:
    """One user's hold on a shared backend: the same broker, store and log as every other
    lease on the URL. ``close()`` gives this hold back (idempotent); the last one closes it."""

    def __init__(self, registry: BackendRegistry, key: str, backend: Backend) -> None:
        self._registry = registry
        self._key = key
        self._backend: Backend | None = backend

    def _live(self) -> Backend:
        if self._backend is None:
            raise BackendClosed("this backend lease is closed")
        return self._backend

    @property
    def closed(self) -> bool:
        return self._backend is None

    @property
    def backend(self) -> Backend:
        return self._live()

    @property
    def url(self) -> str:
        return self._live().url

    @property
    def scheme(self) -> str:
        return self._live().scheme

    @property
    def broker(self) -> Broker:
        return self._live().broker

    @property
    def store(self) -> KeyValueStore:
        return self._live().store

    @property
    def log(self) -> EventLog:
        return self._live().log

    def health(self) -> BackendHealth:
        return self._registry._health(self._key, self._live())

    async def close(self) -> None:
        if self._backend is not None:
            self._backend = None
            await self._registry._release(self._key)

    async def __aenter__(self) -> BackendLease:
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        await self.close()


class _Entry:
    __slots__ = ("backend", "users")

    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self.users = 0


class BackendRegistry:
    """``providers`` replaces entry-point discovery (``{scheme: provider}``), for tests and
    embedding; ``memory`` is always built in."""

    def __init__(self, providers: Mapping[str, BackendProvider] | None = None) -> None:
        self._fixed = None if providers is None else {k.lower(): v for k, v in providers.items()}
        self._loaded: dict[str, BackendProvider] = {"memory": memory}
        self._entries: dict[str, _Entry] = {}
        self._lock = asyncio.Lock()
        self._closed = False

    def schemes(self) -> list[str]:
        if self._fixed is not None:
            return sorted({"memory", *self._fixed})
        return installed_schemes()

    def _provider(self, scheme: str, url: str) -> BackendProvider:
        provider = self._loaded.get(scheme)
        if provider is not None:
            return provider
        if self._fixed is not None:
            provider = self._fixed.get(scheme)
        else:
            eps = _entry_points().get(scheme)
            provider = _load(scheme, eps) if eps else None
        if provider is None:
            raise UnknownBackend(self._unknown(scheme, url))
        self._loaded[scheme] = provider
        return provider

    def _unknown(self, scheme: str, url: str) -> str:
        installed = ", ".join(self.schemes())
        message = f"no installed backend serves {scheme}:// URLs ({redact_url(url)})"
        extra = _EXTRAS.get(scheme)
        if extra is not None:
            return (f"{message}: install pyframe-{extra} with pip install 'pyframe[{extra}]'"
                    f" (installed schemes: {installed})")
        return (f"{message}; installed schemes: {installed} (a distribution adds a scheme "
                f"through the entry point group '{ENTRY_POINT_GROUP}')")

    def validate(self, url: str | None) -> str:
        """Check ``url`` without connecting; the URL the registry keys it by. None and ''
        mean the embedded backend. Raises UnknownBackend, InvalidBackendURL, BackendError."""
        if url is None or url == "":
            url = DEFAULT_URL
        scheme = split_url(url).scheme.lower()
        self._provider(scheme, url).check_url(url)
        return url

    async def open(self, url: str | None = None) -> BackendLease:
        """A lease on the backend for ``url``, opening it if this is its first user."""
        key = self.validate(url)
        async with self._lock:
            if self._closed:
                raise BackendClosed("the backend registry is closed")
            entry = self._entries.get(key)
            if entry is None:
                backend = self._provider(split_url(key).scheme.lower(), key).create(key)
                try:
                    await backend.open()
                except BaseException:
                    await backend.close()
                    raise
                entry = self._entries[key] = _Entry(backend)
                log.info("backend_opened", backend=backend.url)
            entry.users += 1
            return BackendLease(self, key, entry.backend)

    async def _release(self, key: str) -> None:
        async with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return  # the registry was closed meanwhile
            entry.users -= 1
            if entry.users == 0:
                del self._entries[key]
                await entry.backend.close()
                log.info("backend_closed", backend=entry.backend.url)

    def _health(self, key: str, backend: Backend | None = None) -> BackendHealth:
        entry = self._entries.get(key)
        if entry is None:  # closed with the registry while a lease still held it
            assert backend is not None
            return backend.health()
        return msgspec.structs.replace(entry.backend.health(), users=entry.users)

    def health(self) -> list[BackendHealth]:
        """A snapshot of every open backend, in the order they were opened."""
        return [self._health(key) for key in self._entries]

    async def close(self) -> None:
        """Close every backend, whatever its lease count; later opens raise BackendClosed."""
        async with self._lock:
            self._closed = True
            entries, self._entries = list(self._entries.values()), {}
            for entry in reversed(entries):
                await entry.backend.close()
                log.info("backend_closed", backend=entry.backend.url)


def validate_url(url: str | None) -> str:
    """Check a backend URL at config time, against the installed backends, without I/O."""
    return BackendRegistry().validate(url)
