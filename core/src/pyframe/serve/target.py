"""Finding the app to serve: import ``module:attr`` (or ``path/file.py:attr``) from the working
directory, and tell where an app object was defined so another process can import it."""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..app import PyFrameApp

__all__ = ["TargetError", "importing_target", "resolve_target", "locate_app", "target_of"]

_importing = 0


class TargetError(Exception):
    """The ``module:attr`` target cannot be imported or is not a PyFrameApp."""


def importing_target() -> bool:
    """True while a target module is being imported (``app.run()`` then does nothing)."""
    return _importing > 0


def _import_module(name: str) -> Any:
    if name.endswith(".py") or os.sep in name:
        path = Path(name).resolve()
        if not path.is_file():
            raise TargetError(f"{name}: no such file")
        if str(path.parent) not in sys.path:
            sys.path.insert(0, str(path.parent))
        existing = sys.modules.get(path.stem)
        if existing is not None and getattr(existing, "__file__", None) == str(path):
            return existing
        spec = importlib.util.spec_from_file_location(path.stem, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[path.stem] = module
        try:
            spec.loader.exec_module(module)
        except BaseException:
            del sys.modules[path.stem]
            raise
        return module
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name is not None and name.startswith(exc.name):
            raise TargetError(f"cannot import {name!r}: {exc}. Run from the project directory "
                              "or check the module name") from exc
        raise


def resolve_target(target: str, *, config: str | None = None) -> PyFrameApp:
    """Import ``module:attr`` (or ``path/file.py:attr``; attr defaults to ``app``) relative to
    the working directory. ``attr`` is a PyFrameApp or a zero-argument factory returning one.
    ``config`` replaces the app's config file path."""
    from ..app import PyFrameApp

    global _importing
    if os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.insert(0, os.getcwd())
    module_name, _, attr = target.partition(":")
    if not module_name:
        raise TargetError(f"{target!r}: expected module:attr, e.g. myapp:app")
    attr = attr or "app"
    _importing += 1
    try:
        obj = _import_module(module_name)
        for part in attr.split("."):
            try:
                obj = getattr(obj, part)
            except AttributeError:
                raise TargetError(f"module {module_name!r} has no attribute {attr!r}") from None
        if not isinstance(obj, PyFrameApp) and callable(obj):
            obj = obj()
    finally:
        _importing -= 1
    if not isinstance(obj, PyFrameApp):
        raise TargetError(f"{target} is a {type(obj).__name__}, not a PyFrameApp or a factory "
                          "returning one")
    if config is not None:
        obj._config_path = config
        obj._loaded = None
    return obj


def locate_app(app: PyFrameApp) -> tuple[str, Any, str] | None:
    """The module that defines ``app`` and the global name bound to it.

    Several modules may hold the app (``from myapp import app``); the earliest imported one
    that is not ``__main__`` is the defining one (it starts importing before the others).
    """
    found = []
    main = sys.modules.get("__main__")
    for name, module in list(sys.modules.items()):
        namespace = getattr(module, "__dict__", None)
        if not namespace or not getattr(module, "__file__", None):
            continue
        if module is main:
            name = "__main__"  # also listed under aliases such as multiprocessing's __mp_main__
        for key, value in list(namespace.items()):
            if value is app:
                found.append((name, module, key))
                break
    for entry in found:
        if entry[0] != "__main__":
            return entry
    return found[0] if found else None


def target_of(app: PyFrameApp) -> str | None:
    """A ``module:attr`` string that imports ``app`` in another process, if there is one."""
    located = locate_app(app)
    if located is None:
        return None
    name, module, attr = located
    return f"{module.__file__}:{attr}" if name == "__main__" else f"{name}:{attr}"
