"""SimpleDevServer: serving, status, debug pages, static files, and hot reload on save."""

from __future__ import annotations

import asyncio
import sys

import aiohttp
import pytest

from pyframe import PyFrameApp
from pyframe.server import SimpleDevServer

from .support import wait_until, write_module

APP_SOURCE = """
from pyframe import PyFrameApp

app = PyFrameApp()


@app.get("/")
async def index(context):
    return "version 1"


@app.get("/boom")
async def boom(context):
    raise RuntimeError("kaboom")
"""


@pytest.fixture
def app_module(tmp_path, monkeypatch, request):
    """A module on disk defining ``app``, imported the usual way; forgotten afterwards."""
    name = f"devapp_{request.node.name.replace('[', '_').replace(']', '_')}"
    path = write_module(tmp_path, name, APP_SOURCE)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.chdir(tmp_path)
    module = __import__(name)
    yield module, path
    sys.modules.pop(name, None)


async def get(url: str, **headers: str) -> tuple[int, str, str]:
    async with aiohttp.ClientSession() as session, session.get(url, headers=headers) as resp:
        return resp.status, resp.content_type, await resp.text()


def test_documented_defaults():
    server = SimpleDevServer(PyFrameApp())
    assert (server.host, server.requested_port, server.hot_reload, server.debug,
            server.static_path) == ("localhost", 3000, True, True, "static")


async def test_start_status_stop(app_module):
    module, _ = app_module
    server = SimpleDevServer(module.app, host="127.0.0.1", port=0, hot_reload=False)
    await server.start()
    try:
        assert module.app.debug is True  # debug=True is the dev server's default
        url = f"http://127.0.0.1:{server.port}"
        assert await get(url + "/") == (200, "text/plain", "version 1")
        assert (await get(url + "/boom"))[0] == 500
        status = server.get_status()
        assert status["url"] == url and status["running"] is True
        assert status["requests"] == 2 and status["errors"] == 1
        assert status["pid"] > 0 and status["workers"] == 1 and status["uptime"] >= 0
        assert status["last_reload"] is None and status["hot_reload"] is False
        assert "active_connections" in status
    finally:
        await server.stop()
    assert server.get_status()["running"] is False
    with pytest.raises(OSError):
        await asyncio.open_connection("127.0.0.1", int(url.rsplit(":", 1)[1]))


async def test_debug_pages_for_browsers_and_api_clients(app_module):
    module, _ = app_module
    server = SimpleDevServer(module.app, host="127.0.0.1", port=0, hot_reload=False)
    await server.start()
    try:
        url = f"http://127.0.0.1:{server.port}/boom"
        status, kind, page = await get(url, Accept="text/html,application/xhtml+xml,*/*;q=0.8")
        assert (status, kind) == (500, "text/html")
        assert "RuntimeError: kaboom" in page and "Traceback" in page
        status, kind, body = await get(url, Accept="application/json")
        assert (status, kind) == (500, "application/json")
        assert '"exception":"RuntimeError"' in body and '"traceback"' in body
    finally:
        await server.stop()


async def test_production_mode_shows_no_traceback(app_module):
    module, _ = app_module
    server = SimpleDevServer(module.app, host="127.0.0.1", port=0, hot_reload=False,
                             debug=False)
    await server.start()
    try:
        status, _, body = await get(f"http://127.0.0.1:{server.port}/boom", Accept="text/html")
        assert (status, body) == (500, '{"error":"Internal Server Error"}')
    finally:
        await server.stop()


async def test_static_folder_is_mounted_and_served(app_module, tmp_path):
    module, _ = app_module
    (tmp_path / "assets").mkdir()
    (tmp_path / "assets" / "hello.txt").write_text("static hello")
    server = SimpleDevServer(module.app, host="127.0.0.1", port=0, hot_reload=False,
                             static_path="assets")
    await server.start()
    try:
        assert [m.url_path for m in module.app.static_paths] == ["/static/"]
        assert "static" in [p.id for p in module.app.plugins.enabled]
        status, _, body = await get(f"http://127.0.0.1:{server.port}/static/hello.txt")
        assert (status, body) == (200, "static hello")
    finally:
        await server.stop()


def test_static_plugin_missing(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "static").mkdir()
    monkeypatch.setattr("pyframe.serve.dev.installed_plugins", lambda: {})
    with pytest.raises(ImportError, match=r"--find-links <wheelhouse> 'pyframe\[static\]'"):
        SimpleDevServer(PyFrameApp(), static_path="static")
    # The default folder is optional: a warning, and the app is served without it.
    server = SimpleDevServer(PyFrameApp())
    assert server._static is None


async def test_edit_reloads_with_no_refused_connection(app_module):
    module, path = app_module
    server = SimpleDevServer(module.app, host="127.0.0.1", port=0, debug=False)
    await server.start()
    url = f"http://127.0.0.1:{server.port}/"
    answers: list[tuple[int, str]] = []
    failures: list[BaseException] = []
    stop = asyncio.Event()

    async def poll() -> None:
        # A new connection per request: a moment without a listening socket would show up
        # as a refused connection here.
        connector = aiohttp.TCPConnector(force_close=True)
        async with aiohttp.ClientSession(connector=connector) as session:
            while not stop.is_set():
                try:
                    async with session.get(url) as resp:
                        answers.append((resp.status, await resp.text()))
                except aiohttp.ClientError as exc:
                    failures.append(exc)

    poller = asyncio.ensure_future(poll())
    try:
        await wait_until(lambda: answers, what="a first answer")
        path.write_text(APP_SOURCE.replace("version 1", "version 2"))
        await wait_until(lambda: answers[-1] == (200, "version 2"), what="the new code")
        stop.set()
        await poller
        assert failures == []
        assert set(answers) == {(200, "version 1"), (200, "version 2")}
        status = server.get_status()
        assert status["reloads"] >= 1 and status["last_reload"]["ok"] is True

        # A syntax error: the last good app keeps serving and the failure is reported.
        path.write_text(APP_SOURCE.replace("version 1", "version 3")
                        .replace("async def index(context):", "async def index(context)"))
        await wait_until(lambda: server.get_status()["last_reload"]["ok"] is False,
                         what="the failed reload")
        assert server.get_status()["last_reload"]["error"].startswith("SyntaxError")
        assert await get(url) == (200, "text/plain", "version 2")

        # In debug mode requests show what broke, for browsers and for API clients.
        server.debug = True
        status, kind, page = await get(url, Accept="text/html")
        assert (status, kind) == (500, "text/html")
        assert "Reload failed" in page and "SyntaxError" in page and path.name in page
        status, kind, body = await get(url, Accept="application/json")
        assert (status, kind) == (500, "application/json") and '"SyntaxError"' in body

        # Fixing the file recovers.
        path.write_text(APP_SOURCE.replace("version 1", "version 4"))
        await wait_until(lambda: server.get_status()["last_reload"]["ok"] is True,
                         what="the fixed reload")
        assert await get(url) == (200, "text/plain", "version 4")
        assert server.app is not module.app and server.app.debug is True
    finally:
        stop.set()
        await poller
        await server.stop()
    assert not module.app.started  # the replaced app was shut down


async def test_restart_swaps_in_current_code(app_module):
    module, path = app_module
    server = SimpleDevServer(module.app, host="127.0.0.1", port=0, hot_reload=False)
    await server.start()
    try:
        path.write_text(APP_SOURCE.replace("version 1", "restarted"))
        assert await server.restart() is True
        assert await get(f"http://127.0.0.1:{server.port}/") == (200, "text/plain", "restarted")
    finally:
        await server.stop()


async def test_import_target_string_and_serve_forever(app_module):
    module, _ = app_module
    server = SimpleDevServer(f"{module.__name__}:app", host="127.0.0.1", port=0,
                             hot_reload=False)
    assert server.app is module.app
    serving = asyncio.ensure_future(server.serve_forever())
    await wait_until(lambda: server.get_status()["running"], what="listening")
    assert (await get(f"http://127.0.0.1:{server.port}/"))[2] == "version 1"
    await server.stop()
    await asyncio.wait_for(serving, 10)


async def test_a_change_in_an_imported_module_of_a_package_reloads(tmp_path, monkeypatch):
    package = tmp_path / "devproject"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "texts.py").write_text('GREETING = "hello 1"\n')
    (package / "main.py").write_text(
        "from pyframe import PyFrameApp\n\nfrom .texts import GREETING\n\napp = PyFrameApp()\n\n\n"
        "@app.get('/')\nasync def index(context):\n    return GREETING\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    from devproject.main import app

    server = SimpleDevServer(app, host="127.0.0.1", port=0)
    await server.start()
    try:
        url = f"http://127.0.0.1:{server.port}/"
        assert (await get(url))[2] == "hello 1"
        (package / "texts.py").write_text('GREETING = "hello 2"\n')
        await wait_until(lambda: server.get_status()["reloads"] >= 1, what="the reload")
        assert (await get(url))[2] == "hello 2"
    finally:
        await server.stop()
        for name in [n for n in sys.modules if n.split(".")[0] == "devproject"]:
            del sys.modules[name]


SCRIPT = """
import asyncio
import json

import aiohttp

import helpers
from pyframe import PyFrameApp
from pyframe.server import SimpleDevServer

print("top level ran", flush=True)
app = PyFrameApp()


@app.get("/")
async def index(context):
    return helpers.STATE["value"]


async def main():
    server = SimpleDevServer(app, host="127.0.0.1", port=0, hot_reload=False)
    await server.start()
    helpers.STATE["value"] = "set by the caller"
    restarted = await server.restart()
    async with aiohttp.ClientSession() as session:
        async with session.get(f"http://127.0.0.1:{server.port}/") as resp:
            body = await resp.text()
    status = server.get_status()
    await server.stop()
    print(json.dumps({"restarted": restarted, "body": body, "reloads": status["reloads"],
                      "same_helpers": __import__("sys").modules["helpers"] is helpers}))


asyncio.run(main())
"""


def test_restart_from_a_script_never_runs_it_again(tmp_path):
    # The script calls asyncio.run(main()) at its top level and shares state with the app
    # through a helper module: restart() restarts the app in place, keeps that module, and
    # does not execute the script a second time.
    import json
    import subprocess

    (tmp_path / "helpers.py").write_text('STATE = {"value": "initial"}\n')
    (tmp_path / "main.py").write_text(SCRIPT)
    result = subprocess.run([sys.executable, "main.py"], cwd=tmp_path, capture_output=True,
                            text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.splitlines()
    assert lines.count("top level ran") == 1
    report = json.loads(lines[-1])
    assert report == {"restarted": True, "body": "set by the caller", "reloads": 1,
                      "same_helpers": True}


async def test_a_reload_keeps_unchanged_modules_and_their_state(tmp_path, monkeypatch):
    package = tmp_path / "keepproject"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "state.py").write_text("HITS = []\n")
    (package / "texts.py").write_text('GREETING = "hello 1"\n')
    (package / "main.py").write_text(
        "from pyframe import PyFrameApp\n\nfrom . import state\nfrom .texts import GREETING\n\n"
        "app = PyFrameApp()\n\n\n@app.get('/')\nasync def index(context):\n"
        "    state.HITS.append(1)\n    return f'{GREETING} {len(state.HITS)}'\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    from keepproject import state
    from keepproject.main import app

    server = SimpleDevServer(app, host="127.0.0.1", port=0, hot_reload=False)
    await server.start()
    try:
        url = f"http://127.0.0.1:{server.port}/"
        assert (await get(url))[2] == "hello 1 1"
        (package / "texts.py").write_text('GREETING = "hello 2"\n')
        assert await server.restart() is True
        # texts changed and main imports it: both are new; state did not change: kept.
        assert (await get(url))[2] == "hello 2 2"
        assert sys.modules["keepproject.state"] is state and state.HITS == [1, 1]
        assert server.app is not app
    finally:
        await server.stop()
        for name in [n for n in sys.modules if n.split(".")[0] == "keepproject"]:
            del sys.modules[name]
