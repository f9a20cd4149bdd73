"""The documented install paths, in fresh virtual environments: the umbrella with extras from a
local wheelhouse (never the unrelated `pyframe` on the public index), and the fresh-clone trial
of the README: its "Installing" commands with `--no-index`, then `pyframe new-plugin` and the
next line it prints."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import tomllib
from pathlib import Path

import jsonschema
import pytest

ROOT = Path(__file__).parents[2]
BUILD = "scripts/build-wheelhouse.sh wheelhouse"


def run(*args, cwd=None, check=True):
    result = subprocess.run([str(a) for a in args], capture_output=True, text=True, cwd=cwd,
                            check=False, env={**os.environ, "VIRTUAL_ENV": ""})
    if check and result.returncode != 0:
        raise AssertionError(f"{args} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result


@pytest.fixture(scope="module")
def wheelhouse(tmp_path_factory):
    out = tmp_path_factory.mktemp("wheelhouse")
    # The README's command, with the folder in a temporary place.
    script, _ = BUILD.split()
    run("bash", ROOT / script, out, cwd=ROOT)
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
    assert "--no-index --find-links <wheelhouse> 'pyframe[compression]'" in missing.stderr


def readme() -> str:
    return (ROOT / "README.md").read_text()


def installing_commands() -> list[str]:
    """The indented command block of the README's "Installing" section."""
    section = readme().split("\n## Installing\n", 1)[1].split("\n## ", 1)[0]
    return [line[4:] for line in section.splitlines() if line.startswith("    ")]


def test_a_new_user_following_the_readme(wheelhouse, tmp_path):
    commands = installing_commands()
    assert commands[0] == BUILD  # the wheelhouse fixture ran exactly this
    home = tmp_path / "home"
    home.mkdir()
    (home / "wheelhouse").symlink_to(wheelhouse)
    toml = readme().split("```toml\n", 1)[1].split("```", 1)[0]
    (home / "pyframe.toml").write_text(toml)
    trial = "\n".join([
        "set -euo pipefail",
        *commands[1:],
        "pyframe --version > version.txt",
        "pyframe config schema > pyframe.schema.json",
        "pyframe plugins --json > plugins.json",
        "python -c 'from pyframe.websockets import WebSocketManager' 2> ws.txt || true",
        "mv pyframe.toml app.toml",  # the plugin's tests bring their own config
        "pyframe new-plugin greeting > new-plugin.txt",
        'eval "$(sed -n "s/^next: //p" new-plugin.txt)" > plugin-tests.txt',
        "mv app.toml pyframe.toml",
        "pyframe plugins --json > plugins-after.json",
    ])
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PYFRAME_", "PIP_", "UV_")) and k != "VIRTUAL_ENV"}
    result = subprocess.run(["bash", "-c", trial], capture_output=True, text=True, cwd=home,
                            env={**env, "HOME": str(home)}, timeout=540, check=False)
    assert result.returncode == 0, f"{result.stdout}\n{result.stderr}"
    assert "--no-index" in " ".join(commands[1:])

    version = (home / "version.txt").read_text().splitlines()
    assert version[0].startswith("pyframe-core 0.1.0 on Python")
    assert {line.split()[0] for line in version[2:]} == {"compression", "cors"}
    # The README's example config is valid for what its install line installed.
    enabled = {p["id"]: p["enabled"] for p in json.loads((home / "plugins.json").read_text())}
    assert enabled == {"compression": True, "cors": True}
    schema = json.loads((home / "pyframe.schema.json").read_text())
    jsonschema.Draft202012Validator(schema).validate(tomllib.loads(toml))
    # A seed name whose plugin is not installed names its extra and the wheelhouse.
    ws = (home / "ws.txt").read_text()
    assert "--no-index --find-links <wheelhouse> 'pyframe[ws]'" in ws
    # `new-plugin`'s next line, run as printed, installs the test extra and passes.
    next_line = (home / "new-plugin.txt").read_text().splitlines()[1]
    assert shlex.split(next_line)[1:8] == ["python", "-m", "pip", "install", "--no-index",
                                           "--find-links", str(home / "wheelhouse")]
    assert "2 passed" in (home / "plugin-tests.txt").read_text()
    after = {p["id"]: p for p in json.loads((home / "plugins-after.json").read_text())}
    assert "pyframe_add_middleware" in after["greeting"]["hooks"]
    assert after["greeting"]["enabled"] is False  # installed is not enabled
