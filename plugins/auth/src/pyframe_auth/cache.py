"""A bounded map for work worth remembering per credential: verified tokens and checked cookies.

At most ``size`` entries; when full, the oldest entry is dropped (first in, first out), so a
flood of new credentials costs a fixed amount of memory and only pushes out old entries.
"""

from __future__ import annotations

from typing import TypeVar

__all__ = ["BoundedCache"]

K = TypeVar("K")
V = TypeVar("V")


class BoundedCache(dict[K, V]):
    """A dict that ``put`` keeps at ``size`` entries or fewer (0: remembers nothing).

    Reads are the dict's own (``get`` in C: these run on every request); write only through
    ``put``, which is where the bound is kept.
    """

    __slots__ = ("size",)

    def __init__(self, size: int) -> None:
        super().__init__()
        if size < 0:
            raise ValueError("a cache size is 0 (off) or more")
        self.size = size

    def put(self, key: K, value: V) -> None:
        if not self.size:
            return
        if key not in self and len(self) >= self.size:
            del self[next(iter(self))]  # dicts keep insertion order: this is the oldest
        self[key] = value

    def discard(self, key: K) -> None:
        self.pop(key, None)
