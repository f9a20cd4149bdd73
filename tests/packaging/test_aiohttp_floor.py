"""The declared aiohttp range is true at its low end: the suite passes on the lowest aiohttp
core/pyproject.toml allows (the lock file holds the newest, which every other run uses).

It runs in CI (``CI=true``) or with ``PYFRAME_TEST_AIOHTTP_FLOOR=1``; elsewhere it is skipped,
since it runs the whole suite a second time.
"""

from __future__ import annotations

import os
import re
import subprocess
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
INNER = "PYFRAME_AIOHTTP_FLOOR_RUN"


def declared_floor() -> str:
    project = tomllib.loads((ROOT / "core" / "pyproject.toml").read_text())["project"]
    (spec,) = [d for d in project["dependencies"] if d.startswith("aiohttp")]
    match = re.fullmatch(r"aiohttp>=([0-9.]+),<4", spec)
    assert match, f"expected aiohttp>=X,<4 in core/pyproject.toml, got {spec!r}"
    return match.group(1)


@pytest.mark.skipif(os.environ.get(INNER) == "1", reason="this is the floor run itself")
@pytest.mark.skipif(os.environ.get("CI") != "true"
                    and os.environ.get("PYFRAME_TEST_AIOHTTP_FLOOR") != "1",
                    reason="runs the suite again on the lowest aiohttp: in CI, or with "
                           "PYFRAME_TEST_AIOHTTP_FLOOR=1")
@pytest.mark.timeout(900)
def test_the_suite_passes_on_the_lowest_declared_aiohttp():
    floor = declared_floor()
    env = {**os.environ, INNER: "1", "VIRTUAL_ENV": ""}
    base = ["uv", "run", "--locked", "--all-packages", "--with", f"aiohttp=={floor}"]
    version = subprocess.run([*base, "python", "-c", "import aiohttp; print(aiohttp.__version__)"],
                             cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    assert version.stdout.strip() == floor, version.stderr[-2000:]
    run = subprocess.run([*base, "pytest", "-q", "-p", "no:cacheprovider", "-x",
                          "--ignore", str(ROOT / "tests" / "packaging")],
                         cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    tail = "\n".join(run.stdout.splitlines()[-40:])
    assert run.returncode == 0, f"the suite fails on aiohttp {floor}:\n{tail}\n{run.stderr[-2000:]}"
    assert re.search(r"\d+ passed", tail), tail
