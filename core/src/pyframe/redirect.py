"""``from pyframe.redirect import RedirectServer``: the documented import path of the redirect
server, which lives in :mod:`pyframe.serve.redirect`."""

from .serve.redirect import REDIRECT_STATUSES, RedirectServer

__all__ = ["RedirectServer", "REDIRECT_STATUSES"]
