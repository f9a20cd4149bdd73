"""The router: a dict for static paths and a segment trie for patterns.

Matching costs one dict lookup for a static path and one step per path segment for a pattern,
whatever the number of routes.
"""

from __future__ import annotations

import inspect
import re
import uuid
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import unquote

from ..errors import HTTPError, MethodNotAllowed, NotFound

__all__ = ["Route", "Router", "HTTP_METHODS", "WEBSOCKET"]

HTTP_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
# WebSocket routes live in the same table under a method of their own.
WEBSOCKET = "WEBSOCKET"
_NO = object()
_PARAM = re.compile(r"^<(?:(?P<conv>[a-z]+):)?(?P<name>[A-Za-z_][A-Za-z0-9_]*)>$")
_FLOAT = re.compile(r"^[0-9]+(?:\.[0-9]+)?$")


def _to_int(seg: str) -> Any:
    # ASCII digits only: str.isdigit alone also takes "²" and other Unicode digits.
    return int(seg) if seg.isdigit() and seg.isascii() else _NO


def _to_float(seg: str) -> Any:
    return float(seg) if _FLOAT.match(seg) else _NO


def _to_uuid(seg: str) -> Any:
    if len(seg) not in (32, 36):
        return _NO
    try:
        return uuid.UUID(seg)
    except ValueError:
        return _NO


def _to_str(seg: str) -> Any:
    return seg if seg else _NO


# Most specific first: a segment that is a valid int tries the int route before the str one.
CONVERTERS: dict[str, tuple[int, Callable[[str], Any]]] = {
    "int": (0, _to_int),
    "float": (1, _to_float),
    "uuid": (2, _to_uuid),
    "str": (3, _to_str),
    "string": (3, _to_str),
}


class Route:
    """One registered route. ``options`` holds per-route settings plugins may read.

    A WebSocket route may have ``claims(raw_path) -> bool``, asked before any handshake:
    when it says no, the upgrade request is routed as a plain GET (a route that serves only
    part of what its pattern matches, such as outside's prefix table).
    """

    __slots__ = ("path", "methods", "handler", "name", "kind", "is_async", "param_names",
                 "max_body_size", "stream_body", "plugin", "options", "claims")

    def __init__(self, path: str, methods: Iterable[str], handler: Callable[..., Any], *,
                 name: str | None = None, kind: str = "http", max_body_size: int | None = None,
                 stream_body: bool = False, plugin: str | None = None,
                 options: dict[str, Any] | None = None,
                 claims: Callable[[str], bool] | None = None) -> None:
        if not path.startswith("/"):
            raise ValueError(f"a route path starts with '/', got {path!r}")
        self.path = path
        self.methods = tuple(dict.fromkeys(m.upper() for m in methods))
        for method in self.methods:
            if method not in HTTP_METHODS and method != WEBSOCKET:
                raise ValueError(f"unknown HTTP method {method!r} for route {path}")
        self.handler = handler
        self.name = name or getattr(handler, "__name__", None)
        if WEBSOCKET in self.methods:
            if len(self.methods) > 1:
                raise ValueError(f"a WebSocket route takes no other methods: {path}")
            kind = "websocket"
        self.kind = kind
        if claims is not None and kind != "websocket":
            raise ValueError(f"only a WebSocket route takes claims=: {path}")
        self.claims = claims
        self.is_async = _is_async_callable(handler)
        self.param_names: list[str] = []
        self.max_body_size = max_body_size
        self.stream_body = stream_body
        self.plugin = plugin
        self.options = options or {}

    def __repr__(self) -> str:
        return f"<Route {'|'.join(self.methods)} {self.path} -> {self.name}>"


def _is_async_callable(obj: Any) -> bool:
    while hasattr(obj, "func"):  # functools.partial
        obj = obj.func
    return inspect.iscoroutinefunction(obj) or inspect.iscoroutinefunction(
        getattr(obj, "__call__", None))


class _Node:
    __slots__ = ("static", "params", "catchall", "routes")

    def __init__(self) -> None:
        self.static: dict[str, _Node] = {}
        self.params: list[tuple[int, str, Callable[[str], Any], _Node]] = []
        self.catchall: _Node | None = None
        self.routes: dict[str, Route] = {}


class _Miss:
    __slots__ = ("allowed",)

    def __init__(self) -> None:
        self.allowed: dict[str, Route] | None = None


def _split(path: str) -> list[str]:
    # Only the leading slash goes: `//a` has an empty first segment and is not `/a`.
    return path[1:].split("/") if path != "/" else []


class Router:
    """Routes by method and path. Routes can be added and removed while the app serves."""

    def __init__(self) -> None:
        self._static: dict[str, dict[str, Route]] = {}
        self._root = _Node()
        self._routes: list[Route] = []
        # How many paths have a WebSocket route now: the dispatcher looks at Upgrade headers
        # only while there is one, and sees routes added while serving.
        self.websockets = 0

    def __iter__(self):
        return iter(list(self._routes))

    def __len__(self) -> int:
        return len(self._routes)

    def add(self, route: Route, *, replace: bool = False) -> Route:
        table, names = self._table_for(route.path, create=True)
        for method in route.methods:
            existing = table.get(method)
            if existing is not None and not replace:
                raise ValueError(f"{method} {route.path} is already routed to {existing.name}")
        for method in route.methods:
            old = table.get(method)
            if old is not None:
                self._forget(old, method)
            table[method] = route
            if method == WEBSOCKET:
                self.websockets += 1
        route.param_names = names
        self._routes.append(route)
        return route

    def remove(self, path: str, methods: Iterable[str] | None = None) -> list[Route]:
        """Remove the routes at ``path`` (all methods unless named); returns what went."""
        table, _ = self._table_for(path, create=False)
        if not table:
            raise KeyError(f"no route at {path}")
        wanted = {m.upper() for m in methods} if methods else set(table)
        removed = []
        for method in wanted & set(table):
            route = table.pop(method)
            self._forget(route, method)
            removed.append(route)
        if not removed:
            raise KeyError(f"no route for {sorted(wanted)} at {path}")
        return removed

    def _forget(self, route: Route, method: str) -> None:
        if method == WEBSOCKET:
            self.websockets -= 1
        route.methods = tuple(m for m in route.methods if m != method)
        if not route.methods and route in self._routes:
            self._routes.remove(route)

    def _table_for(self, path: str, *, create: bool) -> tuple[dict[str, Route], list[str]]:
        segments = _split(path)
        if "<" not in path and ">" not in path:
            if create:
                return self._static.setdefault(path, {}), []
            return self._static.get(path, {}), []
        node, names = self._root, []
        for index, seg in enumerate(segments):
            m = _PARAM.match(seg)
            if m is None:
                if "<" in seg or ">" in seg:
                    raise ValueError(f"a parameter fills a whole path segment: {seg!r} in {path}")
                child = node.static.get(seg)
                if child is None:
                    if not create:
                        return {}, names
                    child = node.static[seg] = _Node()
                node = child
                continue
            conv, name = m.group("conv") or "str", m.group("name")
            if name in names:
                raise ValueError(f"parameter <{name}> appears twice in {path}")
            names.append(name)
            if conv == "path":
                if index != len(segments) - 1:
                    raise ValueError(f"<path:{name}> must be the last segment of {path}")
                if node.catchall is None:
                    if not create:
                        return {}, names
                    node.catchall = _Node()
                node = node.catchall
                continue
            if conv not in CONVERTERS:
                raise ValueError(f"unknown converter {conv!r} in {path}; use one of "
                                 f"int, float, uuid, str, path")
            rank, fn = CONVERTERS[conv]
            for prank, _, pfn, pchild in node.params:
                if pfn is fn:
                    node = pchild
                    break
            else:
                if not create:
                    return {}, names
                child = _Node()
                node.params.append((rank, conv, fn, child))
                node.params.sort(key=lambda p: p[0])
                node = child
        return node.routes, names

    def match(self, method: str, raw_path: str) -> tuple[Route, dict[str, Any]]:
        """Find the route for ``method`` and the still-encoded ``raw_path``.

        Raises NotFound, or MethodNotAllowed carrying the allowed methods.
        """
        encoded = "%" in raw_path
        path = unquote(raw_path) if encoded else raw_path
        table = self._static.get(path)
        if table is not None:
            route = table.get(method)
            if route is None and method == "HEAD":
                route = table.get("GET")
            if route is not None:
                return route, {}
        segments = _split(raw_path)
        if encoded:
            segments = [unquote(s) for s in segments]
        found = self._descend(segments, method)
        if found is not None:
            return found
        values: list[Any] = []
        miss = _Miss()
        route = self._search(self._root, segments, 0, method, values, miss)
        if route is not None:
            return route, dict(zip(route.param_names, values))
        allowed = table if table else miss.allowed
        if allowed:
            methods = _allow(allowed)
            if not methods:
                raise HTTPError(426, "this path takes WebSocket connections only",
                                headers={"Upgrade": "websocket", "Connection": "Upgrade"})
            raise MethodNotAllowed(methods)
        raise NotFound()

    def _descend(self, segs: list[str], method: str) -> tuple[Route, dict[str, Any]] | None:
        """The first path ``_search`` would try, walked without recursion or backtracking.

        At each segment: the static child, else the first parameter whose converter takes
        the segment, else the catch-all. When that path ends at a route for ``method`` it is
        the route the full search finds, since the search tries the same path first; when it
        does not, the caller runs the full search (a 404, a 405, or a rarer route shape)."""
        node = self._root
        values: list[Any] = []
        for i, seg in enumerate(segs):
            child = node.static.get(seg)
            if child is not None:
                node = child
                continue
            for _, _, convert, pchild in node.params:
                value = convert(seg)
                if value is not _NO:
                    values.append(value)
                    node = pchild
                    break
            else:
                catchall = node.catchall
                if catchall is None or not seg:
                    return None
                node = catchall
                values.append("/".join(segs[i:]))
                break
        routes = node.routes
        route = routes.get(method)
        if route is None:
            if method != "HEAD":
                return None
            route = routes.get("GET")
            if route is None:
                return None
        names = route.param_names
        if len(names) == 1:
            return route, {names[0]: values[0]}
        return route, dict(zip(names, values))

    def _search(self, node: _Node, segs: list[str], i: int, method: str, values: list[Any],
                miss: _Miss) -> Route | None:
        if i == len(segs):
            routes = node.routes
            if routes:
                route = routes.get(method)
                if route is None and method == "HEAD":
                    route = routes.get("GET")
                if route is not None:
                    return route
                if miss.allowed is None:
                    miss.allowed = routes
            return None
        seg = segs[i]
        child = node.static.get(seg)
        if child is not None:
            route = self._search(child, segs, i + 1, method, values, miss)
            if route is not None:
                return route
        for _, _, convert, pchild in node.params:
            value = convert(seg)
            if value is not _NO:
                values.append(value)
                route = self._search(pchild, segs, i + 1, method, values, miss)
                if route is not None:
                    return route
                values.pop()
        catchall = node.catchall
        if catchall is not None and seg:
            routes = catchall.routes
            route = routes.get(method) or (routes.get("GET") if method == "HEAD" else None)
            if route is not None:
                values.append("/".join(segs[i:]))
                return route
            if routes and miss.allowed is None:
                miss.allowed = routes
        return None


def _allow(routes: dict[str, Route]) -> list[str]:
    methods = [m for m in routes if m != WEBSOCKET]
    if "GET" in methods and "HEAD" not in methods:
        methods.append("HEAD")
    return sorted(methods)
