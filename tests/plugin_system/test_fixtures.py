"""The pytest fixtures as docs/plugins.md shows them, run by pytest as a plugin author's suite
would be: `pyframe_client_for` is awaited, and every fixture's teardown runs the stop hooks."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

SUITE = textwrap.dedent('''
    import pytest

    from pyframe import PyFrameApp
    from pyframe.plugin import hookimpl

    EVENTS = []


    class Resources:
        @hookimpl
        async def pyframe_start_app(self, app):
            EVENTS.append(f"start {app.name}")

        @hookimpl
        async def pyframe_stop_app(self, app):
            EVENTS.append(f"stop {app.name}")


    @pytest.fixture
    def pyframe_app():
        app = PyFrameApp(name="fixture")
        app.plugins.register(Resources(), "resources")
        app.get("/")(lambda context: "ok")
        return app


    async def test_one(pyframe_client, pyframe_client_for):
        other = PyFrameApp(name="other")
        other.plugins.register(Resources(), "resources")
        other.get("/")(lambda context: "other")
        client = await pyframe_client_for(other)
        assert client.url("/").startswith("http://127.0.0.1:")
        async with client.get("/") as resp:
            assert await resp.text() == "other"
        async with pyframe_client.get("/") as resp:
            assert await resp.text() == "ok"
        assert EVENTS == ["start fixture", "start other"]


    def test_two():
        # The first test's fixtures were torn down: both apps were stopped.
        assert sorted(EVENTS) == ["start fixture", "start other", "stop fixture", "stop other"]
''')


def test_fixture_teardown_runs_stop_hooks(tmp_path):
    (tmp_path / "test_suite.py").write_text(SUITE)
    (tmp_path / "pytest.ini").write_text("[pytest]\nasyncio_mode = auto\n"
                                         "asyncio_default_fixture_loop_scope = function\n"
                                         "filterwarnings = error\n")
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                             str(tmp_path)], capture_output=True, text=True, cwd=tmp_path,
                            timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed" in result.stdout


async def test_wait_until_returns_the_predicates_value_once_it_is_truthy():
    from pyframe.testing import wait_until

    calls = []

    def third_time():
        calls.append(1)
        return len(calls) >= 3 and "ready"

    assert await wait_until(third_time, interval=0) == "ready"
    assert len(calls) == 3


async def test_wait_until_fails_naming_what_never_happened():
    from pyframe.testing import wait_until

    with pytest.raises(AssertionError, match="the worker to start did not happen within 0.05 s"):
        await wait_until(lambda: False, timeout=0.05, what="the worker to start")
