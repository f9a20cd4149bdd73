"""Raw event streams, for the hostile cases (tests/hostile/test_sse_*.py): a GET written byte
for byte on a plain socket, its chunked body read as it arrives and parsed the way a browser
does (with the plugin's conforming parser); and the routes those cases attack."""

from __future__ import annotations

import asyncio

from pyframe import PyFrameApp
from pyframe_sse import EventStreamParser, InvalidEventError, ReceivedEvent, SSEManager

__all__ = ["READ_TIMEOUT", "RawStream", "add_sse_routes"]

READ_TIMEOUT = 10.0  # every read has this deadline: a hang fails the test


def add_sse_routes(app: PyFrameApp) -> SSEManager:
    """``GET /events?channel=c`` streams a channel; ``POST /notify`` sends the JSON body's
    fields as an event (422 with the reason for one that cannot be sent), as an app that
    forwards user input would."""
    manager = SSEManager(app=app)

    @app.get("/events")
    async def events(context):
        channel = context.query_params.get("channel", "news")

        async def generator():
            async for event in manager.subscribe(channel):
                yield event

        return {"status": 200, "headers": {"Content-Type": "text/event-stream"},
                "body": generator()}

    @app.post("/notify")
    async def notify(context):
        fields = dict(context.json)
        channel = fields.pop("channel", "news")
        try:
            event_id = await manager.send_event(channel, fields)
        except InvalidEventError as exc:
            return {"status": 422, "body": {"error": str(exc)}}
        return {"id": event_id}

    return manager


class RawStream:
    """``stream = await RawStream.open(port, "/events", b"Header: v\\r\\n")``, then
    ``await stream.next()`` for each event; ``wire`` is every event-stream byte received."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.status = 0
        self.head = b""
        self.wire = b""
        self.comments: list[str] = []
        self.parser = EventStreamParser(on_comment=self.comments.append)
        self._events: list[ReceivedEvent] = []
        self.complete = False  # the zero-size chunk arrived

    @classmethod
    async def open(cls, port: int, path: str, extra: bytes = b"") -> RawStream:
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection("127.0.0.1", port), READ_TIMEOUT)
        writer.write(b"GET " + path.encode() + b" HTTP/1.1\r\nHost: hostile.test\r\n" + extra
                     + b"\r\n")
        stream = cls(reader, writer)
        stream.head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), READ_TIMEOUT)
        stream.status = int(stream.head.split(b" ", 2)[1])
        return stream

    def header(self, name: str) -> str | None:
        for line in self.head.decode("latin-1").split("\r\n")[1:]:
            key, _, value = line.partition(":")
            if key.strip().lower() == name.lower():
                return value.strip()
        return None

    async def _chunk(self) -> bool:
        line = await self.reader.readuntil(b"\r\n")
        size = int(line.split(b";")[0], 16)
        if size == 0:
            self.complete = True
            return False
        data = (await self.reader.readexactly(size + 2))[:-2]
        self.wire += data
        self._events.extend(self.parser.feed(data))
        return True

    async def next(self, timeout: float = READ_TIMEOUT) -> ReceivedEvent:
        async with asyncio.timeout(timeout):
            while not self._events:
                if not await self._chunk():
                    raise AssertionError("the stream ended")
        return self._events.pop(0)

    async def is_cut(self, timeout: float = READ_TIMEOUT) -> bool:
        """Read to the end: True if the body stops without its zero-size chunk (aborted)."""
        try:
            async with asyncio.timeout(timeout):
                while await self._chunk():
                    pass
        except (asyncio.IncompleteReadError, ConnectionError):
            return True
        return False

    def close(self) -> None:
        if not self.writer.transport.is_closing():
            self.writer.transport.abort()
