"""One WebSocketManager's connections in one started app: who is connected, in which groups, as
which user, and handing a message to each receiver's queue.

Local delivery never waits and never depends on the backend. With a shared backend the hub
also keeps the manager's relay (a topic for the manager, per group and per user, followed
while this process has a member there) and its presence record.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pyframe.plugin import Subscription

from .connection import WebSocket
from .outgoing import Outgoing
from .presence import Presence, PresenceRecord
from .relay import ALL, Relay, Target

__all__ = ["Hub"]


class _Member:
    __slots__ = ("user", "groups")

    def __init__(self, user: str | None) -> None:
        self.user = user
        self.groups: set[str] = set()


class Hub:
    """The local state behind one manager in one app; every method is synchronous."""

    def __init__(self, namespace: str, runtime: Any) -> None:
        self.namespace = namespace
        self.runtime = runtime
        self.members: dict[WebSocket, _Member] = {}
        # dicts, not sets: a group's members receive in the order they joined.
        self.groups: dict[str, dict[WebSocket, None]] = {}
        self.users: dict[str, dict[WebSocket, None]] = {}
        self.relay: Relay | None = None
        self.presence: Presence | None = None
        self.delivered = 0
        self.closed = False

    # -- membership --------------------------------------------------------------------------

    def add(self, ws: WebSocket, user: str | None) -> list[Subscription]:
        """Register ``ws`` (a no-op if it is registered); the new subscriptions to wait on."""
        if ws in self.members or ws.closed:
            return []
        self.members[ws] = _Member(user)
        ws.add_close_callback(self.remove)
        new = [self._follow(ALL)] if len(self.members) == 1 else []
        if user is not None:
            peers = self.users.setdefault(user, {})
            peers[ws] = None
            if len(peers) == 1:
                new.append(self._follow(("user", user)))
        self._changed()
        return [sub for sub in new if sub is not None]

    def remove(self, ws: WebSocket) -> bool:
        """Forget ``ws`` (idempotent); False if it was not registered."""
        member = self.members.pop(ws, None)
        if member is None:
            return False
        for group in member.groups:
            self._drop(self.groups, ("group", group), ws)
        if member.user is not None:
            self._drop(self.users, ("user", member.user), ws)
        if not self.members:
            self._unfollow(ALL)
        self._changed()
        return True

    def join(self, ws: WebSocket, group: str) -> Subscription | None:
        member = self.members[ws]
        if group in member.groups:
            return None
        member.groups.add(group)
        peers = self.groups.setdefault(group, {})
        peers[ws] = None
        self._changed()
        return self._follow(("group", group)) if len(peers) == 1 else None

    def leave(self, ws: WebSocket, group: str) -> None:
        member = self.members.get(ws)
        if member is None or group not in member.groups:
            return
        member.groups.discard(group)
        self._drop(self.groups, ("group", group), ws)
        self._changed()

    def _drop(self, index: dict[str, dict[WebSocket, None]], target: Target,
              ws: WebSocket) -> None:
        peers = index.get(target[1])
        if peers is None:
            return
        peers.pop(ws, None)
        if not peers:
            del index[target[1]]
            self._unfollow(target)

    def _follow(self, target: Target) -> Subscription | None:
        return self.relay.follow(target) if self.relay is not None else None

    def _unfollow(self, target: Target) -> None:
        if self.relay is not None:
            self.relay.unfollow(target)

    def _changed(self) -> None:
        if self.presence is not None:
            self.presence.changed()

    # -- delivery ----------------------------------------------------------------------------

    def receivers(self, target: Target) -> Iterable[WebSocket]:
        kind, key = target
        if kind == "all":
            return self.members
        index = self.groups if kind == "group" else self.users
        return index.get(key, ())

    def deliver(self, target: Target, item: Outgoing) -> int:
        """Queue ``item`` for every local receiver of ``target``; never waits. A receiver whose
        queue is full is closed (1008) by its own connection, and the others still get it."""
        count = 0
        # A copy: a full queue closes its connection, whose callback changes the index.
        for ws in list(self.receivers(target)):
            if ws.send_encoded(item):
                count += 1
        self.delivered += count
        return count

    # -- counts ------------------------------------------------------------------------------

    def connection_count(self) -> int:
        others = self.presence.others_total() if self.presence is not None else 0
        return len(self.members) + others

    def group_size(self, group: str) -> int:
        others = self.presence.others_in_group(group) if self.presence is not None else 0
        return len(self.groups.get(group, ())) + others

    def record(self) -> PresenceRecord:
        return PresenceRecord(n=len(self.members),
                              g={name: len(peers) for name, peers in self.groups.items()})

    async def close(self) -> None:
        """Stop relaying and leave the presence hash; the connections are the runtime's."""
        self.closed = True
        for ws in list(self.members):
            self.remove(ws)
        if self.relay is not None:
            await self.relay.close()
        if self.presence is not None:
            await self.presence.stop()
