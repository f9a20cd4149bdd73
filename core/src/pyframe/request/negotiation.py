"""Reading the request headers that choose between answers: Accept, Accept-Encoding and
Content-Type. Shared by the core and by plugins that negotiate (compression, static files)."""

from __future__ import annotations

import re

__all__ = ["media_type_of", "parse_accept", "accept_quality", "parse_accept_encoding"]


def media_type_of(content_type: str | None) -> str:
    """``"text/html; charset=utf-8"`` -> ``"text/html"`` (lower-cased; "" for none)."""
    if not content_type:
        return ""
    return content_type.split(";", 1)[0].strip().lower()


def parse_accept(header: str) -> list[tuple[str, str, float]]:
    """Parse an Accept header into (type, subtype, q) triples."""
    ranges = []
    for item in header.split(","):
        item = item.strip()
        if not item:
            continue
        media, *params = (p.strip() for p in item.split(";"))
        q = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    q = max(0.0, min(1.0, float(value)))
                except ValueError:
                    q = 0.0
        main, _, sub = media.lower().partition("/")
        ranges.append((main, sub or "*", q))
    return ranges


def accept_quality(ranges: list[tuple[str, str, float]], content_type: str) -> float:
    """The q-value the most specific matching range gives ``content_type`` (0 when none)."""
    main, _, sub = media_type_of(content_type).partition("/")
    best, best_rank = 0.0, -1
    for rmain, rsub, q in ranges:
        if rmain == main and rsub == sub:
            rank = 2
        elif rmain == main and rsub == "*":
            rank = 1
        elif rmain == "*":
            rank = 0
        else:
            continue
        if rank > best_rank:
            best, best_rank = q, rank
    return best


_QVALUE = re.compile(r"^(?:0(?:\.\d{0,3})?|1(?:\.0{0,3})?)$")


def parse_accept_encoding(header: str) -> dict[str, float]:
    """``"gzip;q=0.8, br"`` -> ``{"gzip": 0.8, "br": 1.0}``.

    A malformed entry (a q-value outside RFC 9110's grammar) is skipped rather than guessed at;
    the first entry for a coding wins; ``x-gzip`` counts as ``gzip``. Plugins that negotiate a
    content coding (compression, precompressed static files) share this reading.
    """
    prefs: dict[str, float] = {}
    for part in header.split(","):
        coding, _, params = part.partition(";")
        coding = coding.strip().lower()
        if not coding:
            continue
        q = 1.0
        for param in params.split(";") if params else ():
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                value = value.strip()
                q = float(value) if _QVALUE.match(value) else -1.0
        if q < 0:
            continue
        prefs.setdefault("gzip" if coding == "x-gzip" else coding, q)
    return prefs
