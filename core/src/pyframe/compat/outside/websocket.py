"""outside's ``WebSocket`` and ``WebSocketConnection``: a synchronous handler, running in a
worker thread, talking to a WebSocket that lives on the event loop (the ws plugin's).

``WebSocketConnection`` blocks its thread on the loop's coroutines, each wait with a deadline;
:func:`run_handler` runs outside's ``on_connection`` handler to its end. sockets.py serves
them on the app.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

from pyframe.plugin import get_logger

from .request import Request

__all__ = ["WebSocket", "WebSocketConnection", "WebSocketClosed", "AsyncWebSocket",
           "run_handler"]

log = get_logger("pyframe", compat="outside")
NORMAL_CLOSURE = 1000
INTERNAL_ERROR = 1011


class AsyncWebSocket(Protocol):
    """What the bridge needs of the loop's WebSocket (the ws plugin's connection has it)."""

    async def receive(self) -> str | bytes: ...
    async def send_bytes(self, data: bytes) -> None: ...
    async def send_text(self, data: str) -> None: ...
    async def close(self, code: int = NORMAL_CLOSURE, reason: str = "") -> None: ...


class WebSocketClosed(ConnectionError):
    """The connection is over (the client left, ``exit()`` was called, or a wait ran past its
    deadline). outside ended the handler's process at this point; a thread cannot be ended
    from outside, so ``recv``/``send`` raise this instead and the handler's loop stops."""


class WebSocket:
    """``ws = WebSocket(); ws.on_connection(handler); server.set_route("/ws", ws)``.

    ``handler(connection)`` runs in a worker thread for every client; ``on_exit`` handlers
    take no argument, as outside called them.
    """

    def __init__(self) -> None:
        self.connection_handler: Callable[[WebSocketConnection], Any] | None = None
        self.exit_handler: Callable[[], Any] | None = None

    def on_connection(self, handler: Callable[[WebSocketConnection], Any]) -> None:
        self.connection_handler = handler

    def on_exit(self, handler: Callable[[], Any]) -> None:
        self.exit_handler = handler


class WebSocketConnection:
    """One client, for a synchronous handler: ``recv() -> bytes``, ``send(data)``, ``exit()``.

    outside's parameters, with pyframe's meaning: ``http_socket`` is the loop's WebSocket
    (:class:`AsyncWebSocket`), ``activity_queue`` anything with ``put(timestamp)`` told of
    each message in or out (or None), ``terminate_function`` called once when the connection
    ends. ``loop`` defaults to the running loop (make the object on the loop); ``timeout`` is
    the longest wait of one ``recv`` or ``send`` (outside's ``process_timeout``; None: none);
    ``clock`` gives the timestamps put on the activity queue.
    """

    def __init__(self, request_class: Request, http_socket: AsyncWebSocket,
                 activity_queue: Any = None, terminate_function: Callable[[], Any] | None = None,
                 *, loop: asyncio.AbstractEventLoop | None = None,
                 timeout: float | None = 60.0,
                 clock: Callable[[], float] = time.time) -> None:
        self.request = request_class
        self.on_exit: Callable[[], Any] | None = None
        self._socket = http_socket
        self._activity_queue = activity_queue
        self._terminate = terminate_function
        self._loop = loop or asyncio.get_running_loop()
        self._timeout = timeout
        self._clock = clock
        self._is_terminated = False
        # exit() may come from the handler's thread and from the close callback's at once.
        self._exit_lock = threading.Lock()

    def recv(self) -> bytes:
        """The next message; text arrives as its UTF-8 bytes."""
        data = self._wait(self._socket.receive(), "recv")
        return data.encode("utf-8") if isinstance(data, str) else bytes(data)

    def send(self, data: bytes | str) -> None:
        """Send ``bytes`` as a binary message, ``str`` as a text message."""
        if isinstance(data, str):
            self._wait(self._socket.send_text(data), "send")
        elif isinstance(data, (bytes, bytearray, memoryview)):
            self._wait(self._socket.send_bytes(bytes(data)), "send")
        else:
            # bytes(5) would be five NUL bytes: refuse what is neither bytes nor str.
            raise TypeError(f"send takes bytes or str, got {type(data).__name__}")

    def exit(self) -> None:
        """End the connection (once): the ``on_exit`` handler, a normal close, then
        ``terminate_function``."""
        self._end(NORMAL_CLOSURE)

    def _end(self, code: int) -> None:
        with self._exit_lock:
            if self._is_terminated:
                return
            self._is_terminated = True
        if self.on_exit is not None:
            try:
                self.on_exit()
            except Exception as exc:
                log.error("outside_on_exit_failed", path=self.request.url, exc_info=exc)
        try:
            self._call(self._socket.close(code), 5.0)
        except Exception:
            pass  # already closed by the client, or the loop is gone: nothing to tell it
        self._activity()
        if self._terminate is not None:
            self._terminate()

    @property
    def closed(self) -> bool:
        return self._is_terminated

    def _wait(self, operation: Any, what: str) -> Any:
        if self._is_terminated:
            operation.close()
            raise WebSocketClosed(f"{what} on a closed connection")
        try:
            result = self._call(operation, self._timeout)
        except concurrent.futures.TimeoutError:
            self.exit()
            raise WebSocketClosed(f"{what} waited longer than {self._timeout:g} s") from None
        except Exception as exc:
            self.exit()
            raise WebSocketClosed(f"the connection ended during {what}") from exc
        self._activity()
        return result

    def _call(self, operation: Any, timeout: float | None) -> Any:
        if _running_loop() is self._loop:
            operation.close()
            raise RuntimeError("a WebSocketConnection blocks: use it from a worker thread")
        try:
            future = asyncio.run_coroutine_threadsafe(operation, self._loop)
        except RuntimeError:  # the loop is closed: the server has stopped
            operation.close()
            raise
        try:
            return future.result(timeout)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise

    def _activity(self) -> None:
        if self._activity_queue is not None:
            self._activity_queue.put(self._clock())


def run_handler(handler: Callable[[WebSocketConnection], Any],
                connection: WebSocketConnection) -> None:
    """Run outside's ``on_connection`` handler (in a worker thread) and end the connection
    after it: close 1000 when it returned or the connection ended under it, 1011 (logged)
    when it raised."""
    code = NORMAL_CLOSURE
    try:
        handler(connection)
    except WebSocketClosed:
        pass  # the client left (or a wait ran out): the end of the usual `while True:` loop
    except Exception as exc:
        code = INTERNAL_ERROR
        log.error("outside_websocket_handler_failed", path=connection.request.url,
                  handler=getattr(handler, "__qualname__", None) or type(handler).__name__,
                  exc_info=exc)
    finally:
        connection._end(code)


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None
