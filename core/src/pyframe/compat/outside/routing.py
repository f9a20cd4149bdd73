"""outside's route matching: a request goes to the longest route its path starts with, so an
exact match always wins over a shorter prefix. Pure: no pyframe import."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["PrefixRoutes"]


class PrefixRoutes:
    """Matching over a ``{route: handler}`` dict that changes while requests are served.

    The routes, longest first, are a tuple swapped in whole on every change, so a request
    running on another thread always sees one consistent table (the old or the new).
    """

    def __init__(self, routes: Mapping[str, Callable[..., Any]]) -> None:
        self.routes = routes
        self._order: tuple[str, ...] = ()
        self.refresh()

    def refresh(self) -> None:
        """Call after the dict changed."""
        # Longest first; equal lengths in a fixed order so matching never depends on history.
        self._order = tuple(sorted(self.routes, key=lambda route: (-len(route), route)))

    def match(self, path: str) -> Callable[..., Any] | None:
        """The handler of the longest route ``path`` starts with, or None."""
        routes = self.routes
        for route in self._order:
            if path.startswith(route):
                handler = routes.get(route)
                if handler is not None:  # None if the dict lost it since the last refresh
                    return handler
        return None
