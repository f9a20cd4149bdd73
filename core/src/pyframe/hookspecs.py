"""``pyframe.hookspecs``: the documented import path of the hook specifications, which live in
:mod:`pyframe.plugin.specs`."""

from .plugin.specs import *  # noqa: F403
from .plugin.specs import __all__  # noqa: F401
