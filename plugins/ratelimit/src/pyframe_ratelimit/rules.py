"""Which limits a route gets: its handler's decorator, else the most specific rule, else default.

Rules are matched against the matched route's *pattern* (``/users/<int:id>``), not the request
path, segment by segment: a literal matches the same literal, ``<name>`` (any converter)
matches any one segment, and ``<path:name>`` as the last segment matches one or more. So
``/api/<path:rest>`` covers ``/api/users`` and ``/api/users/<int:id>``. Pure: no pyframe import.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from .decorators import HandlerMark, mark_of
from .keys import parse_key_spec
from .limits import Limit, parse_limits

__all__ = ["RouteRule", "RouteLimits", "RuleSet", "parse_pattern", "pattern_matches"]

# The core router's pattern syntax and converters, repeated here so this module stays pure.
_PARAM = re.compile(r"^<(?:(?P<conv>[a-z]+):)?(?P<name>[A-Za-z_][A-Za-z0-9_]*)>$")
_CONVERTERS = frozenset({"int", "float", "uuid", "str", "string", "path"})
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# Segment kinds, ranked: more specific is larger.
LITERAL, PARAM, PATH = 3, 2, 1
Segments = tuple[tuple[int, str], ...]


def parse_pattern(pattern: str) -> Segments:
    """A route pattern as (kind, literal) segments; raises ValueError where the router would."""
    if not isinstance(pattern, str) or not pattern.startswith("/"):
        raise ValueError(f"a route pattern starts with '/', got {pattern!r}")
    parts = pattern[1:].split("/") if pattern != "/" else []
    segments = []
    for index, part in enumerate(parts):
        m = _PARAM.match(part)
        if m is None:
            if "<" in part or ">" in part:
                raise ValueError(f"a parameter fills a whole segment: {part!r} in {pattern}")
            segments.append((LITERAL, part))
            continue
        conv = m.group("conv") or "str"
        if conv not in _CONVERTERS:
            raise ValueError(f"unknown converter {conv!r} in {pattern}; use one of "
                             f"{', '.join(sorted(_CONVERTERS))}")
        if conv == "path":
            if index != len(parts) - 1:
                raise ValueError(f"<path:...> must be the last segment of {pattern}")
            segments.append((PATH, ""))
        else:
            segments.append((PARAM, ""))
    return tuple(segments)


def pattern_matches(rule: Segments, route: Segments) -> bool:
    """Whether a rule's pattern covers a route's pattern (see the module docstring)."""
    for i, (kind, text) in enumerate(rule):
        if kind == PATH:
            return len(route) > i
        if i >= len(route):
            return False
        route_kind, route_text = route[i]
        if kind == LITERAL and (route_kind != LITERAL or route_text != text):
            return False
        if kind == PARAM and route_kind == PATH:
            return False  # the route takes more paths than the rule names
    return len(rule) == len(route)


@dataclass(frozen=True, slots=True)
class RouteRule:
    """Limits (or an exemption) for the routes a pattern covers, optionally for some methods.

    ``RouteRule("/login", ["5/minute", "20/hour"], methods=["POST"])``,
    ``RouteRule("/health", exempt=True)``. ``key`` overrides the plugin's key for them, and
    ``headers`` (when not None) whether their admitted responses carry the RateLimit fields.
    The routes one rule covers share its buckets: ``/api/<path:rest>`` with "100/minute" is
    100 a minute for the whole API, per client.
    """

    pattern: str
    limits: tuple[Limit, ...] = ()
    exempt: bool = False
    methods: tuple[str, ...] = ()
    key: str | None = None
    headers: bool | None = None

    def __post_init__(self) -> None:
        parse_pattern(self.pattern)
        object.__setattr__(self, "limits", parse_limits(self.limits))
        if self.exempt == bool(self.limits):
            raise ValueError(f"rule {self.pattern}: give it limits or exempt = true (one of them)")
        if isinstance(self.methods, str):
            raise TypeError(f"rule {self.pattern}: methods is a list, e.g. ['POST']")
        methods = tuple(dict.fromkeys(m.upper() for m in self.methods))
        for method in methods:
            if method not in _METHODS:
                raise ValueError(f"rule {self.pattern}: unknown method {method!r}")
        object.__setattr__(self, "methods", methods)
        if self.key is not None:
            parse_key_spec(self.key)

    def applies_to(self, method: str) -> bool:
        # HEAD is served by GET routes, so a GET rule covers it.
        return not self.methods or method in self.methods or (
            method == "HEAD" and "GET" in self.methods)

    @property
    def scope(self) -> str:
        methods = ",".join(self.methods)
        return f"rule:{methods}:{self.pattern}" if methods else f"rule:{self.pattern}"


@dataclass(frozen=True, slots=True)
class RouteLimits:
    """What the limiter does for one request: the limits to decide, in which scope, by what key.

    No limits means nothing to check (``exempt`` says whether that was asked for). ``scope``
    is part of the storage key: routes with one scope share buckets. ``key`` None means the
    plugin's default key, ``headers`` None the plugin's header setting. ``source`` says where
    the answer came from, for logs.
    """

    limits: tuple[Limit, ...]
    scope: str
    exempt: bool = False
    key: str | None = None
    source: str = "default"
    headers: bool | None = None


class RuleSet:
    """Resolves a request's limits from the route's pattern, method and handler.

    ``default`` limits apply to routes no rule covers and to requests that matched no route
    (404/405, pattern None), so scanners are limited too. A handler's ``@limit``/``@exempt``
    wins over every rule, and a rule's limits replace the default ones. Results are cached
    per (pattern, method, mark) in an LRU of ``cache_size`` (routes are the app's, not the
    clients', so the bound is only a guard).
    """

    def __init__(self, default: Sequence[Limit | str] = (), rules: Iterable[RouteRule] = (),
                 *, cache_size: int = 4096) -> None:
        self.default = RouteLimits(parse_limits(default), "default", source="default")
        self.rules = tuple(rules)
        self._compiled: list[tuple[tuple[tuple[int, ...], int], Segments, RouteRule]] = []
        shapes: dict[tuple[Segments, bool], list[RouteRule]] = {}
        for rule in self.rules:
            if not isinstance(rule, RouteRule):
                raise TypeError(f"rules are RouteRule objects, got {type(rule).__name__}")
            segments = parse_pattern(rule.pattern)
            same = shapes.setdefault((segments, bool(rule.methods)), [])
            for other in same:
                if not rule.methods or set(rule.methods) & set(other.methods):
                    raise ValueError(f"rules {other.pattern} and {rule.pattern} cover the same "
                                     f"routes (and methods): merge them into one")
            same.append(rule)
            rank = (tuple(kind for kind, _ in segments), int(bool(rule.methods)))
            self._compiled.append((rank, segments, rule))
        # Most specific first, so the first rule that matches is the answer.
        self._compiled.sort(key=lambda item: item[0], reverse=True)
        self._lookup = functools.lru_cache(maxsize=cache_size)(self._resolve)

    def resolve(self, pattern: str | None, method: str, handler: Any = None) -> RouteLimits:
        """The limits for a request to the route ``pattern`` (None: no route matched)."""
        return self._lookup(pattern, method, mark_of(handler) if handler is not None else None)

    def rule_for(self, pattern: str, method: str) -> RouteRule | None:
        """The most specific rule covering ``pattern`` for ``method``, if any."""
        segments = parse_pattern(pattern)
        for _, rule_segments, rule in self._compiled:
            if rule.applies_to(method) and pattern_matches(rule_segments, segments):
                return rule
        return None

    def _resolve(self, pattern: str | None, method: str,
                 mark: HandlerMark | None) -> RouteLimits:
        if mark is not None and pattern is not None:
            return RouteLimits(mark.limits, f"route:{pattern}", mark.exempt, mark.key, "handler")
        if pattern is None:
            return self.default
        rule = self.rule_for(pattern, method)
        if rule is None:
            return self.default
        return RouteLimits(rule.limits, rule.scope, rule.exempt, rule.key,
                           f"rule {rule.pattern}", rule.headers)
