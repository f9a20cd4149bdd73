"""The documented install paths, in fresh virtual environments: the umbrella with extras from a
local wheelhouse (never the unrelated `pyframe` on the public index), and `pyframe new-plugin`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]


def run(*args, cwd=None, check=True):
    result = subprocess.run([str(a) for a in args], capture_output=True, text=True, cwd=cwd,
                            check=False, env={**os.environ, "VIRTUAL_ENV": ""})
    if check and result.returncode != 0:
        raise AssertionError(f"{args} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result


@pytest.fixture(scope="module")
def wheelhouse(tmp_path_factory):
    out = tmp_path_factory.mktemp("wheelhouse")
    run("bash", ROOT / "scripts" / "build-wheelhouse.sh", out, cwd=ROOT)
    return out


def venv(path: Path) -> Path:
    run("uv", "venv", "--quiet", "--python", sys.executable, path)
    return path / "bin"


def test_umbrella_extras_install_exactly_their_plugins(wheelhouse, tmp_path):
    bin_dir = venv(tmp_path / "venv")
    run("uv", "pip", "install", "--quiet", "--python", bin_dir / "python", "--no-index",
        "--find-links", wheelhouse, "pyframe[cors,metrics]==0.1.0")
    listed = json.loads(run("uv", "pip", "list", "--python", bin_dir / "python",
                            "--format", "json").stdout)
    ours = sorted(p["name"] for p in listed if p["name"].startswith("pyframe"))
    assert ours == ["pyframe", "pyframe-core", "pyframe-cors", "pyframe-metrics"]
    plugins = json.loads(run(bin_dir / "pyframe", "plugins", "--json", cwd=tmp_path).stdout)
    assert [p["id"] for p in plugins] == ["cors", "metrics"]
    missing = run(bin_dir / "python", "-c", "from pyframe.middleware import CompressionMiddleware",
                  cwd=tmp_path, check=False)
    assert missing.returncode != 0
    assert "pip install 'pyframe[compression]'" in missing.stderr


def test_new_plugin_renders_a_working_distribution(wheelhouse, tmp_path):
    run(sys.executable, "-m", "pyframe", "new-plugin", "greeting", "--dir", tmp_path)
    project = tmp_path / "pyframe-greeting"
    assert (project / "pyproject.toml").is_file()
    bin_dir = venv(tmp_path / "venv")
    run("uv", "pip", "install", "--quiet", "--python", bin_dir / "python", "--find-links",
        wheelhouse, "pyframe-core==0.1.0", "-e", f"{project}[test]")
    tests = run(bin_dir / "python", "-m", "pytest", "-q", "-p", "no:cacheprovider", cwd=project)
    assert "2 passed" in tests.stdout
    plugins = json.loads(run(bin_dir / "pyframe", "plugins", "--json", cwd=tmp_path).stdout)
    assert plugins[0]["id"] == "greeting"
    assert "pyframe_add_middleware" in plugins[0]["hooks"]
