"""CompressionMiddleware: encodes response bodies with the best codec the client accepts."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from pyframe.plugin import MiddlewareOrder, Response, add_vary

from .codecs import Codec, make_codec
from .config import DEFAULT_CODECS, CompressionConfig, build_config
from .media import MediaPolicy
from .negotiation import choose_coding
from .stream import CompressedStream

__all__ = ["CompressionMiddleware"]

# No body (204, 304), or a part of the identity body whose range a new encoding would break.
_UNTOUCHED_STATUSES = frozenset({204, 206, 304})


class CompressionMiddleware:
    """Compress response bodies with brotli, zstd or gzip, as the client's Accept-Encoding allows.

    ``CompressionMiddleware(minimum_size=1024, compression_level=6)``; see the README for the
    other settings and for what is left alone. A bad argument raises ValueError.
    """

    order = MiddlewareOrder.COMPRESSION
    returns_response = True  # lets the core skip its normalising wrapper
    plugin_id = "compression"

    def __init__(
        self,
        minimum_size: int = 1024,
        compression_level: int = 6,
        *,
        codecs: Any = DEFAULT_CODECS,
        brotli_quality: int | None = None,
        zstd_level: int | None = None,
        exclude_media_types: Any = (),
        compress_streams: bool = True,
        thread_threshold: int = 64 * 1024,
    ) -> None:
        options: dict[str, Any] = {
            "minimum_size": minimum_size, "compression_level": compression_level,
            "codecs": _seq(codecs), "brotli_quality": brotli_quality, "zstd_level": zstd_level,
            "exclude_media_types": _seq(exclude_media_types),
            "compress_streams": compress_streams, "thread_threshold": thread_threshold,
        }
        self._setup(build_config(options))

    @classmethod
    def from_config(cls, config: CompressionConfig) -> CompressionMiddleware:
        """Build from an already validated config (the plugin's ``[plugins.compression]``)."""
        self = cls.__new__(cls)
        self._setup(config)
        return self

    def _setup(self, config: CompressionConfig) -> None:
        self.config = config
        self.minimum_size = config.minimum_size
        self.codec_names = tuple(config.codecs)
        self.codecs: dict[str, Codec] = {
            name: make_codec(name, config.compression_level, config.brotli_quality,
                             config.zstd_level)
            for name in config.codecs}
        self.media = MediaPolicy(config.exclude_media_types)
        self.compress_streams = config.compress_streams
        self.thread_threshold = config.thread_threshold

    async def __call__(self, context: Any,
                       call_next: Callable[[Any], Awaitable[Response]]) -> Response:
        response = await call_next(context)
        # Cheapest checks first: most responses are small and leave here untouched.
        body = response.body
        kind = type(body)
        if kind is bytes or kind is bytearray or kind is memoryview:
            if len(body) < self.minimum_size:
                return response
        elif kind is str:
            if len(body) < self.minimum_size and body.isascii():
                return response
        elif not (self.compress_streams and response.is_stream):
            return response  # None (a FileResponse, sent with sendfile) or JSON data
        if not self._eligible(context, response):
            return response
        headers = response.headers
        if "Content-Encoding" in headers or "Content-Range" in headers:
            return response
        if "no-transform" in headers.get("Cache-Control", "").lower():
            return response
        if not self.media.allows(headers.get("Content-Type")):
            return response
        # From here the body depends on Accept-Encoding, whatever this request asked for.
        add_vary(headers, "Accept-Encoding")
        accept = context.headers.get("Accept-Encoding")
        if not accept:
            return response
        name = choose_coding(accept, self.codec_names)
        if name is None:
            return response
        codec = self.codecs[name]
        if kind is str:
            body = body.encode()
            if len(body) < self.minimum_size:
                return response
        if kind is str or kind is bytes or kind is bytearray or kind is memoryview:
            data = bytes(body) if kind is not bytes and kind is not str else body
            if len(data) >= self.thread_threshold:
                # Large bodies would stall every other request: compress them off the loop.
                encoded = await context.app.run_sync(codec.compress, data)
            else:
                encoded = codec.compress(data)
            if len(encoded) >= len(data):
                return response  # incompressible after all: the identity body is smaller
            response.body = encoded
        else:
            content_type = response.content_type or headers.get("Content-Type")
            response.body = CompressedStream(body, codec.stream(),
                                             context.app.stream_item_encoder(content_type),
                                             context.app.run_sync, self.thread_threshold)
        headers["Content-Encoding"] = name
        headers.popall("Content-Length", None)  # aiohttp recomputes it from the new body
        etag = headers.get("ETag")
        if etag is not None and not etag.startswith("W/"):
            # The bytes changed, so a strong validator no longer describes them.
            headers["ETag"] = "W/" + etag
        return response

    def _eligible(self, context: Any, response: Response) -> bool:
        if context.method == "HEAD":
            return False
        status = response.status
        if status < 200 or status in _UNTOUCHED_STATUSES:
            return False
        route = context.route
        return route is None or bool(route.options.get("compress", True))


def _seq(values: Any) -> Any:
    # A lone string is a mistake (iterating it gives characters): let validation name it.
    return values if isinstance(values, str) else tuple(values)
