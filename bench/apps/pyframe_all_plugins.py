"""pyframe with every plugin of this variant that is installed and importable enabled.

cors (no Origin is sent: the pass-through path), compression (responses stay under its
minimum size), static (mounted, never requested) and metrics. The plugins are young: a plugin
that is missing, fails to import or refuses the options below is left out, and the app prints
what it enabled to stderr so the harness can report it.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from pyframe import ConfigError, PluginError, PyFrameApp
from pyframe.plugin.discovery import installed_plugins

from _pyframe_common import build_app, serve

# Options first tried for each plugin; when a plugin's schema refuses them, its defaults.
WANTED: dict[str, dict[str, Any]] = {
    "cors": {"allow_origins": ["https://example.com"]},
    "compression": {"minimum_size": 1024},
    "static": {},
    "metrics": {},
}
STATIC_DIR = Path(__file__).resolve().parent


def _accepts(pid: str, options: dict[str, Any]) -> bool:
    """Whether an app with just this plugin builds (the plugin imports and takes the options)."""
    probe = PyFrameApp(name="probe")
    if pid == "static":
        probe.add_static_path("/static", str(STATIC_DIR))
    else:
        probe.plugins.enable(pid, **options)
    try:
        probe.build()
    except (ConfigError, PluginError, ImportError, TypeError, ValueError) as exc:
        print(f"all_plugins: {pid} with {options or 'defaults'}: {exc}", file=sys.stderr)
        return False
    return True


def enable_plugins(app: PyFrameApp, only: tuple[str, ...] | None = None) -> list[str]:
    """Enable the WANTED plugins (or just those named in ``only``); returns what was enabled."""
    installed = installed_plugins()
    enabled = []
    for pid, options in WANTED.items():
        if only is not None and pid not in only:
            continue
        if pid not in installed:
            print(f"all_plugins: {pid} is not installed; skipped", file=sys.stderr)
            continue
        chosen = next((o for o in (options, {}) if _accepts(pid, o)), None)
        if chosen is None:
            print(f"all_plugins: {pid} does not build; skipped", file=sys.stderr)
            continue
        if pid == "static":
            app.add_static_path("/static", str(STATIC_DIR))
        else:
            app.plugins.enable(pid, **chosen)
        enabled.append(f"{pid}({', '.join(f'{k}={v!r}' for k, v in chosen.items()) or 'defaults'})")
    return enabled


if __name__ == "__main__":
    os.environ.setdefault("PYFRAME_LOGGING__ACCESS_LOG", "false")
    app = build_app()
    enabled = enable_plugins(app)
    # The harness reads this line to report which plugins the variant ran with.
    print(f"PLUGINS_ENABLED: {' '.join(enabled) or '(none)'}", file=sys.stderr, flush=True)
    serve(app, __doc__)
