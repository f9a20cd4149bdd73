"""One WebSocket connection: what a handler receives and sends, over aiohttp's WebSocketResponse.

Every connection owns a sender task and a bounded queue. Others only enqueue; the sender is the
one place that waits on the client, and every such wait has a deadline.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import msgspec
from aiohttp import WebSocketError, WSMsgType, web

from pyframe.plugin import get_logger

from .closing import Ending, check_close, error_reason, valid_received_code
from .counters import WebSocketCounters
from .errors import WebSocketDisconnect
from .options import ConnectionOptions, response_options
from .outgoing import Outgoing, encode_bytes, encode_json, encode_text
from .receiving import TypedReceive
from .request_info import RequestInfo
from .send_queue import SendQueue
from .transport import buffered, cut, writable

__all__ = ["WebSocket"]

_log = get_logger("pyframe", plugin="ws")

_TEXT, _BINARY = WSMsgType.TEXT, WSMsgType.BINARY
# Reasons that are the ordinary end of a connection; the others are logged at info.
_ORDINARY = frozenset({"client", "server", "shutdown"})
# Bytes the socket may already hold for the client when a frame is written directly; past it,
# frames wait in the queue for the sender, which waits for the client.
_DIRECT_LIMIT = 64 * 1024


class WebSocket(TypedReceive, RequestInfo):
    """A server-side WebSocket for handlers: ``receive_*``, ``send_*``, ``close``, ``async for``,
    and the handshake request's ``params``, ``query_params``, ``headers``, ``cookies``, ``user``.

    ``send_*`` from the handler waits (up to ``send_timeout``) for room in the queue; the
    manager's :meth:`send_encoded` never waits. When the client goes away, ``receive_*`` and
    ``send_*`` raise :class:`WebSocketDisconnect`; ``async for`` just ends.
    """

    def __init__(self, response: web.WebSocketResponse, *,
                 transport: asyncio.BaseTransport | None = None,
                 options: ConnectionOptions | None = None,
                 counters: WebSocketCounters | None = None,
                 clock: Callable[[], float] = time.monotonic,
                 json_decode: Callable[[str | bytes], Any] = msgspec.json.decode,
                 context: Any = None) -> None:
        """Wrap a prepared response made with :func:`response_options` (autoclose off).

        ``transport`` lets a peer that never takes its data be cut off instead of waited on;
        ``context`` is the handshake's RequestContext (see :class:`RequestInfo`).
        """
        if not response.prepared:
            raise RuntimeError("the WebSocketResponse must be prepared first")
        self.response = response
        self.transport = transport
        self.context = context
        self._on_closed: list[Callable[[WebSocket], None]] = []
        # Frames can go straight to the socket unless permessage-deflate was agreed (its
        # compressor keeps state across messages: aiohttp's writer must make every frame).
        self._direct = transport if writable(transport) and not response.compress else None
        self.options = options = options or ConnectionOptions()
        self.counters = counters if counters is not None else WebSocketCounters()
        self._clock = clock
        self._json_decode = json_decode
        self.connected_at = clock()
        self.closed_at: float | None = None
        self.messages_in = 0
        self.messages_out = 0
        self._queue: SendQueue[Outgoing] = SendQueue(options.send_queue_messages,
                                                     options.send_queue_bytes)
        self._ending: Ending | None = None
        self._deadline: asyncio.Timeout | None = None
        self._handshaking = False
        self._down = False  # the sender has settled everything: the connection is over
        self.counters.opened += 1
        # Started on the first message that must wait, or when the connection ends: an idle
        # connection (or one whose client keeps up) has no task of its own.
        self._sender: asyncio.Task[None] | None = None

    @classmethod
    async def accept(cls, request: web.BaseRequest, options: ConnectionOptions | None = None,
                     *, protocols: tuple[str, ...] = (), **kwargs: Any) -> WebSocket:
        """Complete the handshake on ``request`` and start the connection."""
        options = options or ConnectionOptions()
        response = web.WebSocketResponse(protocols=protocols, **response_options(options))
        await response.prepare(request)
        return cls(response, transport=request.transport, options=options, **kwargs)

    # -- state -------------------------------------------------------------------------------

    @property
    def closed(self) -> bool:
        """True once the connection is ending: nothing more is received or sent."""
        return self._ending is not None

    @property
    def close_code(self) -> int | None:
        return self._ending.code if self._ending else None

    @property
    def close_reason(self) -> str | None:
        return self._ending.reason if self._ending else None

    @property
    def queued(self) -> int:
        return len(self._queue)

    def add_close_callback(self, callback: Callable[[WebSocket], None]) -> None:
        """Call ``callback(self)`` once the connection is down (at once if it is already)."""
        if self._down:
            callback(self)
        else:
            self._on_closed.append(callback)

    # -- receiving ---------------------------------------------------------------------------

    async def receive(self, timeout: float | None = None) -> str | bytes:
        """The next message, str or bytes. ``timeout`` bounds the wait (asyncio.TimeoutError,
        the connection stays open); without it the wait lasts while heartbeats find the peer
        alive."""
        if self._ending is not None:
            raise self._disconnect()
        msg = await self.response.receive(timeout)
        kind = msg.type
        if kind is _TEXT or kind is _BINARY:
            self.messages_in += 1
            self.counters.messages_in += 1
            return msg.data  # type: ignore[no-any-return]
        raise self._on_control(msg.type, msg.data, msg.extra)

    def _on_control(self, kind: WSMsgType, data: Any, extra: str | None) -> WebSocketDisconnect:
        ws = self.response
        if kind is WSMsgType.CLOSE:
            code = int(data)
            if valid_received_code(code):
                # RFC 6455 §5.5.1: answer, echoing the code; 1005 tells the handler "no code".
                reply = 1000 if code in (0, 1010) else code
                self._end(code or 1005, "client", extra or "", reply=reply)
            else:
                self._end(1002, "protocol_error", f"invalid close code {code}")
        elif kind is WSMsgType.ERROR:
            # aiohttp already ended the connection: with the error's code when it is a
            # protocol error, without a close frame when a heartbeat went unanswered.
            code = data.code if isinstance(data, WebSocketError) else 1006
            self._end(int(code), error_reason(data), str(data), handshake=False)
        elif kind is WSMsgType.CLOSING and self._ending is not None:
            pass  # our own close is under way: the sender is in the closing handshake
        elif kind is WSMsgType.CLOSED or ws.closed:
            self._end(1006, error_reason(ws.exception()), handshake=False)
        elif self._ending is None:  # CLOSING without our close: aiohttp is closing it
            self._end(1000, "server", handshake=False)
        return self._disconnect()

    # -- sending -----------------------------------------------------------------------------

    async def send_text(self, data: str) -> None:
        await self._send(encode_text(data))

    async def send_bytes(self, data: bytes | bytearray | memoryview) -> None:
        await self._send(encode_bytes(data))

    async def send_json(self, data: Any) -> None:
        await self._send(encode_json(data))

    async def _send(self, item: Outgoing) -> None:
        # The handler's own sends wait for room, so a loop of sends cannot overrun a client
        # that keeps up; waiting costs this connection only.
        if self._notice_closed():
            self.counters.dropped += 1
            raise self._disconnect()
        if self._write_now(item):
            return
        queue = self._queue
        if queue.offer(item):
            self._wake_sender()
            return
        if await queue.wait_for_room(item, self.options.send_timeout) and queue.offer(item):
            self._wake_sender()
            return
        self.counters.dropped += 1
        if self._ending is None:
            self._end(1008, "slow_consumer", "slow consumer")
        raise self._disconnect()

    def send_encoded(self, item: Outgoing) -> bool:
        """Queue an encoded message without waiting (the manager's path). False when it was
        dropped: the connection was closed, or its queue was full, which closes it (1008)."""
        if self._notice_closed():
            self.counters.dropped += 1
            return False
        if self._write_now(item):
            return True
        if self._queue.offer(item):
            self._wake_sender()
            return True
        self.counters.dropped += 1
        self._end(1008, "slow_consumer", "slow consumer")
        return False

    def _write_now(self, item: Outgoing) -> bool:
        """Write ``item``'s frame to the socket at once when nothing is queued or being sent
        and the socket is taking data: no task switch, no timer. Otherwise the sender's."""
        transport = self._direct
        if transport is None or self._queue or self._deadline is not None \
                or transport.is_closing() or transport.get_write_buffer_size() > _DIRECT_LIMIT:
            return False
        transport.write(item.frame)
        self.messages_out += 1
        self.counters.messages_out += 1
        return True

    def _notice_closed(self) -> bool:
        if self._ending is not None:
            return True
        ws = self.response
        if ws.closed:  # aiohttp closed it (heartbeat) while nobody was receiving
            self._end(1006, error_reason(ws.exception()), handshake=False)
            return True
        return False

    # -- closing -----------------------------------------------------------------------------

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Send what is queued, then close with ``code``; returns when the connection is down."""
        check_close(code, reason)
        if self._ending is None:
            self._end(code, "internal_error" if code == 1011 else "server", reason,
                      reply=code, graceful=True)
        await self.wait_closed()

    async def shutdown(self) -> None:
        """The server is draining: flush the queue, then close with 1001."""
        if self._ending is None:
            self._end(1001, "shutdown", "server shutting down", reply=1001, graceful=True)
        await self.wait_closed()

    async def finish(self, code: int = 1000, reason: str = "") -> web.WebSocketResponse:
        """After the handler returned (1011 if it raised): close if still open, wait for the
        sender, and give back the response for aiohttp."""
        await self.close(code, reason)
        return self.response

    async def wait_closed(self) -> None:
        """Wait until the closing handshake is over and the sender has stopped.

        Bounded: a graceful close that has not finished within send_timeout + close_timeout
        turns into a hard one, and the transport is aborted if even that does not end.
        """
        if self._down:
            return
        sender = self._wake_sender()  # the connection is over once its sender is done
        options = self.options
        await asyncio.wait({sender}, timeout=options.send_timeout + options.close_timeout)
        if sender.done():
            return
        self._end(1008, "send_timeout", "send timeout")
        await asyncio.wait({sender}, timeout=options.close_timeout)
        if sender.done():
            return
        cut(self.transport)
        sender.cancel()
        await asyncio.wait({sender}, timeout=options.close_timeout)

    def _disconnect(self) -> WebSocketDisconnect:
        # A new exception each time: raising one instance again and again grows its traceback.
        ending = self._ending
        assert ending is not None
        return WebSocketDisconnect(ending.code, ending.reason, ending.detail)

    def _end(self, code: int, reason: str, detail: str = "", *, reply: int | None = None,
             handshake: bool = True, graceful: bool = False) -> None:
        """Decide how the connection ends: with a close frame carrying ``reply`` (default
        ``code``) unless ``handshake`` is off, after the queued messages if ``graceful``. The
        first decision wins, except that a failure cuts short a graceful close."""
        current = self._ending
        if current is not None and (self._handshaking or graceful or not current.graceful):
            return
        self._ending = Ending(code, reason, detail,
                              (reply or code) if handshake else None, graceful)
        queue = self._queue
        if not graceful:
            self.counters.dropped += queue.clear()
            deadline = self._deadline
            if deadline is not None and not deadline.expired():
                # The sender is blocked on this client: make its wait end now.
                deadline.reschedule(asyncio.get_running_loop().time())
        queue.close()
        self._wake_sender()  # it sends what is queued, then the close frame

    def _wake_sender(self) -> asyncio.Task[None]:
        sender = self._sender
        if sender is None:
            sender = self._sender = asyncio.get_running_loop().create_task(
                self._run_sender(), name="pyframe-ws-sender")
        return sender

    # -- the sender task ---------------------------------------------------------------------

    async def _run_sender(self) -> None:
        # Supervised, but not restarted: a sender that fails ends its own connection (1011),
        # which is logged and counted; the other connections are untouched.
        try:
            try:
                await self._pump()
            except Exception as exc:
                _log.exception("ws_sender_failed", error=type(exc).__name__)
                self._end(1011, "internal_error", "internal error")
            try:
                await self._handshake()
            except Exception as exc:
                _log.exception("ws_close_failed", error=type(exc).__name__)
        finally:
            self._settle()

    async def _pump(self) -> None:
        queue, ws = self._queue, self.response
        send_timeout = self.options.send_timeout
        loop = asyncio.get_running_loop()
        counters = self.counters
        while True:
            item = await queue.get()
            if item is None:
                return
            try:
                async with asyncio.timeout(send_timeout) as deadline:
                    self._deadline = deadline
                    while item is not None:
                        await ws.send_frame(item.payload, item.opcode)
                        self.messages_out += 1
                        counters.messages_out += 1
                        item = queue.get_nowait()
                        if item is not None:
                            deadline.reschedule(loop.time() + send_timeout)
            except TimeoutError:
                # Either _end cut the wait short (it decided already) or the client stopped
                # taking data for send_timeout.
                self._end(1008, "send_timeout", "send timeout")
                return
            except ConnectionError:
                self._end(1006, error_reason(ws.exception()), handshake=False)
                return
            finally:
                self._deadline = None

    async def _handshake(self) -> None:
        self._handshaking = True
        ending, ws = self._ending, self.response
        if ending is None or ending.reply is None or ws.closed:
            return
        if not ending.graceful and buffered(self.transport):
            # A failure while our bytes wait in the buffer: a close frame would queue behind
            # data the peer is not reading. _settle cuts the connection instead.
            return
        try:
            async with asyncio.timeout(self.options.close_timeout):
                await ws.close(code=ending.reply, message=ending.detail.encode("utf-8"))
        except (TimeoutError, ConnectionError):
            pass  # the peer did not take part; _settle cuts the connection

    def _settle(self) -> None:
        if self._down:
            return
        if self._ending is None:  # the sender was cancelled from outside (loop teardown)
            self._end(1001, "shutdown", handshake=False)
        cut(self.transport)
        ending = self._ending
        assert ending is not None
        self.closed_at = self._clock()
        self.counters.closes[ending.reason] += 1
        log = _log.debug if ending.reason in _ORDINARY else _log.info
        log("ws_closed", reason=ending.reason, code=ending.code, detail=ending.detail,
            messages_in=self.messages_in, messages_out=self.messages_out,
            duration_s=round(self.closed_at - self.connected_at, 3))
        self._down = True
        callbacks, self._on_closed = self._on_closed, []
        for callback in callbacks:
            try:
                callback(self)
            except Exception:
                _log.exception("ws_close_callback_failed")
