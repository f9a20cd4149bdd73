"""``pyframe new-plugin``: render the plugin template into a new distribution folder."""

from __future__ import annotations

import re
from pathlib import Path

__all__ = ["render_plugin", "TEMPLATE_DIR"]

TEMPLATE_DIR = Path(__file__).parents[1] / "templates" / "plugin"
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


def render_plugin(name: str, directory: str | Path = ".") -> Path:
    """Create ``<directory>/pyframe-<name>`` from the template; returns its path."""
    if not _NAME.match(name):
        raise SystemExit(f"error: a plugin id is lower-case letters, digits and underscores, "
                         f"starting with a letter; got {name!r}")
    target = Path(directory) / f"pyframe-{name.replace('_', '-')}"
    if target.exists():
        raise SystemExit(f"error: {target} already exists")
    values = {
        "name": name,
        "module": f"pyframe_{name}",
        "class_name": "".join(part.capitalize() for part in name.split("_")) + "Plugin",
        "title": "-".join(part.capitalize() for part in name.split("_")),
    }
    for source in sorted(TEMPLATE_DIR.rglob("*.tmpl")):
        relative = source.relative_to(TEMPLATE_DIR).with_suffix("")
        relative = Path(str(relative).replace("__module__", values["module"]))
        text = source.read_text(encoding="utf-8")
        for key, value in values.items():
            text = text.replace("{{" + key + "}}", value)
        destination = target / relative
        destination.parent.mkdir(parents=True, exist_ok=True)
        destination.write_text(text, encoding="utf-8")
    return target
