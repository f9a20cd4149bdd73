"""``context.session``: a dict that knows whether it changed, nested changes included, so an
unchanged session costs no ``Set-Cookie`` and no store write.

Changes are found by comparing the JSON encoding at save time with the one taken when the
session was first read: a list mutated in place counts, with no proxy objects handed out.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping, MutableMapping
from typing import Any

import msgspec

__all__ = ["MAX_DEPTH", "Session", "SessionValueError", "check_session_data"]

MAX_DEPTH = 32
_INT64 = 2**63
_encode = msgspec.json.Encoder().encode
_MISSING = object()


class SessionValueError(TypeError):
    """A session value that would not come back as it went in (the message names its path)."""


def _check(value: Any, path: str, depth: int) -> None:
    kind = type(value)
    if value is None or kind is bool or kind is str:
        return
    if kind is int:
        if not -_INT64 <= value < _INT64:
            raise SessionValueError(f"session{path}: integers are limited to 64 bits")
        return
    if kind is float:
        if not math.isfinite(value):
            raise SessionValueError(f"session{path}: NaN and infinity are not JSON")
        return
    if depth >= MAX_DEPTH:
        raise SessionValueError(f"session{path}: nested deeper than {MAX_DEPTH} levels")
    if kind is list:
        for index, item in enumerate(value):
            _check(item, f"{path}[{index}]", depth + 1)
        return
    if kind is dict:
        for key, item in value.items():
            if type(key) is not str:
                raise SessionValueError(f"session{path}: keys are strings, got {key!r}")
            _check(item, f"{path}[{key!r}]", depth + 1)
        return
    hint = " (use a list)" if kind is tuple else ""
    raise SessionValueError(f"session{path}: a {kind.__name__} is not a JSON value{hint}; a "
                            f"session holds str, int, float, bool, None, list and dict")


def check_session_data(data: Mapping[str, Any]) -> None:
    """Raise SessionValueError unless ``data`` is plain JSON that round-trips exactly."""
    for key, value in data.items():
        if type(key) is not str:
            raise SessionValueError(f"session keys are strings, got {key!r}")
        _check(value, f"[{key!r}]", 1)


class Session(MutableMapping[str, Any]):
    """Session data with change tracking.

    ``modified`` is true when the data differs from what was loaded (nested mutation included)
    or ``mark_modified()`` was called. ``validator``, when given, runs after each top-level
    write (the codec's size check), and a write it refuses is undone, so an oversized session
    fails where the handler set it. ``new`` is false for a session loaded from a request;
    ``created`` is when it began (seconds since the epoch), None for a new one. ``rotate()``
    asks for a new session id (call it on login); ``invalidate()`` empties the session and asks
    for it to be deleted (logout).
    """

    # Defaults live on the class: a session is made for every request, and sets only what
    # differs from these.
    _snapshot: bytes | None = None  # taken on first read: an untouched session is free
    _forced = False
    new = True
    created: int | None = None  # when the session began (absolute expiry); None until saved
    rotate_requested = False
    invalidated = False
    _validator: Callable[[Mapping[str, Any]], None] | None = None

    def __init__(self, data: Mapping[str, Any] | None = None, *, new: bool = True,
                 created: int | None = None,
                 validator: Callable[[Mapping[str, Any]], None] | None = None) -> None:
        self._data: dict[str, Any] = dict(data) if data else {}
        if not new:
            self.new = False
        if created is not None:
            self.created = created
        if validator is not None:
            self._validator = validator

    def _touch(self) -> dict[str, Any]:
        if self._snapshot is None:
            self._snapshot = _encode(self._data)
        return self._data

    @property
    def accessed(self) -> bool:
        """Whether the handler looked at the session (responses then vary on the cookie)."""
        return self._snapshot is not None

    @property
    def modified(self) -> bool:
        if self._forced:
            return True
        if self._snapshot is None:
            return False
        try:
            return _encode(self._data) != self._snapshot
        except (TypeError, ValueError, OverflowError):
            return True  # something unencodable was stored: certainly a change; saving says why

    def mark_modified(self) -> None:
        self._forced = True

    def rotate(self) -> None:
        self.rotate_requested = True
        self._forced = True

    def invalidate(self) -> None:
        self._touch().clear()
        self.invalidated = True
        self._forced = True

    def _validate(self, key: str, previous: Any) -> None:
        if self._validator is None:
            return
        try:
            self._validator(self._data)
        except BaseException:
            if previous is _MISSING:
                self._data.pop(key, None)
            else:
                self._data[key] = previous
            raise

    # -- the mapping protocol ----------------------------------------------------------------
    def __getitem__(self, key: str) -> Any:
        return self._touch()[key]

    def __setitem__(self, key: str, value: Any) -> None:
        if type(key) is not str:
            raise SessionValueError(f"session keys are strings, got {key!r}")
        data = self._touch()
        previous = data.get(key, _MISSING)
        data[key] = value
        self._validate(key, previous)

    def __delitem__(self, key: str) -> None:
        del self._touch()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._touch())

    def __len__(self) -> int:
        return len(self._touch())

    def __contains__(self, key: object) -> bool:
        return key in self._touch()

    def get(self, key: str, default: Any = None) -> Any:
        return self._touch().get(key, default)

    def clear(self) -> None:
        self._touch().clear()

    def to_dict(self) -> dict[str, Any]:
        """The data itself (not a copy), for the codec."""
        return self._touch()

    def __repr__(self) -> str:  # keys only: values may be personal data
        return f"<Session keys={sorted(self._data)!r} modified={self.modified}>"
