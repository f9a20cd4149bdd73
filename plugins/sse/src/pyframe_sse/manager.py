"""SSEManager, the seed's ``pyframe.sse.SSEManager``: subscribe to channels of events and send
to them, from any worker, with ids from the channel's log for replay."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from .hub import SSEHub, hub_of, running_hub
from .subscription import FROM_REQUEST, Subscription
from .wire import check_channel, check_namespace, prepare_outgoing, topic_of

if TYPE_CHECKING:
    from .stream import EventStream

__all__ = ["SSEManager"]


class SSEManager:
    """Channels of Server-Sent Events, for the app the sse plugin runs in.

    ``SSEManager()`` may be made at import time, before any app exists: it sends through
    whichever app runs the plugin once that app has started (inside an event stream, the
    stream's own app). Where one process runs several such apps at once, bind it:
    ``SSEManager(app=app)`` or ``manager.bind(app)``. Each manager has a ``namespace``
    ("default" unless given): managers with different namespaces have separate channels;
    managers with the same one (in every worker, or after a reload) share them.
    """

    def __init__(self, namespace: str = "default", *, app: Any = None) -> None:
        self._namespace = check_namespace(namespace)
        self._app = app

    @property
    def namespace(self) -> str:
        return self._namespace

    def __repr__(self) -> str:
        return f"SSEManager(namespace={self._namespace!r})"

    def bind(self, app: Any) -> SSEManager:
        """Send through ``app`` (a PyFrameApp with the sse plugin) from now on; returns self."""
        self._app = app
        return self

    def subscribe(self, channel: str, *,
                  last_event_id: str | None | Any = FROM_REQUEST) -> Subscription:
        """An async iterator of ``channel``'s events, from now on.

        Inside an event stream the first subscription replays what the client missed, after
        the request's ``Last-Event-ID``; pass ``last_event_id`` to choose (None: no replay).
        Nothing is joined until it is first iterated.
        """
        return Subscription(self, channel, topic_of(self._namespace, check_channel(channel)),
                            last_event_id)

    async def send_event(self, channel: str, event: Mapping[str, Any]) -> str:
        """Send ``event`` to every subscriber of ``channel``, on every worker; its id.

        ``event`` has ``event``, ``data``, ``retry`` and ``comment`` keys (README); the id is
        the log's. Raises InvalidEventError (a ValueError) for an event that cannot be sent,
        MessageTooLarge past the backend's size limit, BackendUnavailable when the backend
        does not answer; nobody receives it then.
        """
        topic = topic_of(self._namespace, check_channel(channel))
        prepared = prepare_outgoing(event)
        return await self._resolve().publish(topic, prepared)

    async def send_many(self, channels: Iterable[str],
                        event: Mapping[str, Any]) -> dict[str, str]:
        """Send one event to several channels (validated and encoded once): channel -> id.

        The channels are sent to concurrently; if any fails, the exception is raised after
        all were tried (the others have the event).
        """
        names = list(dict.fromkeys(check_channel(channel) for channel in channels))
        prepared = prepare_outgoing(event)
        hub = self._resolve()
        results = await asyncio.gather(
            *(hub.publish(topic_of(self._namespace, name), prepared) for name in names),
            return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException):
                raise result
        return dict(zip(names, results, strict=True))

    def subscriber_count(self, channel: str) -> int:
        """Subscribers of ``channel`` in this process that receive what is sent now."""
        return self._resolve().subscriber_count(topic_of(self._namespace,
                                                         check_channel(channel)))

    def subscriber_counts(self) -> dict[str, int]:
        """Every channel of this namespace with subscribers in this process, and how many."""
        prefix = topic_of(self._namespace, "")
        counts = {}
        for topic, channel in self._resolve().channels.items():
            if topic.startswith(prefix) and channel.live_subscribers:
                counts[topic[len(prefix):]] = channel.live_subscribers
        return counts

    def _resolve(self, stream: EventStream | None = None) -> SSEHub:
        if self._app is not None:
            return hub_of(self._app)
        if stream is None:
            from .stream import current_stream

            stream = current_stream()
        if stream is not None:
            return stream.hub
        return running_hub()
