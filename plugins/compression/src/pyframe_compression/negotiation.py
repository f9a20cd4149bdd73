"""Choosing a content coding from ``Accept-Encoding`` (RFC 9110, section 12.5.3)."""

from __future__ import annotations

import functools

from pyframe.plugin import parse_accept_encoding

__all__ = ["parse_accept_encoding", "choose_coding"]


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
