"""The sse plugin's state in one started app: its backend lease, the channels this process
follows, the open event streams, the counters behind its metrics; and which apps run it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from pyframe.plugin import (AppKey, BackendLease, BackendUnavailable, BusState, MetricSample,
                            draining, get_logger)

from .channel import Channel
from .encoder import PreparedEvent
from .ids import is_log_id
from .wire import encode_entry

if TYPE_CHECKING:
    from .config import SSEConfig
    from .stream import EventStream
    from .subscription import Subscription

__all__ = ["HUB", "Counters", "SSEHub", "hub_of", "running_hub"]

log = get_logger("pyframe", plugin="sse")

# A Last-Event-ID stamped further ahead of this clock was not issued by the log (a forged id,
# which would otherwise make the stream skip every event until the clock caught up). Ids are
# stamped by the backend's clock (Redis's on Redis), so machines' clocks may differ this much.
FUTURE_TOLERANCE = 300.0

# The started apps of this process that run the plugin, oldest first: where an SSEManager
# made at import time (bound to no app) sends.
_running: list[SSEHub] = []


class Counters:
    """What this process did, for the metrics plugin (monotonic, since the app started)."""

    __slots__ = ("published", "sent", "dropped", "cut", "missed", "streams")

    def __init__(self) -> None:
        self.published = 0  # events appended to a channel's log by send_event
        self.sent = 0  # events handed to subscribers, replayed or live
        self.dropped = 0  # events a lagging subscriber lost when it was cut
        self.cut = 0  # subscribers (streams) cut because they fell behind
        self.missed = 0  # missed_events notices (the log had dropped events)
        self.streams = 0  # event streams opened


class SSEHub:
    """Created by the plugin when the app starts (``app.state[HUB]``), closed when it stops."""

    def __init__(self, app: Any, lease: BackendLease, config: SSEConfig, *,
                 clock: Callable[[], float] = time.time) -> None:
        self.app = app
        self.clock = clock
        self.lease = lease
        self.config = config
        self.counters = Counters()
        self.channels: dict[str, Channel] = {}
        self.streams: set[EventStream] = set()
        self.draining = False
        # How long a replay waits for a new channel to find the end of its log.
        self.ready_timeout = 5.0
        self._closing: set[asyncio.Future[Any]] = set()
        self._drain_watch: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.lease.broker.add_state_listener(self._on_bus_state)
        self._drain_watch = asyncio.ensure_future(self._watch_drain())
        _running.append(self)

    async def close(self) -> None:
        """End the open streams and stop following channels (before the lease goes back)."""
        if self in _running:
            _running.remove(self)
        self.draining = True
        self.lease.broker.remove_state_listener(self._on_bus_state)
        if self._drain_watch is not None:
            self._drain_watch.cancel()
            await asyncio.gather(self._drain_watch, return_exceptions=True)
        for stream in list(self.streams):
            stream.finish()
        for channel in list(self.channels.values()):
            self._closing.update(channel.close())
        self.channels.clear()
        if self._closing:
            await asyncio.gather(*self._closing, return_exceptions=True)

    # Channels.
    def join(self, topic: str, subscriber: Subscription) -> Channel:
        channel = self.channels.get(topic)
        if channel is None:
            channel = self.channels[topic] = Channel(self, topic)
        channel.subscribers[subscriber] = None
        return channel

    def leave(self, topic: str, subscriber: Subscription) -> None:
        channel = self.channels.get(topic)
        if channel is None:
            return
        channel.subscribers.pop(subscriber, None)
        if not channel.subscribers:
            # Nobody here listens any more: drop the broker subscription and the loop. A new
            # subscriber opens the channel again (and finds the log's end again).
            del self.channels[topic]
            for task in channel.close():
                self._closing.add(task)
                task.add_done_callback(self._closing.discard)

    def resume_point(self, last_event_id: str | None) -> str | None:
        """``last_event_id`` if the log could have issued it, else None (start live)."""
        if last_event_id is None or not is_log_id(last_event_id):
            return None
        if int(last_event_id[:15]) > (self.clock() + FUTURE_TOLERANCE) * 1000:
            return None
        return last_event_id

    def subscriber_count(self, topic: str) -> int:
        channel = self.channels.get(topic)
        return channel.live_subscribers if channel is not None else 0

    async def publish(self, topic: str, event: PreparedEvent) -> str:
        """Append ``event`` to the channel's log and wake every process that follows it."""
        entry_id = await self.lease.log.append(topic, encode_entry(event))
        self.counters.published += 1
        try:
            await self.lease.broker.publish(topic, entry_id.encode("ascii"))
        except BackendUnavailable as exc:
            # The event is in the log and this process has the wake-up already; others read
            # it with the channel's next event, or when their bus comes back.
            log.warning("sse_wake_up_failed", channel=topic, id=entry_id, detail=str(exc))
        return entry_id

    # Streams.
    def stream_opened(self, stream: EventStream) -> None:
        self.streams.add(stream)
        self.counters.streams += 1
        if self.draining:
            stream.finish()

    def stream_closed(self, stream: EventStream) -> None:
        self.streams.discard(stream)

    async def _watch_drain(self) -> None:
        await draining(self.app).wait()
        self.draining = True
        if self.streams:
            log.info("sse_streams_ending", streams=len(self.streams), reason="draining")
        for stream in list(self.streams):
            stream.finish()

    def _on_bus_state(self, state: BusState) -> None:
        # Wake-ups other workers published while the bus was down are lost; the log is not.
        if state is BusState.UP:
            for channel in self.channels.values():
                channel.wake()

    # Measurements.
    def samples(self) -> Iterable[MetricSample]:
        counters = self.counters
        yield MetricSample(name="pyframe_sse_streams", value=float(len(self.streams)),
                           help="Open Server-Sent Events streams.")
        by_namespace: dict[str, int] = {}
        for topic, channel in self.channels.items():
            namespace = topic.split(":", 2)[1]
            by_namespace[namespace] = by_namespace.get(namespace, 0) + len(channel.subscribers)
        for namespace, count in sorted(by_namespace.items()):
            yield MetricSample(name="pyframe_sse_subscribers", value=float(count),
                               labels={"namespace": namespace},
                               help="Subscribers of SSE channels in this process.")
        yield MetricSample(name="pyframe_sse_channels", value=float(len(self.channels)),
                           help="SSE channels this process follows.")
        for name, value, text in (
                ("pyframe_sse_events_published_total", counters.published,
                 "Events sent with send_event (appended to a channel's log)."),
                ("pyframe_sse_events_sent_total", counters.sent,
                 "Events handed to subscribers, replayed or live."),
                ("pyframe_sse_events_dropped_total", counters.dropped,
                 "Events lagging subscribers lost when their stream was cut."),
                ("pyframe_sse_streams_cut_total", counters.cut,
                 "Subscribers cut because their queue overflowed."),
                ("pyframe_sse_missed_events_total", counters.missed,
                 "missed_events notices sent (the log had dropped events)."),
                ("pyframe_sse_streams_opened_total", counters.streams,
                 "Event streams opened.")):
            yield MetricSample(name=name, value=float(value), kind="counter", help=text)


HUB = AppKey("sse.hub", SSEHub)


def hub_of(app: Any) -> SSEHub:
    hub = app.state.get(HUB)
    if hub is None:
        raise RuntimeError("this app does not run the sse plugin (or has not started): turn it "
                           "on with a [plugins.sse] section in pyframe.toml or "
                           "app.plugins.enable('sse')")
    return hub


def running_hub() -> SSEHub:
    """The one started app of this process that runs the plugin (not counting apps that are
    shutting down while another runs, as during a dev-server reload)."""
    live = [hub for hub in _running if not hub.draining] or _running[-1:]
    if len(live) == 1:
        return live[0]
    if not live:
        raise RuntimeError("no app running the sse plugin has started in this process: turn it "
                           "on with a [plugins.sse] section in pyframe.toml or "
                           "app.plugins.enable('sse'), and send once the app is up")
    raise RuntimeError(f"{len(live)} apps running the sse plugin have started in this process; "
                       "say which one this manager is for: SSEManager(app=app) or "
                       "manager.bind(app)")
