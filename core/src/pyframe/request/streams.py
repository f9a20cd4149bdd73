"""Long-lived responses: the app's draining signal, streams that end on it, and how the items
of a streamed body become bytes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterable, AsyncIterator, Callable
from typing import TYPE_CHECKING, Any

from .negotiation import media_type_of
from .responses import json_encode
from .state import AppKey

if TYPE_CHECKING:
    from ..app import PyFrameApp

__all__ = ["DRAINING", "draining", "until_draining", "stream_item_encoder"]

DRAINING = AppKey("pyframe.draining", asyncio.Event)


def draining(app: PyFrameApp) -> asyncio.Event:
    """The app's draining event: set when the server starts shutting down (SIGTERM,
    ``stop()``, or a dev-server reload retiring this app).

    Long-lived responses watch it and finish cleanly: an SSE stream ends, a WebSocket closes
    with 1001 (going away). It lives in ``app.state[pyframe.plugin.DRAINING]``.
    """
    event = app.state.get(DRAINING)
    if event is None:
        event = app.state[DRAINING] = asyncio.Event()
    return event


async def until_draining(app: PyFrameApp, source: AsyncIterable[Any]) -> AsyncIterator[Any]:
    """Yield from ``source`` until it ends or the server starts draining, then close it.

    ``return StreamingResponse(until_draining(context.app, events()))`` makes a stream end
    cleanly (a complete chunked body) on shutdown instead of being cut.
    """
    stop = draining(app)
    iterator = aiter(source)
    waiter = asyncio.ensure_future(stop.wait())
    try:
        while not stop.is_set():
            step = asyncio.ensure_future(anext(iterator))
            done, _ = await asyncio.wait({step, waiter}, return_when=asyncio.FIRST_COMPLETED)
            if step not in done:
                step.cancel()
                await asyncio.gather(step, return_exceptions=True)
                break
            try:
                yield step.result()
            except StopAsyncIteration:
                break
    finally:
        waiter.cancel()
        aclose = getattr(iterator, "aclose", None)
        if aclose is not None:
            await aclose()


def stream_item_encoder(app: PyFrameApp, content_type: str | None) -> Callable[[Any], bytes]:
    """How the items of a streamed body with this content type become bytes.

    bytes as they are, str as UTF-8, other objects with the stream encoder a plugin registered
    for the media type (``pyframe_add_stream_encoders``), else as one JSON line each.
    Middleware that rewrites a stream (compression) encodes items the same way.
    """
    encoder = app.stream_encoders.get(media_type_of(content_type))

    def encode(item: Any) -> bytes:
        kind = type(item)
        if kind is bytes:
            return item
        if kind is str:
            return item.encode()
        if kind is bytearray or kind is memoryview:
            return bytes(item)
        if encoder is not None:
            return encoder(item)
        return json_encode(item) + b"\n"

    return encode
