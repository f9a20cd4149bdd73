"""Request text made safe to hand on: header values and cookies that a handler can always
encode, and the few request strings an error message may quote.

aiohttp decodes header bytes as UTF-8 and keeps the bytes that are not UTF-8 as lone
surrogates, which no encoder (JSON, a log line, a database driver) takes. A value that is
valid UTF-8 is left as it is; one that is not is read as Latin-1 instead, where every byte is
one character and ``value.encode("latin-1")`` gives the bytes back. A cookie name sent twice
counts once, with its first value: RFC 6265 has browsers list the cookie with the longest
path first.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from types import MappingProxyType

from multidict import CIMultiDict, CIMultiDictProxy

__all__ = ["readable", "readable_headers", "request_cookies", "quotable"]

# RFC 9110 token; a media type is two of them around a slash.
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,64}")
_MEDIA = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,64}/[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,64}")
# name=value, the value bare or a quoted string, up to the next ';'.
_PAIR = re.compile(r'\s*([^\s=;]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;]*?)\s*(?:;|$)')
_ESCAPE = re.compile(r"\\(?:([0-3][0-7][0-7])|(.))")


def readable(value: str) -> str:
    """``value`` unchanged if it encodes as UTF-8, else the bytes it came from as Latin-1."""
    if value.isascii():
        return value
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return value.encode("utf-8", "surrogateescape").decode("latin-1")
    return value


def readable_headers(headers: CIMultiDictProxy[str]) -> CIMultiDictProxy[str]:
    """``headers`` itself when every value is readable (nearly always), else a copy that is."""
    for value in headers.values():
        if not value.isascii() and readable(value) is not value:
            break
    else:
        return headers
    return CIMultiDictProxy(CIMultiDict((name, readable(value))
                                        for name, value in headers.items()))


def request_cookies(header: str, parsed: Mapping[str, str]) -> Mapping[str, str]:
    """The request's cookies: ``parsed`` (aiohttp's reading of the Cookie header, where the
    last of two same-named cookies wins) with a repeated name taking its first value, and
    every value readable."""
    cookies: dict[str, str] | None = None
    if header.count("=") > 1:
        first: dict[str, str] = {}
        repeated = set()
        for name, raw in _pairs(header):
            if name in first:
                repeated.add(name)
            else:
                first[name] = raw
        if repeated:
            cookies = dict(parsed)
            for name in repeated:
                if name in cookies:
                    cookies[name] = _unquote(first[name])
    if all(value.isascii() for value in (cookies or parsed).values()):
        return parsed if cookies is None else MappingProxyType(cookies)
    return MappingProxyType({name: readable(value)
                             for name, value in (cookies or parsed).items()})


def quotable(value: str, *, media_type: bool = False) -> str | None:
    """``value`` if an error detail may show it (a plain token, or with ``media_type`` a
    ``type/subtype`` pair, up to 64 characters each: nothing that can carry markup), else None."""
    if media_type:
        value = value.partition(";")[0].strip()
        return value if _MEDIA.fullmatch(value) else None
    return value if _TOKEN.fullmatch(value) else None


def _pairs(header: str) -> Iterator[tuple[str, str]]:
    pos, end = 0, len(header)
    while pos < end:
        match = _PAIR.match(header, pos)
        if match is None:  # no '=' before the next ';': skipped, as aiohttp skips it
            semicolon = header.find(";", pos)
            if semicolon < 0:
                return
            pos = semicolon + 1
            continue
        yield match.group(1), match.group(2)
        pos = match.end()


def _unquote(raw: str) -> str:
    # A quoted value as aiohttp (and http.cookies) reads it: backslash escapes, \ooo octal.
    if len(raw) < 2 or raw[0] != '"' or raw[-1] != '"':
        return raw
    return _ESCAPE.sub(lambda m: chr(int(m.group(1), 8)) if m.group(1) else m.group(2),
                       raw[1:-1])
