"""The compression plugin's settings: ``[plugins.compression]`` and the middleware's arguments."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta
from pyframe.plugin import PluginConfig

__all__ = ["CompressionConfig", "Codec", "build_config", "DEFAULT_CODECS"]

Codec = Literal["br", "zstd", "gzip"]
DEFAULT_CODECS: tuple[Codec, ...] = ("br", "zstd", "gzip")
_MEDIA_RANGE = re.compile(r"^[a-z0-9!#$&^_.+\-]+/(\*|[a-z0-9!#$&^_.+\-]+)$")


class CompressionConfig(PluginConfig):
    """Which responses to compress, with which codecs, how hard."""

    minimum_size: Annotated[int, Meta(ge=0)] = 1024
    # One level for every codec (gzip's 1-9 scale); brotli and zstd read the same number
    # unless given their own.
    compression_level: Annotated[int, Meta(ge=1, le=9)] = 6
    codecs: tuple[Codec, ...] = DEFAULT_CODECS
    brotli_quality: Annotated[int, Meta(ge=0, le=11)] | None = None
    # Past 19 zstd's window outgrows the 8 MiB that HTTP clients must decode (RFC 9659).
    zstd_level: Annotated[int, Meta(ge=1, le=19)] | None = None
    exclude_media_types: tuple[str, ...] = ()
    compress_streams: bool = True
    # Bodies (and stream chunks) at least this big are compressed in the app's thread pool.
    thread_threshold: Annotated[int, Meta(ge=0)] = 64 * 1024

    def __post_init__(self) -> None:
        # A ValueError here becomes a validation error naming the file and section.
        if not self.codecs:
            raise ValueError("codecs: list at least one of 'br', 'zstd', 'gzip' (to turn "
                             "compression off, disable the plugin)")
        if len(set(self.codecs)) != len(self.codecs):
            raise ValueError(f"codecs: each codec once, got {list(self.codecs)}")
        for media_range in self.exclude_media_types:
            if not _MEDIA_RANGE.match(media_range):
                raise ValueError(f"exclude_media_types: {media_range!r} is not a media type "
                                 f"like 'text/csv' or 'application/*' (lower case)")


def build_config(options: dict[str, Any]) -> CompressionConfig:
    """Validate keyword arguments given to ``CompressionMiddleware`` like the config file."""
    try:
        return msgspec.convert(options, CompressionConfig, strict=True)
    except msgspec.ValidationError as exc:
        raise ValueError(f"CompressionMiddleware: {exc}") from None
