"""Who the client is: the peer address, or what trusted proxies say in X-Forwarded-For / Forwarded.

A forwarding header is believed only when the peer is a configured trusted proxy, and then
only as far back as the chain of trusted proxies goes: the client is the right-most hop that
is not trusted. Anything to its left was written by the client and could be anything.
Pure: no pyframe import.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network

__all__ = ["TrustedProxies", "IPAddress", "parse_node", "x_forwarded_for_hops",
           "forwarded_hops", "client_address", "HEADERS"]

IPAddress = IPv4Address | IPv6Address
# The headers a proxy may be trusted for. Only one is read: a proxy that sets one usually
# passes the other through from the client untouched, so reading both lets clients choose.
HEADERS = ("x-forwarded-for", "forwarded")
# Longer than any address with a port and a zone: refuse before parsing.
_MAX_NODE = 80
_TCHAR = frozenset("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyz"
                   "ABCDEFGHIJKLMNOPQRSTUVWXYZ")
_OBF = frozenset("._-0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")


def _normal(addr: IPAddress) -> IPAddress:
    # A dual-stack socket reports IPv4 peers as ::ffff:a.b.c.d; they are the IPv4 address.
    if isinstance(addr, IPv6Address) and addr.ipv4_mapped is not None:
        return addr.ipv4_mapped
    return addr


class TrustedProxies:
    """The proxies whose forwarding headers are believed: addresses and networks, v4 and v6.

    ``TrustedProxies(["10.0.0.0/8", "192.0.2.7", "2001:db8::/32", "unix"])``; ``"unix"``
    trusts peers on a Unix socket (they have no address). Raises ValueError naming a bad entry.
    """

    __slots__ = ("_v4", "_v6", "unix", "entries")

    def __init__(self, entries: Iterable[str] = ()) -> None:
        if isinstance(entries, str):
            raise TypeError("trusted_proxies is a list of addresses or networks, not a string")
        self._v4: list[IPv4Network] = []
        self._v6: list[IPv6Network] = []
        self.unix = False
        self.entries = tuple(entries)
        for entry in self.entries:
            if not isinstance(entry, str):
                raise TypeError(f"trusted_proxies: {entry!r} is not a string")
            if entry == "unix":
                self.unix = True
                continue
            try:
                net = ip_network(entry.strip(), strict=True)
            except ValueError:
                raise ValueError(_entry_error(entry)) from None
            if isinstance(net, IPv6Network):
                mapped = net.network_address.ipv4_mapped
                if mapped is None or net.prefixlen < 96:
                    self._v6.append(net)
                    continue
                # Peers are compared as IPv4 (see _normal), so keep mapped entries that way.
                net = IPv4Network(f"{mapped}/{net.prefixlen - 96}")
            self._v4.append(net)

    def __bool__(self) -> bool:
        return bool(self._v4 or self._v6 or self.unix)

    def __repr__(self) -> str:
        return f"TrustedProxies({list(self.entries)!r})"

    def trusts(self, addr: IPAddress | None) -> bool:
        """Whether ``addr`` is a trusted proxy; None stands for a Unix-socket peer."""
        if addr is None:
            return self.unix
        nets = self._v4 if isinstance(addr, IPv4Address) else self._v6
        return any(addr in net for net in nets)


def _entry_error(entry: str) -> str:
    try:
        loose = ip_network(entry.strip(), strict=False)
    except ValueError:
        return (f"trusted_proxies: {entry!r} is not an IP address or network (write "
                f"'192.0.2.7', '10.0.0.0/8', '2001:db8::/32' or 'unix')")
    return (f"trusted_proxies: {entry!r} has host bits set; did you mean '{loose}'?")


def parse_node(text: str) -> IPAddress | None:
    """An address as proxies write it: ``a.b.c.d``, ``a.b.c.d:port``, ``v6``, ``[v6]:port``.

    None for ``unknown``, obfuscated identifiers (``_hidden``) and anything malformed.
    """
    text = text.strip()
    if not text or len(text) > _MAX_NODE:
        return None
    port: str | None = None
    if text.startswith("["):
        end = text.find("]")
        if end < 0:
            return None
        host, rest = text[1:end], text[end + 1:]
        if rest:
            if not rest.startswith(":"):
                return None
            port = rest[1:]
        if ":" not in host:
            return None  # brackets are for IPv6 only
    elif text.count(":") == 1:
        host, port = text.split(":")
        if "." not in host:
            return None
    else:
        host = text
    if port is not None and not _is_port(port):
        return None
    try:
        return _normal(ip_address(host))
    except ValueError:
        return None


def _is_port(port: str) -> bool:
    # A number, or an obfuscated port ("_abc"): proxies may hide the port but not the address.
    if port.isascii() and port.isdigit():
        return len(port) <= 5 and int(port) <= 65535
    return len(port) > 1 and port[0] == "_" and set(port) <= _OBF


def x_forwarded_for_hops(value: str) -> Iterator[IPAddress | None]:
    """The hops of one X-Forwarded-For line, right-most (nearest) first."""
    for entry in reversed(value.split(",")):
        entry = entry.strip()
        if entry:  # empty list elements are allowed and mean nothing
            yield parse_node(entry)


def forwarded_hops(value: str) -> Iterator[IPAddress | None]:
    """The ``for=`` hops of one RFC 7239 Forwarded line, right-most first.

    Quoted values may hold ',' and ';', so the line is tokenised from the left; a line that
    does not tokenise yields one unusable hop (None), so the walk stops there.
    """
    elements = _forwarded_elements(value)
    if elements is None:
        yield None
        return
    for params in reversed(elements):
        node = params.get("for")
        yield parse_node(node) if node is not None else None


def _forwarded_elements(value: str) -> list[dict[str, str]] | None:
    elements: list[dict[str, str]] = []
    params: dict[str, str] = {}
    i, n = 0, len(value)
    while True:
        while i < n and value[i] in " \t;":  # empty pairs (";;") are allowed and mean nothing
            i += 1
        if i == n or value[i] == ",":
            if params:
                elements.append(params)
                params = {}
            if i == n:
                return elements
            i += 1
            continue
        start = i
        while i < n and value[i] in _TCHAR:
            i += 1
        name = value[start:i].lower()
        if not name or i == n or value[i] != "=":
            return None
        i += 1
        if i < n and value[i] == '"':
            text, i = _quoted(value, i + 1)
            if text is None:
                return None
        else:
            start = i
            while i < n and value[i] in _TCHAR:
                i += 1
            text = value[start:i]
            if not text:
                return None
        if name in params:
            return None  # RFC 7239: a parameter occurs at most once per element
        params[name] = text
        while i < n and value[i] in " \t":
            i += 1
        if i < n and value[i] not in ";,":
            return None


def _quoted(value: str, i: int) -> tuple[str | None, int]:
    """The quoted-string starting after the opening quote at ``i - 1``, and where it ends."""
    chars = []
    n = len(value)
    while i < n:
        ch = value[i]
        if ch == '"':
            return "".join(chars), i + 1
        if ch == "\\":
            if i + 1 == n:
                break
            ch = value[i + 1]
            i += 1
        chars.append(ch)
        i += 1
    return None, i  # unterminated


def client_address(peer: str | None, header_lines: Iterable[str], trusted: TrustedProxies,
                   header: str = "x-forwarded-for") -> IPAddress | None:
    """The client's address: the right-most untrusted hop, starting from the peer.

    ``peer`` is the socket's remote address ('' or None for a Unix socket); ``header_lines``
    are the values of ``header`` in the order received. Returns None when the only identity
    is a Unix socket or unusable. When a hop the trusted chain reports is unusable (unknown,
    obfuscated — RFC 7239 asks for those to be random per request — or malformed), the last
    trusted hop is the client: such requests share one bucket and cannot pick their own.
    """
    if header not in HEADERS:
        raise ValueError(f"header must be one of {HEADERS}, got {header!r}")
    current = _peer(peer)
    if not trusted.trusts(current):
        return current
    parse = x_forwarded_for_hops if header == "x-forwarded-for" else forwarded_hops
    for line in reversed(list(header_lines)):
        for hop in parse(line):
            if hop is None:
                return current
            if not trusted.trusts(hop):
                return hop
            current = hop
    return current


def _peer(peer: str | None) -> IPAddress | None:
    if not peer:
        return None
    try:
        return _normal(ip_address(peer))
    except ValueError:
        return None
