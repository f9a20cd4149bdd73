"""The example third-party plugin, installed in this environment, found through discovery."""

import subprocess
import sys

from pyframe import PyFrameApp
from pyframe.testing import TestClient

from .conftest import write


async def test_enabled_by_config_it_adds_route_header_and_body_parser(workdir):
    write(workdir / "pyframe.toml", """
        [plugins.hello]
        greeting = "Howdy"
    """)
    app = PyFrameApp()
    app.post("/rows")(lambda context: {"rows": context.data})
    async with TestClient(app) as client:
        async with client.get("/hello/ada") as resp:
            assert await resp.json() == {"message": "Howdy, ada!"}
            assert resp.headers["X-Hello"] == "Howdy"
        async with client.post("/rows", data=b"a,b\r\n1,2\r\n",
                               headers={"Content-Type": "text/csv"}) as resp:
            assert await resp.json() == {"rows": [["a", "b"], ["1", "2"]]}
    assert [p.id for p in app.plugins.enabled] == ["hello"]
    assert app.plugins.get("hello").config.greeting == "Howdy"


async def test_installed_is_not_enabled(workdir):
    app = PyFrameApp()
    async with TestClient(app) as client, client.get("/hello/ada") as resp:
        assert resp.status == 404
        assert "X-Hello" not in resp.headers
    assert app.plugins.enabled == []


async def test_enabled_false_turns_it_off(workdir):
    write(workdir / "pyframe.toml", """
        [plugins.hello]
        enabled = false
        greeting = "Howdy"
    """)
    app = PyFrameApp()
    async with TestClient(app) as client, client.get("/hello/ada") as resp:
        assert resp.status == 404


async def test_enabled_in_code_and_config_file_wins(workdir):
    write(workdir / "pyproject.toml", """
        [tool.pyframe.plugins.hello]
        greeting = "From file"
    """)
    app = PyFrameApp()
    app.plugins.enable("hello", greeting="From code")
    async with TestClient(app) as client, client.get("/hello/x") as resp:
        assert (await resp.json())["message"] == "From file, x!"


def test_its_cli_subcommand_runs(workdir):
    result = subprocess.run([sys.executable, "-m", "pyframe", "hello", "World"],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "Hello, World!"
