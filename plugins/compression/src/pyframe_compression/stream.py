"""Compressing a streamed body item by item, flushing after each so nothing waits in a buffer."""

from __future__ import annotations

from collections.abc import AsyncIterable, Callable
from typing import Any

from .codecs import StreamCompressor

__all__ = ["CompressedStream"]


class CompressedStream:
    """An async iterator of compressed chunks over the handler's async iterator.

    Each item is compressed and flushed on its own, so an SSE event reaches the client when
    it is sent. Items of ``offload_size`` bytes or more are compressed in the app's thread
    pool. ``aclose()`` closes the handler's iterator, started or not.
    """

    __slots__ = ("_source", "_iterator", "_compressor", "_encode", "_run_sync", "_offload_size",
                 "_done")

    def __init__(self, source: AsyncIterable[Any], compressor: StreamCompressor,
                 encode: Callable[[Any], bytes], run_sync: Callable[..., Any],
                 offload_size: int) -> None:
        self._source = source
        self._iterator = source.__aiter__()
        self._compressor = compressor
        self._encode = encode
        self._run_sync = run_sync
        self._offload_size = offload_size
        self._done = False

    def __aiter__(self) -> CompressedStream:
        return self

    async def __anext__(self) -> bytes:
        while not self._done:
            try:
                item = await self._iterator.__anext__()
            except StopAsyncIteration:
                self._done = True
                tail = self._compressor.finish()
                if tail:
                    return tail
                break
            data = self._encode(item)
            if not data:
                continue  # an empty item would only produce an empty flush block
            if len(data) >= self._offload_size:
                out = await self._run_sync(self._compressor.chunk, data)
            else:
                out = self._compressor.chunk(data)
            if out:
                return out
        raise StopAsyncIteration

    async def aclose(self) -> None:
        self._done = True
        for obj in (self._iterator, self._source):
            aclose = getattr(obj, "aclose", None)
            if aclose is not None:
                await aclose()
                return
