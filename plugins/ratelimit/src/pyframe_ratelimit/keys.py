"""Client keys, whose bucket a request spends: by address (default), user, API-key header, function.

A key function takes the request context (it reads ``remote_addr``, ``headers`` and ``user``
only) and returns a string such as ``ip:203.0.113.9``; config names a function as
``function:<module>:<name>``, imported when the app is built. Keys that would carry a secret
(an API key) or an unknown value (a function's) are hashed before they exist, so they can be
logged and stored; storage only ever sees a digest of any key. Pure: no pyframe import.
"""

from __future__ import annotations

import hashlib
import importlib
import re
from collections.abc import Callable, Mapping
from ipaddress import IPv6Address
from typing import Any

from .proxies import HEADERS, IPAddress, TrustedProxies, client_address

__all__ = ["KeyFunc", "AddressKey", "UserKey", "HeaderKey", "FunctionKey", "parse_key_spec",
           "build_key_func", "import_key_function", "storage_tag", "loggable",
           "address_label"]

KeyFunc = Callable[[Any], str]
_TOKEN = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,64}$")
_KEY_SPECS = "'ip', 'user', 'header:<Header-Name>' or 'function:<module>:<name>'"
_IMPORT_PATH = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*"
                          r":[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")


def _encode(text: str) -> bytes:
    # Header values may carry undecodable bytes as surrogates; hash them rather than fail.
    return text.encode("utf-8", "surrogatepass")


def storage_tag(client_key: str) -> str:
    """A fixed-length digest of a client key: what storage keys and logs carry instead."""
    return hashlib.blake2b(_encode(client_key), digest_size=16).hexdigest()


def loggable(client_key: str) -> str:
    """A client key fit for a log line: addresses and user ids as they are, the rest digested."""
    kind, _, value = client_key.partition(":")
    if kind in ("ip", "user") and len(value) <= 100:
        return client_key
    return f"{kind}:{storage_tag(client_key)[:12]}"


def address_label(addr: IPAddress | None, ipv6_prefix: int = 64) -> str:
    """``ip:<address>``; IPv6 clients by their /``ipv6_prefix`` network, as one host has many."""
    if addr is None:
        return "ip:unknown"
    if isinstance(addr, IPv6Address) and ipv6_prefix < 128:
        shift = 128 - ipv6_prefix
        network = IPv6Address(int(addr) >> shift << shift)
        return f"ip:{network}/{ipv6_prefix}"
    return f"ip:{addr}"


def _header_lines(headers: Any, name: str) -> list[str]:
    getall = getattr(headers, "getall", None)
    if getall is not None:
        return list(getall(name, ()))
    value = headers.get(name)
    return [value] if value is not None else []


class AddressKey:
    """The client's address: the peer, or the right-most untrusted hop of a trusted chain.

    ``header`` is the one forwarding header the trusted proxies write (``x-forwarded-for`` or
    ``forwarded``); without trusted proxies no header is read at all.
    """

    __slots__ = ("trusted", "header", "ipv6_prefix")

    def __init__(self, trusted: TrustedProxies | None = None, header: str = "x-forwarded-for",
                 ipv6_prefix: int = 64) -> None:
        header = header.lower()
        if header not in HEADERS:
            raise ValueError(f"forwarded header must be one of {', '.join(HEADERS)}, "
                             f"got {header!r}")
        if not isinstance(ipv6_prefix, int) or not 1 <= ipv6_prefix <= 128:
            raise ValueError(f"ipv6_prefix is a prefix length from 1 to 128, got {ipv6_prefix!r}")
        self.trusted = trusted if trusted is not None else TrustedProxies()
        self.header = header
        self.ipv6_prefix = ipv6_prefix

    def address(self, context: Any) -> IPAddress | None:
        lines = _header_lines(context.headers, self.header) if self.trusted else []
        return client_address(context.remote_addr, lines, self.trusted, self.header)

    def __call__(self, context: Any) -> str:
        if not self.trusted:
            peer = context.remote_addr
            # The common case, a dotted IPv4 peer: the socket already wrote it canonically.
            if peer and ":" not in peer and peer[-1].isdigit():
                return "ip:" + peer
        return address_label(self.address(context), self.ipv6_prefix)


class UserKey:
    """``user:<id>`` of ``context.user`` (its ``id`` attribute or key); anonymous: ``fallback``."""

    __slots__ = ("fallback",)

    def __init__(self, fallback: KeyFunc) -> None:
        self.fallback = fallback

    def __call__(self, context: Any) -> str:
        user = getattr(context, "user", None)
        if user is None:
            return self.fallback(context)
        uid = user.get("id") if isinstance(user, Mapping) else getattr(user, "id", None)
        if uid is None or uid == "":
            return self.fallback(context)
        return f"user:{uid}"


class HeaderKey:
    """A digest of an API-key header's value; without the header, ``fallback``.

    The raw key is hashed at once and never kept, stored or logged.
    """

    __slots__ = ("name", "fallback", "_label")

    def __init__(self, name: str, fallback: KeyFunc) -> None:
        if not isinstance(name, str) or not _TOKEN.match(name):
            raise ValueError(f"{name!r} is not a valid header name")
        self.name = name
        self.fallback = fallback
        self._label = f"header:{name.lower()}:"

    def __call__(self, context: Any) -> str:
        value = context.headers.get(self.name)
        if value is None or not value.strip():
            return self.fallback(context)
        return self._label + hashlib.sha256(_encode(value.strip())).hexdigest()


class FunctionKey:
    """``fn(context)`` decides the key; None means ``fallback``. The value is never logged raw."""

    __slots__ = ("fn", "fallback")

    def __init__(self, fn: Callable[[Any], str | int | None], fallback: KeyFunc) -> None:
        if not callable(fn):
            raise TypeError(f"a key function must be callable, got {type(fn).__name__}")
        self.fn = fn
        self.fallback = fallback

    def __call__(self, context: Any) -> str:
        value = self.fn(context)
        if value is None:
            return self.fallback(context)
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise TypeError(f"key function {getattr(self.fn, '__name__', self.fn)!r} returned "
                            f"{type(value).__name__}; return a str, an int or None")
        return f"fn:{value}"


def parse_key_spec(spec: str) -> tuple[str, str | None]:
    """``'ip'`` -> ('ip', None), ``'user'`` -> ('user', None), ``'header:X-API-Key'`` ->
    ('header', 'X-API-Key'), ``'function:app.keys:tenant'`` -> ('function', 'app.keys:tenant').
    Raises ValueError naming what is accepted; imports nothing."""
    if not isinstance(spec, str):
        raise TypeError(f"a key is {_KEY_SPECS} (or a function in code), got "
                        f"{type(spec).__name__}")
    kind, sep, arg = spec.partition(":")
    if not sep and kind in ("ip", "user"):
        return kind, None
    if sep and kind == "header":
        if not _TOKEN.match(arg):
            raise ValueError(f"key {spec!r}: {arg!r} is not a valid header name")
        return kind, arg
    if sep and kind == "function":
        if not _IMPORT_PATH.match(arg):
            raise ValueError(f"key {spec!r}: name the function as 'function:<module>:<name>', "
                             f"e.g. 'function:myapp.limits:tenant_key'")
        return kind, arg
    raise ValueError(f"unknown key {spec!r}: use {_KEY_SPECS}")


def import_key_function(path: str) -> Callable[[Any], Any]:
    """``'myapp.limits:tenant_key'`` -> that callable. Raises ValueError saying what failed."""
    module_name, _, attr = path.partition(":")
    try:
        target: Any = importlib.import_module(module_name)
    except Exception as exc:
        raise ValueError(f"key function {path!r}: module {module_name!r} does not import: "
                         f"{type(exc).__name__}: {exc}") from None
    for part in attr.split("."):
        try:
            target = getattr(target, part)
        except AttributeError:
            raise ValueError(f"key function {path!r}: {module_name!r} has no {attr!r}") from None
    if not callable(target):
        raise ValueError(f"key function {path!r} is a {type(target).__name__}, not a callable")
    return target


def build_key_func(spec: str | Callable[[Any], Any], address: AddressKey) -> KeyFunc:
    """The key function for a spec; every kind falls back to ``address`` when it has no key.

    A ``function:`` spec is imported here, so call this while the app is built.
    """
    if callable(spec):
        return FunctionKey(spec, address)
    kind, arg = parse_key_spec(spec)
    if kind == "ip":
        return address
    if kind == "user":
        return UserKey(address)
    assert arg is not None
    if kind == "function":
        return FunctionKey(import_key_function(arg), address)
    return HeaderKey(arg, address)
