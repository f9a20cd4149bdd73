"""``from pyframe.routing import Route``: the documented import path of routes, which live in
:mod:`pyframe.request.routing`."""

from .request.routing import HTTP_METHODS, WEBSOCKET, Route, Router

__all__ = ["Route", "Router", "HTTP_METHODS", "WEBSOCKET"]
