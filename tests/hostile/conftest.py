"""Fixtures of the hostile-input battery: an app with the routes attacks aim at, served for real.

Each test builds its app from config text, so limits can be made small enough to hit quickly.
No stray ``pyframe.toml`` or ``PYFRAME_*`` variable from the environment leaks in.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from pyframe import PyFrameApp

from .processes import ServerProcess, served_project


@pytest.fixture(autouse=True)
def _isolated_always(isolated: Path) -> None:
    """Every hostile test runs isolated (tests/conftest.py's ``isolated``)."""


def add_routes(app: PyFrameApp) -> PyFrameApp:
    """The routes most cases aim at: a plain answer, body readers and decoders."""

    @app.get("/")
    async def index(context):
        return "ok"

    @app.post("/echo")
    async def echo(context):
        return {"size": len(context.raw_body)}

    @app.post("/json")
    async def json_body(context):
        return {"json": context.json}

    @app.post("/data")
    async def data_body(context):
        return {"type": type(context.data).__name__}

    @app.post("/form")
    async def form_body(context):
        return {"keys": sorted(context.form),
                "sizes": {key: len(value) for key, value in context.form.items()}}

    return app


@pytest.fixture
def make_app(tmp_path: Path) -> Callable[..., PyFrameApp]:
    """``make_app("[server]\\nbody_timeout = 0.5\\n")``: a fresh app with that config file."""
    count = 0

    def build(config: str = "", *, debug: bool | None = None) -> PyFrameApp:
        nonlocal count
        count += 1
        path = tmp_path / f"pyframe-{count}.toml"
        path.write_text(config)
        return add_routes(PyFrameApp(config=str(path), debug=debug))

    return build


@pytest.fixture
def spawn(tmp_path: Path) -> Iterator[Callable[..., ServerProcess]]:
    """``spawn(config, *run_args, env=...)``: ``pyframe run served_app:app`` in a child
    process, killed (with any workers) when the test ends."""
    started: list[ServerProcess] = []

    def start(config: str = "", *args: str, env: dict[str, str] | None = None,
              app_module: str = "served_app") -> ServerProcess:
        project = tmp_path / f"project-{len(started)}"
        project.mkdir()
        served_project(project, config, app_module)
        server = ServerProcess.start(project, f"{app_module}:app", *args, env=env)
        started.append(server)
        return server

    yield start
    for server in started:
        server.close()
