"""The typed forms of ``WebSocket.receive()``: text, bytes, JSON, and ``async for``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .errors import MessageTypeError, WebSocketDisconnect

__all__ = ["TypedReceive"]


class TypedReceive:
    """A mixin over ``receive(timeout)`` and ``_json_decode``."""

    _json_decode: Callable[[str | bytes], Any]

    async def receive(self, timeout: float | None = None) -> str | bytes:
        raise NotImplementedError

    async def receive_text(self, timeout: float | None = None) -> str:
        """A text message; MessageTypeError (the connection stays open) for a binary one."""
        data = await self.receive(timeout)
        if not isinstance(data, str):
            raise MessageTypeError("expected a text message, got a binary one")
        return data

    async def receive_bytes(self, timeout: float | None = None) -> bytes:
        """A binary message; MessageTypeError (the connection stays open) for a text one."""
        data = await self.receive(timeout)
        if not isinstance(data, bytes):
            raise MessageTypeError("expected a binary message, got a text one")
        return data

    async def receive_json(self, timeout: float | None = None) -> Any:
        """A text or binary message holding JSON; msgspec.DecodeError if it does not."""
        return self._json_decode(await self.receive(timeout))

    def __aiter__(self) -> TypedReceive:
        return self

    async def __anext__(self) -> str | bytes:
        """The next message; the iteration ends when the connection does."""
        try:
            return await self.receive()
        except WebSocketDisconnect:
            raise StopAsyncIteration from None
