"""The send timeout: a connection whose client stops taking the response's bytes is cut.

The transport pauses its protocol once the bytes it holds for the client pass the high-water
mark (aiohttp's writers then wait for it to drain, and so does the direct writer). While it
is paused the client must take some of them every ``send_timeout`` seconds; a client that
takes nothing for that long has its connection aborted, which frees what was buffered for it
and ends the handler writing to it. A slow client that keeps reading is never cut.
"""

from __future__ import annotations

from typing import Any

from ..logging import get_logger

__all__ = ["SendDeadline"]

log = get_logger("pyframe")


class SendDeadline:
    """Mixed into the connection, ahead of aiohttp's RequestHandler, whose ``pause_writing``
    and ``resume_writing`` it extends. The connection declares the slots: ``send_timeout``
    (None: no timeout), ``_send_timer`` and ``_send_left``."""

    __slots__ = ()
    send_timeout: float | None
    _send_timer: Any
    _send_left: int
    _paused: bool
    _loop: Any
    transport: Any

    def pause_writing(self) -> None:
        super().pause_writing()  # type: ignore[misc]
        transport = self.transport
        if self.send_timeout is not None and self._send_timer is None and transport is not None:
            self._send_left = transport.get_write_buffer_size()
            self._send_timer = self._loop.call_later(self.send_timeout, self._send_stalled)

    def resume_writing(self) -> None:
        super().resume_writing()  # type: ignore[misc]
        self.cancel_send_timer()

    def cancel_send_timer(self) -> None:
        if self._send_timer is not None:
            self._send_timer.cancel()
            self._send_timer = None

    def _send_stalled(self) -> None:
        self._send_timer = None
        transport = self.transport
        if transport is None or not self._paused:
            return
        left = transport.get_write_buffer_size()
        if left < self._send_left:  # slow, not stopped: it has another send_timeout
            self._send_left = left
            self._send_timer = self._loop.call_later(self.send_timeout, self._send_stalled)
            return
        peer = transport.get_extra_info("peername")
        log.info("send_timeout", remote=f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple)
                 else None, timeout_s=self.send_timeout, unsent_bytes=left)
        transport.abort()
