"""Choosing a content coding from ``Accept-Encoding`` (RFC 9110, section 12.5.3)."""

from __future__ import annotations

import functools
import re

__all__ = ["parse_accept_encoding", "choose_coding"]

# qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )
_QVALUE = re.compile(r"^(?:0(?:\.\d{0,3})?|1(?:\.0{0,3})?)$")


def parse_accept_encoding(header: str) -> dict[str, float]:
    """``"gzip;q=0.8, br"`` → ``{"gzip": 0.8, "br": 1.0}``.

    A malformed entry (a bad q-value) is skipped rather than guessed at; the first entry for
    a coding wins. ``x-gzip`` counts as ``gzip``.
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
        if coding == "x-gzip":
            coding = "gzip"
        prefs.setdefault(coding, q)
    return prefs


def choose_coding(header: str, codecs: tuple[str, ...]) -> str | None:
    """The codec to use, or None for the identity body.

    The highest q-value wins, the server's order of ``codecs`` breaks ties, ``*`` stands for
    every coding not named, and ``q=0`` refuses. An explicit ``identity`` preferred over
    every codec gets the identity body. When everything is refused, identity included, the
    identity body is sent anyway (RFC 9110 allows that or a 406; a readable answer is more
    useful than none).
    """
    # Browsers send a handful of distinct headers: remember the answers, but not for long
    # headers, so a client cannot fill the cache with junk.
    if len(header) <= 200:
        return _choose_cached(header, codecs)
    return _choose(header, codecs)


def _choose(header: str, codecs: tuple[str, ...]) -> str | None:
    prefs = parse_accept_encoding(header)
    star = prefs.get("*", 0.0)
    best, best_q = None, 0.0
    for codec in codecs:
        q = prefs.get(codec, star)
        if q > best_q:
            best, best_q = codec, q
    if best is not None and prefs.get("identity", 0.0) > best_q:
        return None
    return best


_choose_cached = functools.lru_cache(maxsize=256)(_choose)
