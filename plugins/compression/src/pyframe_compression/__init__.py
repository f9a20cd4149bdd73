"""Response compression for pyframe: gzip, brotli and zstd."""

from .config import CompressionConfig
from .middleware import CompressionMiddleware
from .negotiation import choose_coding, parse_accept_encoding
from .plugin import CompressionPlugin

__all__ = ["CompressionMiddleware", "CompressionConfig", "CompressionPlugin", "choose_coding",
           "parse_accept_encoding"]
