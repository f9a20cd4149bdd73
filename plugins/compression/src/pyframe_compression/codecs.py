"""The codecs: one-shot compression of a whole body, and flushing compressors for streams."""

from __future__ import annotations

import threading
import zlib
from typing import Protocol

import brotli
import zstandard

__all__ = ["Codec", "StreamCompressor", "GzipCodec", "BrotliCodec", "ZstdCodec", "make_codec"]


class StreamCompressor(Protocol):
    def chunk(self, data: bytes) -> bytes:
        """Compress ``data`` and flush, so the client can decode everything sent so far."""

    def finish(self) -> bytes:
        """End the compressed stream."""


class Codec(Protocol):
    name: str

    def compress(self, data: bytes) -> bytes: ...

    def stream(self) -> StreamCompressor: ...


class _ZlibStream:
    __slots__ = ("_c",)

    def __init__(self, level: int) -> None:
        self._c = zlib.compressobj(level, zlib.DEFLATED, 31)  # 31: gzip container

    def chunk(self, data: bytes) -> bytes:
        return self._c.compress(data) + self._c.flush(zlib.Z_SYNC_FLUSH)

    def finish(self) -> bytes:
        return self._c.flush(zlib.Z_FINISH)


class GzipCodec:
    name = "gzip"

    def __init__(self, level: int) -> None:
        self.level = level

    def compress(self, data: bytes) -> bytes:
        return zlib.compress(data, self.level, wbits=31)

    def stream(self) -> _ZlibStream:
        return _ZlibStream(self.level)


class _BrotliStream:
    __slots__ = ("_c",)

    def __init__(self, quality: int) -> None:
        self._c = brotli.Compressor(quality=quality)

    def chunk(self, data: bytes) -> bytes:
        return self._c.process(data) + self._c.flush()

    def finish(self) -> bytes:
        return self._c.finish()


class BrotliCodec:
    name = "br"

    def __init__(self, quality: int) -> None:
        self.quality = quality

    def compress(self, data: bytes) -> bytes:
        return brotli.compress(data, quality=self.quality)

    def stream(self) -> _BrotliStream:
        return _BrotliStream(self.quality)


class _ZstdStream:
    __slots__ = ("_c",)

    def __init__(self, compressor: zstandard.ZstdCompressor) -> None:
        self._c = compressor.compressobj()

    def chunk(self, data: bytes) -> bytes:
        return self._c.compress(data) + self._c.flush(zstandard.COMPRESSOBJ_FLUSH_BLOCK)

    def finish(self) -> bytes:
        return self._c.flush(zstandard.COMPRESSOBJ_FLUSH_FINISH)


class ZstdCodec:
    name = "zstd"

    def __init__(self, level: int) -> None:
        self.level = level
        # A ZstdCompressor must not be used by two threads at once; bodies are compressed on
        # the loop and in the thread pool, so each thread keeps its own.
        self._local = threading.local()

    def _compressor(self) -> zstandard.ZstdCompressor:
        compressor = getattr(self._local, "compressor", None)
        if compressor is None:
            compressor = self._local.compressor = zstandard.ZstdCompressor(level=self.level)
        return compressor

    def compress(self, data: bytes) -> bytes:
        return self._compressor().compress(data)

    def stream(self) -> _ZstdStream:
        # A fresh compressor: a stream's chunks may be compressed on different threads.
        return _ZstdStream(zstandard.ZstdCompressor(level=self.level))


def make_codec(name: str, level: int, brotli_quality: int | None,
               zstd_level: int | None) -> Codec:
    if name == "gzip":
        return GzipCodec(level)
    if name == "br":
        return BrotliCodec(level if brotli_quality is None else brotli_quality)
    if name == "zstd":
        return ZstdCodec(level if zstd_level is None else zstd_level)
    raise ValueError(f"unknown codec {name!r}; pyframe offers br, zstd and gzip")
