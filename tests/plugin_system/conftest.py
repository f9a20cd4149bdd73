from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest

from pyframe.plugin import discovery as plugins_module
from pyframe.plugin import exports as _exports


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    """An empty working directory, as a user's project folder."""
    monkeypatch.chdir(tmp_path)
    for name in ("PYFRAME_CONFIG", "PYFRAME_DISABLE_PLUGIN_AUTOLOAD", "PYFRAME_BLOCK_PLUGINS"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


@pytest.fixture
def fake_distribution(tmp_path, monkeypatch):
    """Install a distribution by writing its metadata on sys.path, the way pip leaves it."""
    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.syspath_prepend(str(site))

    def install(name: str, entry_points: str, modules: dict[str, str] | None = None) -> None:
        info = site / f"{name.replace('-', '_')}-1.0.dist-info"
        write(info / "METADATA", f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
        write(info / "entry_points.txt", entry_points)
        for module, source in (modules or {}).items():
            write(site / f"{module}.py", source)
        plugins_module._scan.cache_clear()
        _exports._exports.cache_clear()

    yield install
    plugins_module._scan.cache_clear()
    _exports._exports.cache_clear()
    for module in list(sys.modules):
        if module.startswith("fake_plugin"):
            del sys.modules[module]
