"""Serving one app: the documented import path ``pyframe.serving`` for names that live in
:mod:`pyframe.serve` (the server, TLS, gunicorn) and :mod:`pyframe.request.streams`."""

from .http.access import AccessLogger
from .request.streams import draining, until_draining
from .serve.gunicorn import PyFrameRunner, gunicorn_app
from .serve.lifecycle import run_loop
from .serve.process import AppServer, serve
from .serve.run import run_app
from .serve.tls import tls_context

__all__ = ["AppServer", "serve", "run_app", "run_loop", "draining", "until_draining",
           "tls_context", "gunicorn_app", "PyFrameRunner", "AccessLogger"]
