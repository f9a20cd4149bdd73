"""Fixtures for testing pyframe apps and plugins, registered through ``pytest11``.

Mark a test with the plugins to enable and their settings, or a config file's text::

    @pytest.mark.pyframe(plugins={"cors": {"allow_origins": ["https://a.example"]}})
    async def test_cors(pyframe_app, pyframe_client):
        pyframe_app.route("/")(lambda context: "ok")   # routes can be added before the client
        async with pyframe_client.get("/") as resp: ...

``pyframe_app`` is a fresh PyFrameApp with those plugins enabled; ``pyframe_client`` serves it
on a real socket at ``http://127.0.0.1:<free port>`` (needs pytest-asyncio).
``client = await pyframe_client_for(app)`` serves any other app (it is a coroutine function:
await it, do not ``async with`` it). Every client the fixtures started is stopped when the test
ends, which runs the app's shutdown: the plugins' stop hooks and ``on_shutdown`` functions.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from .app import PyFrameApp
from .testing import TestClient

try:
    import pytest_asyncio
except ImportError:  # the fixtures that need a loop say so when used
    pytest_asyncio = None


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "pyframe(plugins=None, config=None, debug=None): build `pyframe_app` with "
        "these plugins ({id: options}) and this config file text")


@pytest.fixture
def pyframe_app(request: pytest.FixtureRequest, tmp_path: Any) -> PyFrameApp:
    marker = request.node.get_closest_marker("pyframe")
    kwargs = marker.kwargs if marker else {}
    config_text = kwargs.get("config")
    config_path = None
    if config_text is not None:
        config_path = tmp_path / "pyframe.toml"
        config_path.write_text(config_text)
    app = PyFrameApp(config=str(config_path) if config_path else None, debug=kwargs.get("debug"))
    for plugin_id, options in (kwargs.get("plugins") or {}).items():
        app.plugins.enable(plugin_id, **(options or {}))
    return app


if pytest_asyncio is not None:

    @pytest_asyncio.fixture
    async def pyframe_client(pyframe_app: PyFrameApp) -> AsyncIterator[TestClient]:
        async with TestClient(pyframe_app) as client:
            yield client

    @pytest_asyncio.fixture
    async def pyframe_client_for() -> AsyncIterator[Callable[..., Any]]:
        clients: list[TestClient] = []

        async def start(app: PyFrameApp, **options: Any) -> TestClient:
            """``client = await pyframe_client_for(app)``: serve ``app`` until the test ends."""
            client = TestClient(app, **options)
            await client.__aenter__()
            clients.append(client)
            return client

        yield start
        for client in reversed(clients):
            await client.__aexit__(None, None, None)

else:

    @pytest.fixture
    def pyframe_client() -> None:
        pytest.skip("pyframe_client needs pytest-asyncio (in the plugin template's test "
                    "extra: pip install -e '.[test]')")

    @pytest.fixture
    def pyframe_client_for() -> None:
        pytest.skip("pyframe_client_for needs pytest-asyncio (in the plugin template's test "
                    "extra: pip install -e '.[test]')")
