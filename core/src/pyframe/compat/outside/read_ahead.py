"""Reading a WebSocket ahead of outside's handler: a task per connection takes each message as
it arrives, so pings and the client's close are answered while the handler is busy elsewhere
(outside had a reader thread per connection for the same reason)."""

from __future__ import annotations

import asyncio
from typing import Any

__all__ = ["ReadAhead", "READ_AHEAD"]

# Messages read before the handler asks for them. When that many wait, the reader waits too,
# so TCP slows the client down; nothing is dropped.
READ_AHEAD = 16
_ENDED = None  # what the reader queues when the connection is over


class ReadAhead:
    """The bridge's socket (``receive``, ``send_text``, ``send_bytes``, ``close``) over the
    ws plugin's connection, with ``receive()`` served from a bounded queue its reader fills.

    Make it on the loop; :meth:`stop` ends the reader (call it when the handler is done).
    """

    def __init__(self, socket: Any, size: int = READ_AHEAD) -> None:
        self.socket = socket
        self._queue: asyncio.Queue[str | bytes | None] = asyncio.Queue(size)
        self._end: BaseException | None = None
        self._reader = asyncio.get_running_loop().create_task(self._read(),
                                                               name="outside-ws-reader")

    async def _read(self) -> None:
        try:
            while True:
                await self._queue.put(await self.socket.receive())
        except Exception as exc:  # WebSocketDisconnect: the client left or the server closed
            self._end = exc
            await self._queue.put(_ENDED)

    async def receive(self) -> str | bytes:
        """The next message; raises ConnectionError once the connection is over."""
        message = await self._queue.get()
        if message is _ENDED:
            self._queue.put_nowait(_ENDED)  # the slot just freed: every later call ends too
            raise ConnectionError("the WebSocket connection is over") from self._end
        return message

    async def send_text(self, data: str) -> None:
        await self.socket.send_text(data)

    async def send_bytes(self, data: bytes) -> None:
        await self.socket.send_bytes(data)

    async def close(self, code: int = 1000, reason: str = "") -> None:
        await self.socket.close(code, reason)

    async def stop(self) -> None:
        self._reader.cancel()
        await asyncio.gather(self._reader, return_exceptions=True)
