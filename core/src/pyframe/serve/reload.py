"""Hot reload: build a fresh app from the code on disk, in this process, without running the
script that started it again.

This is pyframe's one reload mechanism, used by ``SimpleDevServer`` (on save and by
``restart()``) and by ``pyframe run --reload``. What a reload re-imports: the app's own module,
every module of the project (files under the app's folder, not installed packages) whose file
changed since it was loaded, and the project modules that import those, directly or through
others. Everything else stays as it is: the process, the listening socket, installed packages,
pyframe, the script run as ``__main__``, and unchanged helper modules with the state they hold.
An app defined in ``__main__`` (the script itself) is never re-imported: its server restarts it
in place instead (config re-read, start-up hooks run again).
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import os
import sys
import sysconfig
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .target import locate_app

if TYPE_CHECKING:
    from ..app import PyFrameApp

__all__ = ["Reloader", "reload_unavailable"]

# Modules that are never re-imported: the interpreter's, installed packages', pyframe's.
_FIXED_ROOTS = tuple({os.path.realpath(p) + os.sep for p in
                      (sysconfig.get_paths()["stdlib"], sysconfig.get_paths()["purelib"],
                       sysconfig.get_paths()["platlib"], sys.prefix, sys.base_prefix)})


def reload_unavailable(app: PyFrameApp) -> str | None:
    """Why ``app`` cannot be reloaded from its source, or None when it can."""
    located = locate_app(app)
    if located is None:
        return "the app is not a module-level name in a source file"
    if located[0] == "__main__":
        return (f"the app is defined in the script being run ({located[1].__file__}); "
                "a reload would run it again. Serve it with `pyframe run "
                f"{Path(located[1].__file__).name}:{located[2]} --reload`, or move the app to "
                "a module the script imports")
    return None


class Reloader:
    """Re-imports what changed under the app's folder and returns the new app.

    ``changed()`` lists the project modules whose files changed since the last load;
    ``load()`` imports fresh copies of those, of the modules that import them and of the app's
    own module, and returns the app it then finds there. On any failure the previous modules
    are put back, so the running app keeps working.
    """

    def __init__(self, app: PyFrameApp) -> None:
        located = locate_app(app)
        if located is None:
            raise RuntimeError("the app is not a module-level name: it cannot be reloaded")
        name, module, attr = located
        self.module_name = name
        self.attr = attr
        self.path = Path(module.__file__).resolve()
        self.root = self.path.parent
        self.in_script = name == "__main__"
        self._stats: dict[str, tuple[int, int]] = {}
        self._imports: dict[str, tuple[tuple[int, int], set[str]]] = {}
        self.remember()

    # What is loaded now, and what changed since.
    def _project(self) -> dict[str, Path]:
        prefix = str(self.root) + os.sep
        found = {}
        for name, module in list(sys.modules.items()):
            if name == "__main__" or name.split(".")[0].startswith("pyframe"):
                continue
            path = getattr(module, "__file__", None)
            if not path:
                continue
            real = os.path.realpath(path)
            if real.startswith(prefix) and not real.startswith(_FIXED_ROOTS):
                found[name] = Path(real)
        return found

    def remember(self) -> None:
        """Take the files as they are now as the loaded state."""
        self._stats = {name: _stat(path) for name, path in self._project().items()}
        self._stats[self.module_name] = _stat(self.path)

    def changed(self) -> set[str]:
        """Modules whose file changed (or went away) since the last load."""
        current = self._project()
        current[self.module_name] = self.path
        return {name for name, stat in self._stats.items()
                if name not in current or _stat(current[name]) != stat}

    def script_changed(self) -> bool:
        """Whether the script run as ``__main__`` that defines the app has changed on disk."""
        return self.in_script and self._stats.get(self.module_name) != _stat(self.path)

    # Loading.
    def load(self) -> PyFrameApp:
        from ..app import PyFrameApp

        if self.in_script:
            raise RuntimeError(reload_unavailable_script(self.path, self.attr))
        project = self._project()
        dirty = self.changed() | {self.module_name}
        stale = self._dependents(dirty, project)
        before = set(sys.modules)
        previous = {n: sys.modules[n] for n in stale if n in sys.modules}
        for name, module in previous.items():
            del sys.modules[name]
            _drop_bytecode(getattr(module, "__cached__", None))
        _drop_bytecode(importlib.util.cache_from_source(str(self.path)))
        importlib.invalidate_caches()
        try:
            module = importlib.import_module(self.module_name)
            obj: Any = module
            for part in self.attr.split("."):
                obj = getattr(obj, part)
            if not isinstance(obj, PyFrameApp) and callable(obj):
                obj = obj()
            if not isinstance(obj, PyFrameApp):
                raise TypeError(f"{self.module_name}.{self.attr} is a {type(obj).__name__}, "
                                "not a PyFrameApp")
        except BaseException:
            # Put the last good modules back: the running app still imports from them.
            fresh = self._project()
            for name in list(sys.modules):
                if name in stale or (name not in before and name in fresh):
                    del sys.modules[name]
            sys.modules.update(previous)
            raise
        self.remember()
        return obj

    def _dependents(self, dirty: set[str], project: dict[str, Path]) -> set[str]:
        """``dirty`` and every project module that imports one of them, transitively."""
        importers: dict[str, set[str]] = {}
        for name, path in project.items():
            for imported in self._imports_of(name, path):
                importers.setdefault(imported, set()).add(name)
        stale, todo = set(), list(dirty)
        while todo:
            name = todo.pop()
            if name in stale:
                continue
            stale.add(name)
            todo.extend(importers.get(name, ()))
            # A package's submodules go with it: `from pkg import sub` binds the old one.
            todo.extend(n for n in project if n.startswith(name + "."))
        return stale

    def _imports_of(self, name: str, path: Path) -> set[str]:
        stat = _stat(path)
        cached = self._imports.get(name)
        if cached is not None and cached[0] == stat:
            return cached[1]
        found: set[str] = set()
        try:
            tree = ast.parse(path.read_bytes(), str(path))
        except (OSError, SyntaxError, ValueError):
            tree = None
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(tree) if tree is not None else ():
            if isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parts = package.split(".") if package else []
                    parts = parts[:len(parts) - node.level + 1] if node.level > 1 else parts
                    base = ".".join([*parts, base] if base else parts)
                if base:
                    found.add(base)
                    found.update(f"{base}.{alias.name}" for alias in node.names)
        self._imports[name] = (stat, found)
        return found


def reload_unavailable_script(path: Path, attr: str) -> str:
    return (f"the app is defined in the script being run ({path}); a reload would run it "
            f"again. Serve it with `pyframe run {path.name}:{attr} --reload`, or move the app "
            "to a module the script imports")


def _stat(path: Path) -> tuple[int, int]:
    try:
        st = os.stat(path)
    except OSError:
        return (0, -1)
    return (st.st_mtime_ns, st.st_size)


def _drop_bytecode(cached: str | None) -> None:
    # Python trusts a .pyc whose recorded source mtime (whole seconds) and size match, so an
    # edit within the same second that keeps the size would load the old code.
    if cached:
        try:
            os.unlink(cached)
        except OSError:
            pass
