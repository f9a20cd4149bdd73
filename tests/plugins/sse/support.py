"""Helpers of the sse tests: apps with the plugin, a streaming client that parses events as
they arrive (with the plugin's own conforming parser), and waiting with a deadline."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import aiohttp

from pyframe import PyFrameApp
from pyframe.testing import wait_until
from pyframe_sse import EventStreamParser, ReceivedEvent, SSEManager

__all__ = ["DEADLINE", "EventReader", "sse_app", "stream_route", "wait_until"]

DEADLINE = 10.0  # seconds; generous so a loaded machine does not fail a correct server



def sse_app(**options: Any) -> PyFrameApp:
    """A new app with the sse plugin enabled through its entry point."""
    app = PyFrameApp()
    app.plugins.enable("sse", **options)
    return app


def stream_route(app: PyFrameApp, manager: SSEManager, path: str = "/events",
                 seen: dict[str, Any] | None = None) -> None:
    """``GET path?channel=c``: an event stream of the channel, as the reference writes one.
    ``seen`` (if given) records the generator's ``finally``."""

    @app.get(path)
    async def events(context):
        channel = context.query_params.get("channel", "news")

        async def generator():
            try:
                async for event in manager.subscribe(channel):
                    yield event
            finally:
                if seen is not None:
                    seen["finally"] = seen.get("finally", 0) + 1

        return {"status": 200, "headers": {"Content-Type": "text/event-stream"},
                "body": generator()}


class EventReader:
    """Reads an event stream off an aiohttp response as its bytes arrive."""

    def __init__(self, resp: aiohttp.ClientResponse,
                 decode: Callable[[bytes], bytes] | None = None) -> None:
        self.resp = resp
        self.decode = decode  # for a coding the client does not decode itself
        self.comments: list[str] = []
        self.parser = EventStreamParser(on_comment=self.comments.append)
        self._events: list[ReceivedEvent] = []
        self.ended = False

    async def _feed(self, timeout: float) -> None:
        chunk = await asyncio.wait_for(self.resp.content.readany(), timeout)
        if not chunk:
            self.ended = True
            return
        if self.decode is not None:
            chunk = self.decode(chunk)
        self._events.extend(self.parser.feed(chunk))

    async def next(self, timeout: float = DEADLINE) -> ReceivedEvent:
        """The next event; fails after ``timeout`` seconds or at the end of the stream."""
        async with asyncio.timeout(timeout):
            while not self._events:
                if self.ended:
                    raise AssertionError("the stream ended")
                await self._feed(timeout)
        return self._events.pop(0)

    async def take(self, count: int, timeout: float = DEADLINE) -> list[ReceivedEvent]:
        return [await self.next(timeout) for _ in range(count)]

    async def comment(self, count: int = 1, timeout: float = DEADLINE) -> list[str]:
        """Wait until ``count`` comments have arrived in all; them."""
        async with asyncio.timeout(timeout):
            while len(self.comments) < count:
                if self.ended:
                    raise AssertionError("the stream ended")
                await self._feed(timeout)
        return self.comments[:count]

    async def until_end(self, timeout: float = DEADLINE) -> list[ReceivedEvent]:
        """Read to the end of the body (raises if it is cut); the events left."""
        async with asyncio.timeout(timeout):
            while not self.ended:
                await self._feed(timeout)
        events, self._events = self._events, []
        return events
