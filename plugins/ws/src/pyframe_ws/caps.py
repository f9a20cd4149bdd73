"""Connection caps per client address and per user, counted in this process.

A client over its cap is refused at the handshake (429), before any WebSocket state exists.
Each worker counts its own connections: with N workers a client may hold N times the cap.
"""

from __future__ import annotations

from collections import Counter

__all__ = ["CapExceeded", "ConnectionCaps", "Slot"]


class CapExceeded(Exception):
    """The handshake would go over a cap; ``kind`` is ``"ip"`` or ``"user"``."""

    def __init__(self, kind: str, limit: int) -> None:
        self.kind = kind
        self.limit = limit
        super().__init__(f"more than {limit} open WebSocket connections for this {kind}")


class Slot:
    """One counted connection; ``release()`` is idempotent."""

    __slots__ = ("_caps", "ip", "user")

    def __init__(self, caps: ConnectionCaps, ip: str | None, user: str | None) -> None:
        self._caps: ConnectionCaps | None = caps
        self.ip = ip
        self.user = user

    def release(self) -> None:
        caps, self._caps = self._caps, None
        if caps is not None:
            caps._release(self.ip, self.user)


class ConnectionCaps:
    """``acquire(ip, user)`` counts a connection or raises :class:`CapExceeded`; 0 = no cap."""

    def __init__(self, per_ip: int, per_user: int) -> None:
        self.per_ip = per_ip
        self.per_user = per_user
        self.by_ip: Counter[str] = Counter()
        self.by_user: Counter[str] = Counter()

    def acquire(self, ip: str | None, user: str | None) -> Slot:
        if ip is not None and self.per_ip and self.by_ip[ip] >= self.per_ip:
            raise CapExceeded("address", self.per_ip)
        if user is not None and self.per_user and self.by_user[user] >= self.per_user:
            raise CapExceeded("user", self.per_user)
        if ip is not None:
            self.by_ip[ip] += 1
        if user is not None:
            self.by_user[user] += 1
        return Slot(self, ip, user)

    def _release(self, ip: str | None, user: str | None) -> None:
        # Counters keep no zero entries: a cap never grows a dict of every address seen.
        for counts, key in ((self.by_ip, ip), (self.by_user, user)):
            if key is not None:
                counts[key] -= 1
                if counts[key] <= 0:
                    del counts[key]
