"""The middleware that makes a handler's ``text/event-stream`` response an event stream: the
headers proxies need, the request's Last-Event-ID, keep-alives, drain and disconnects."""

from __future__ import annotations

from pyframe.plugin import CallNext, MiddlewareOrder, RequestContext, Response, media_type_of

from .hub import hub_of
from .last_event_id import last_event_id_from_headers
from .stream import EVENT_STREAM, EventStream

__all__ = ["EVENT_STREAM", "SSE_ORDER", "SSEMiddleware"]

# Inside compression, which then compresses (and flushes) each event the stream writes, and
# outside the app's own middleware, which sees the handler's response as it returned it.
SSE_ORDER = MiddlewareOrder.COMPRESSION + 50


class SSEMiddleware:
    """Wraps every streamed ``text/event-stream`` body in an :class:`EventStream`.

    Headers: the handler's are kept; ``Cache-Control`` gets ``no-store`` (added to the
    handler's directives if it set some), ``X-Accel-Buffering: no`` unless the handler set it
    (nginx would otherwise hold events back), and no ``Content-Length``.
    """

    order = SSE_ORDER
    returns_response = True
    plugin_id = "sse"

    async def __call__(self, context: RequestContext, call_next: CallNext) -> Response:
        response = await call_next(context)
        body = response.body
        kind = type(body)
        # Cheapest checks first: almost every response leaves here.
        if kind is bytes or kind is str or body is None or not response.is_stream:
            return response
        headers = response.headers
        if media_type_of(headers.get("Content-Type")) != EVENT_STREAM:
            return response
        cache = headers.get("Cache-Control")
        if cache is None:
            headers["Cache-Control"] = "no-store"
        elif "no-store" not in cache.lower():
            headers["Cache-Control"] = f"{cache}, no-store"
        headers.setdefault("X-Accel-Buffering", "no")
        headers.popall("Content-Length", None)
        # Malformed or oversized: None. The subscription also refuses ids the log never issued.
        last_event_id = last_event_id_from_headers(context.headers.getall("Last-Event-ID", ()))
        response.body = EventStream(body, hub_of(context.app), last_event_id)
        return response
