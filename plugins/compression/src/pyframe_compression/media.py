"""Which media types are worth compressing: everything but formats that are compressed already."""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["MediaPolicy", "INCOMPRESSIBLE_TYPES", "INCOMPRESSIBLE_PREFIXES"]

# Formats whose bytes are compressed already: another pass costs CPU and saves nothing.
INCOMPRESSIBLE_PREFIXES = ("image/", "audio/", "video/", "font/woff",
                           "application/vnd.openxmlformats-officedocument.",
                           "application/vnd.oasis.opendocument.")
INCOMPRESSIBLE_TYPES = frozenset({
    "application/zip", "application/gzip", "application/x-gzip", "application/x-bzip2",
    "application/x-xz", "application/x-7z-compressed", "application/x-rar-compressed",
    "application/vnd.rar", "application/zstd", "application/x-zstd", "application/x-brotli",
    "application/x-compress", "application/x-lzip", "application/java-archive",
    "application/font-woff", "application/font-woff2", "application/x-font-woff",
})
# Images that are text or raw pixels, and so do compress.
COMPRESSIBLE_IMAGES = frozenset({"image/svg+xml", "image/bmp", "image/x-icon",
                                 "image/vnd.microsoft.icon"})
_CACHE_LIMIT = 512


class MediaPolicy:
    """``policy.allows(content_type)``: compress a body of this Content-Type?"""

    def __init__(self, exclude: Iterable[str] = ()) -> None:
        exclude = [m.lower() for m in exclude]
        # The app's own exclusions come first, so they can rule out an SVG too.
        self._excluded = frozenset(m for m in exclude if not m.endswith("/*"))
        self._excluded_prefixes = tuple(m[:-1] for m in exclude if m.endswith("/*"))
        self._cache: dict[str, bool] = {}

    def allows(self, content_type: str | None) -> bool:
        if not content_type:
            return True  # unlabelled bytes: the size check and the ratio check decide
        answer = self._cache.get(content_type)
        if answer is None:
            answer = self._decide(content_type)
            if len(self._cache) >= _CACHE_LIMIT:
                self._cache.clear()
            self._cache[content_type] = answer
        return answer

    def _decide(self, content_type: str) -> bool:
        media = content_type.split(";", 1)[0].strip().lower()
        if media in self._excluded or media.startswith(self._excluded_prefixes):
            return False
        if media in COMPRESSIBLE_IMAGES:
            return True
        if media in INCOMPRESSIBLE_TYPES or media.endswith("+zip"):
            return False
        return not media.startswith(INCOMPRESSIBLE_PREFIXES)
