"""Serving one WebSocket route: the checks before the handshake, the handshake, the handler,
and the close after it. What the core calls through ``pyframe_make_websocket_handler``.

Refusals are HTTP answers, before any WebSocket exists: 403 for an Origin that is not allowed,
429 over a connection cap, 503 while the server drains.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from pyframe.plugin import (
    Forbidden,
    HTTPError,
    RequestContext,
    Route,
    ServiceUnavailable,
    TooManyRequests,
    UpgradedResponse,
    accept_websocket,
    get_logger,
)

from .caps import CapExceeded
from .connection import WebSocket
from .errors import WebSocketDisconnect
from .registry import runtime_of
from .users import user_id_of

__all__ = ["serve_websocket", "sync_handlers"]

log = get_logger("pyframe", plugin="ws")


async def serve_websocket(context: RequestContext, route: Route) -> UpgradedResponse:
    """Upgrade ``context``'s request and run ``route``'s handler with the connection."""
    runtime = runtime_of(context.app)
    if runtime is None:
        raise ServiceUnavailable(detail="the ws plugin has not started")
    if runtime.draining.is_set():
        runtime.refused["draining"] += 1
        raise ServiceUnavailable(detail="the server is shutting down",
                                 headers={"Retry-After": "1"})
    origin = context.headers.get("Origin")
    if not runtime.origins.allows(origin, context.host):
        runtime.refused["origin"] += 1
        log.info("ws_origin_refused", origin=origin[:200] if origin else origin,
                 path=context.path, remote=context.remote_addr)
        raise Forbidden(detail="WebSocket connections from this origin are not allowed")
    try:
        slot = runtime.caps.acquire(context.remote_addr, user_id_of(context.user))
    except CapExceeded as exc:
        runtime.refused[f"{exc.kind}_cap"] += 1
        log.info("ws_cap_refused", cap=exc.kind, limit=exc.limit, remote=context.remote_addr)
        raise TooManyRequests(detail=str(exc), headers={"Retry-After": "5"}) from None
    try:
        accepted = await accept_websocket(context, **runtime.accept_options)
        if not accepted.strict and not runtime.warned_not_strict:
            runtime.warned_not_strict = True
            log.warning("ws_reader_not_strict",
                        detail="not served by a pyframe server: unmasked client frames are "
                               "accepted")
        ws = WebSocket(accepted.response, transport=accepted.transport,
                       options=runtime.options, counters=runtime.counters, context=context)
        runtime.track(ws)
        await _run(ws, route)
        return UpgradedResponse(ws.response)
    finally:
        slot.release()


async def _run(ws: WebSocket, route: Route) -> None:
    code = 1000
    try:
        await route.handler(ws)
    except WebSocketDisconnect:
        pass  # the client went away: the ordinary end of a handler that did not catch it
    except asyncio.CancelledError:
        code = 1001  # the server is stopping and its grace period ran out
        raise
    except HTTPError as exc:
        # After the handshake there is no HTTP answer to give: a refusal becomes a close.
        code = 1008
        log.info("ws_handler_refused", path=ws.context.path, status=exc.status)
    except Exception as exc:
        code = 1011
        log.error("ws_handler_failed", path=ws.context.path, exc_info=exc)
    finally:
        await ws.finish(code)


def sync_handlers(routes: Iterable[Route]) -> list[Route]:
    """WebSocket routes whose handler is not ``async def`` (a connection lives on the loop)."""
    return [route for route in routes if route.kind == "websocket" and not route.is_async]
