"""``@limit("5/minute")`` and ``@exempt``: per-handler limits, marked on the handler function.

The decorators return the same function with an attribute set, so they work above or below
the route decorator and survive ``functools.wraps``. Pure: no pyframe import.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from .keys import parse_key_spec
from .limits import Limit, check_names, parse_limits

__all__ = ["limit", "exempt", "HandlerMark", "mark_of", "MARK"]

MARK = "__pyframe_ratelimit__"
F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True, slots=True)
class HandlerMark:
    """What the decorators said about a handler: its limits (and key), or that it is exempt."""

    limits: tuple[Limit, ...] = ()
    exempt: bool = False
    key: str | None = None


def mark_of(handler: Any) -> HandlerMark | None:
    mark = getattr(handler, MARK, None)
    return mark if isinstance(mark, HandlerMark) else None


def _set(handler: Any, mark: HandlerMark) -> None:
    try:
        setattr(handler, MARK, mark)
    except (AttributeError, TypeError):
        raise TypeError(f"cannot mark {handler!r}: decorate a function or a class "
                        f"instance that takes attributes") from None


def limit(*limits: str | Limit, key: str | None = None) -> Callable[[F], F]:
    """Limit a handler: ``@limit("10/second", "1000/hour")``, decided together.

    ``key`` picks whose bucket it spends ('ip', 'user' or 'header:<Name>'); by default the
    plugin's. Stacked ``@limit`` decorators add up; a limit string that does not parse
    raises at import time, not on the first request.
    """
    if not limits:
        raise TypeError("@limit needs at least one limit, e.g. @limit('5/minute')")
    if callable(limits[0]) and not isinstance(limits[0], str | Limit):
        raise TypeError("write @limit('5/minute'), with a limit; for no limit use @exempt")
    parsed = parse_limits(limits)
    if key is not None:
        parse_key_spec(key)

    def mark(handler: F) -> F:
        old = mark_of(handler)
        if old is not None and old.exempt:
            raise ValueError(f"{_name(handler)} is marked @exempt and @limit: pick one")
        combined = (old.limits if old else ()) + parsed
        check_names(combined)
        if old is not None and old.key is not None and key is not None and old.key != key:
            raise ValueError(f"{_name(handler)}: stacked @limit decorators name two keys, "
                             f"{old.key!r} and {key!r}")
        _set(handler, HandlerMark(combined, False, key if key is not None else
                                  (old.key if old else None)))
        return handler

    return mark


def exempt(handler: F) -> F:
    """Never limit this handler (health checks, the metrics endpoint)."""
    old = mark_of(handler)
    if old is not None and not old.exempt:
        raise ValueError(f"{_name(handler)} is marked @limit and @exempt: pick one")
    _set(handler, HandlerMark(exempt=True))
    return handler


def _name(handler: Any) -> str:
    return getattr(handler, "__qualname__", None) or repr(handler)
