"""``exclude_paths``: which request paths skip authentication, decided on the normalised path.

An entry is a prefix (``/public`` covers ``/public`` and ``/public/x``, not ``/publicity``; ``/``
alone is the root page only, never the whole site) or a route pattern (``/users/<int:id>``,
``/static/<path:p>``) matched whole. A path is excluded only when both its literal segments
(what the router sees) and its normalised form (percent-decoded, dot segments resolved,
duplicate slashes merged) match, so no spelling of a protected path, such as
``/public/../admin`` or ``/public/%2e%2e/admin``, slips through.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterable
from urllib.parse import unquote

__all__ = ["PathMatcher", "normalize_path"]

# Percent-decoding is repeated so a doubly encoded "%252e%252e" is seen as ".." too, in case
# something in front of the app decodes twice; a few rounds cover any real stack.
_DECODE_ROUNDS = 3
_PARAM = re.compile(r"<(?:(?P<conv>[a-z]+):)?(?P<name>[A-Za-z_][A-Za-z0-9_]*)>")
_FLOAT = re.compile(r"[0-9]+(?:\.[0-9]+)?")


def _decode(text: str) -> tuple[str, bool]:
    """Percent-decoded until stable; False when still changing after the last round."""
    for _ in range(_DECODE_ROUNDS):
        decoded = unquote(text, errors="replace")
        if decoded == text:
            return text, True
        text = decoded
    return text, unquote(text, errors="replace") == text


def _normal_segments(raw_path: str) -> tuple[list[str], bool]:
    # Backslashes and NULs count as separators: some proxies and file systems read them so.
    decoded, stable = _decode(raw_path.split("?", 1)[0])
    out: list[str] = []
    for seg in decoded.replace("\\", "/").replace("\x00", "/").split("/"):
        if seg in ("", "."):
            continue
        if seg == "..":
            if out:
                out.pop()
            continue
        out.append(seg)
    return out, stable


def normalize_path(raw_path: str) -> str:
    """The path as a filesystem-minded reader would take it: percent-decoded (repeatedly, a few
    rounds), ``.`` and ``..`` resolved (never above the root), ``//`` merged, ``\\`` read as
    ``/``. Always starts with ``/``; a trailing slash is kept."""
    segments, _ = _normal_segments(raw_path)
    text = "/" + "/".join(segments)
    decoded, _ = _decode(raw_path.split("?", 1)[0])
    if segments and decoded[-1:] in ("/", "\\", "\x00"):
        text += "/"
    return text


def _literal_segments(raw_path: str) -> list[str]:
    # What pyframe's router matches: split on "/", then each segment decoded once.
    raw = raw_path.split("?", 1)[0]
    return [unquote(s) for s in (raw[1:] if raw.startswith("/") else raw).split("/")]


def _is_int(seg: str) -> bool:
    return seg.isascii() and seg.isdigit()


def _is_uuid(seg: str) -> bool:
    if len(seg) not in (32, 36):
        return False
    try:
        uuid.UUID(seg)
    except ValueError:
        return False
    return True


_CONVERTERS: dict[str, Callable[[str], bool]] = {
    "int": _is_int,
    "float": lambda seg: _FLOAT.fullmatch(seg) is not None,
    "uuid": _is_uuid,
    "str": bool,
    "string": bool,
}
_PATH = object()  # the <path:...> converter: the rest of the path


class _Entry:
    __slots__ = ("text", "parts", "prefix", "root")

    def __init__(self, text: str) -> None:
        if not text.startswith("/"):
            raise ValueError(f"exclude_paths: {text!r} must start with '/'")
        self.text = text
        self.prefix = "<" not in text and ">" not in text
        # "/" as a prefix would open every path: someone excluding the home page would open
        # the whole app. It means the root page alone (require_auth = false opens everything).
        self.root = text == "/"
        segments = [s for s in text.split("/") if s]
        if any(s in (".", "..") or "%" in s or "\\" in s for s in segments):
            raise ValueError(f"exclude_paths: {text!r} is not a normalised path (no '.', '..', "
                             f"percent-escapes or backslashes)")
        if self.prefix:
            self.parts: list[object] = list(segments)
            return
        parts: list[object] = []
        for index, seg in enumerate(segments):
            match = _PARAM.fullmatch(seg)
            if match is None:
                if "<" in seg or ">" in seg:
                    raise ValueError(f"exclude_paths: a parameter fills a whole segment: "
                                     f"{seg!r} in {text!r}")
                parts.append(seg)
                continue
            conv = match["conv"] or "str"
            if conv == "path":
                if index != len(segments) - 1:
                    raise ValueError(f"exclude_paths: <path:...> must be last in {text!r}")
                parts.append(_PATH)
            elif conv in _CONVERTERS:
                parts.append(_CONVERTERS[conv])
            else:
                raise ValueError(f"exclude_paths: unknown converter {conv!r} in {text!r}; use "
                                 f"int, float, uuid, str or path")
        self.parts = parts

    def matches(self, segments: list[str]) -> bool:
        parts = self.parts
        if self.root:
            return segments in ([], [""])
        if self.prefix:
            return segments[:len(parts)] == parts
        for index, part in enumerate(parts):
            if part is _PATH:
                # Like the router: at least one more segment, and the first of them not empty.
                return index < len(segments) and segments[index] != ""
            if index >= len(segments):
                return False
            seg = segments[index]
            if isinstance(part, str):
                if seg != part:
                    return False
            elif not part(seg):  # type: ignore[operator]
                return False
        return len(segments) == len(parts)


class PathMatcher:
    """``exclude_paths`` compiled once: ``matcher.matches(raw_path)`` per request.

    ``raw_path`` is the still-encoded request path (a query string, if any, is ignored).
    """

    def __init__(self, entries: Iterable[str]) -> None:
        if isinstance(entries, str):  # iterating it would give one entry per character
            raise TypeError(f"exclude_paths is a list of paths, got the string {entries!r}")
        self.entries = tuple(_Entry(e) for e in dict.fromkeys(entries))

    def matches(self, raw_path: str) -> bool:
        if not self.entries:
            return False
        normal, stable = _normal_segments(raw_path)
        if not stable:
            return False  # encoded more deeply than any real client does: never excluded
        literal = _literal_segments(raw_path)
        return any(e.matches(literal) and e.matches(normal) for e in self.entries)

    def __repr__(self) -> str:
        return f"PathMatcher({[e.text for e in self.entries]!r})"
