"""Observers of finished requests (``pyframe_add_request_observers``): what they see, when the
core calls them, what a failing or async one does, and what the app pays with none."""

from __future__ import annotations

import asyncio
import inspect
import io
import json

import pytest
from aiohttp.test_utils import make_mocked_request
from aiohttp.web_protocol import RequestHandler
from aiohttp.web_request import BaseRequest
from structlog.testing import capture_logs

from pyframe import HTTPError, PyFrameApp, StreamingResponse
from pyframe.logging import configure_logging, flush_logs
from pyframe.plugin import FinishedRequest, PluginError, hookimpl, requests_in_flight
from pyframe.request.dispatch import CONTEXT_KEY
from pyframe.request.finished import Observers
from pyframe.testing import TestClient


class Watcher:
    """A plugin that keeps what it observed, copied out of each FinishedRequest."""

    def __init__(self, app: PyFrameApp | None = None) -> None:
        self.seen: list[dict] = []
        self.app = app
        self.in_flight_when_observed: list[int] = []

    @hookimpl
    def pyframe_add_request_observers(self, app):
        return [self.observe]

    def observe(self, done: FinishedRequest) -> None:
        self.seen.append({"method": done.method, "route": done.route, "path": done.path,
                          "status": done.status, "bytes": done.bytes,
                          "duration": done.duration, "request_id": done.request_id,
                          "remote": done.remote})
        if self.app is not None:
            self.in_flight_when_observed.append(requests_in_flight(self.app))


def watched_app() -> tuple[PyFrameApp, Watcher]:
    app = PyFrameApp()
    watcher = Watcher(app)
    app.plugins.register(watcher, "watcher")

    @app.get("/users/<int:id>")
    async def user(context):
        return {"id": context.params["id"]}

    @app.get("/boom")
    async def boom(context):
        raise RuntimeError("handler bug")

    @app.get("/teapot")
    async def teapot(context):
        raise HTTPError(418, "short and stout")

    @app.get("/stream")
    async def stream(context):
        async def chunks():
            for part in (b"a" * 10, b"b" * 20):
                yield part

        return StreamingResponse(chunks(), content_type="text/plain")

    return app, watcher


async def test_an_observer_sees_each_finished_request_with_its_route_pattern():
    app, watcher = watched_app()
    async with TestClient(app) as client:
        for method, path in (("GET", "/users/7"), ("GET", "/boom"), ("GET", "/teapot"),
                             ("GET", "/nowhere"), ("POST", "/users/7"), ("GET", "/stream")):
            async with client.request(method, path,
                                      headers={"X-Request-ID": f"rid-{len(watcher.seen)}"}
                                      ) as resp:
                await resp.read()
    got = [(s["method"], s["route"], s["path"], s["status"]) for s in watcher.seen]
    assert got == [("GET", "/users/<int:id>", "/users/7", 200), ("GET", "/boom", "/boom", 500),
                   ("GET", "/teapot", "/teapot", 418), ("GET", None, "/nowhere", 404),
                   ("POST", None, "/users/7", 405), ("GET", "/stream", "/stream", 200)]
    assert [s["request_id"] for s in watcher.seen] == [f"rid-{i}" for i in range(6)]
    assert all(s["remote"] == "127.0.0.1" and s["duration"] > 0 for s in watcher.seen)
    assert watcher.seen[-1]["bytes"] > 30  # the head and both chunks of the stream
    assert watcher.in_flight_when_observed == [0] * 6  # each was answered before observed


async def test_the_observer_runs_once_the_response_is_written_and_counts_its_bytes():
    app, watcher = watched_app()
    async with TestClient(app) as client:
        reader, writer = await asyncio.open_connection("127.0.0.1", client.port)
        try:
            writer.write(b"GET /users/42 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            raw = await asyncio.wait_for(reader.read(), 10)  # to EOF: the whole response
        finally:
            writer.close()
    assert raw.startswith(b"HTTP/1.1 200 OK") and raw.endswith(b'{"id":42}')
    (seen,) = watcher.seen
    assert seen["bytes"] == len(raw)


async def test_a_request_whose_client_left_is_observed_with_nothing_written():
    app, watcher = watched_app()
    entered, release = asyncio.Event(), asyncio.Event()

    held = []

    @app.get("/wait")
    async def wait(context):
        held.append(context.request)
        entered.set()
        await release.wait()
        return "too late"

    def gone() -> bool:
        transport = held[0].transport
        return transport is None or transport.is_closing()

    async with TestClient(app) as client:
        reader, writer = await asyncio.open_connection("127.0.0.1", client.port)
        writer.write(b"GET /wait HTTP/1.1\r\nHost: x\r\n\r\n")
        await asyncio.wait_for(entered.wait(), 10)
        assert requests_in_flight(app) == 1
        writer.close()
        deadline = asyncio.get_running_loop().time() + 10
        while not gone():  # until the server saw the client leave
            assert asyncio.get_running_loop().time() < deadline
            await asyncio.sleep(0.01)
        release.set()
        async with client.get("/users/1") as resp:
            await resp.read()
    assert [(s["path"], s["status"], s["bytes"]) for s in watcher.seen][0] == ("/wait", 200, 0)
    assert [s["path"] for s in watcher.seen] == ["/wait", "/users/1"]
    assert requests_in_flight(app) == 0


async def test_requests_in_flight_counts_requests_being_handled():
    app, _ = watched_app()
    entered, release = asyncio.Event(), asyncio.Event()

    @app.get("/slow")
    async def slow(context):
        entered.set()
        await release.wait()
        return "done"

    assert requests_in_flight(app) == 0  # not started yet
    async with TestClient(app) as client:
        async def call():
            async with client.get("/slow") as resp:
                return await resp.text()

        task = asyncio.create_task(call())
        await asyncio.wait_for(entered.wait(), 10)
        assert requests_in_flight(app) == 1
        release.set()
        assert await task == "done"
        assert requests_in_flight(app) == 0


async def test_an_app_with_no_observer_pays_nothing_for_them():
    app = PyFrameApp()
    app.load_config()
    app.access_log = False
    seen = []

    @app.get("/")
    async def index(context):
        seen.append(CONTEXT_KEY in context.request)
        return "ok"

    async with TestClient(app) as client, client.get("/") as resp:
        assert resp.status == 200
    assert app.dispatcher.observed is False and len(app.dispatcher.observers) == 0
    assert seen == [False]  # the context is not even left on the request


async def test_the_access_log_is_the_first_observer_and_only_when_on():
    on, watcher = watched_app()
    on.build()
    assert len(on.dispatcher.observers) == 2
    assert on.dispatcher.observers.observers[1] == watcher.observe
    off, quiet_watcher = watched_app()
    off.load_config()
    off.access_log = False
    off.build()
    assert off.dispatcher.observers.observers == (quiet_watcher.observe,)


async def test_a_failing_observer_is_logged_and_the_others_still_run():
    app, watcher = watched_app()

    class Broken:
        @hookimpl(tryfirst=True)
        def pyframe_add_request_observers(self, app):
            def explode(done):
                raise ValueError("observer bug")
            return [explode]

    app.plugins.register(Broken(), "broken")
    with capture_logs() as logs:
        async with TestClient(app) as client:
            for _ in range(3):
                async with client.get("/users/1") as resp:
                    assert resp.status == 200
    assert len(watcher.seen) == 3
    failures = [entry for entry in logs if entry["event"] == "request_observer_failed"]
    assert len(failures) == 1  # once per interval, not once per request
    assert failures[0]["observer"].endswith("explode")


def test_failures_are_logged_once_per_interval_with_the_count_left_out():
    now = [0.0]
    calls = []

    def explode(done):
        raise ValueError("no")

    observers = Observers([explode, calls.append], clock=lambda: now[0])
    with capture_logs() as logs:
        for t in (0.0, 1.0, 5.0, 10.5, 11.0):
            now[0] = t
            observers("done")
    failures = [e for e in logs if e["event"] == "request_observer_failed"]
    assert [f["not_logged_since"] for f in failures] == [0, 2]
    assert calls == ["done"] * 5


@pytest.mark.parametrize("answer", [[lambda done: None, 42], "not callable"])
def test_an_observer_that_is_not_callable_stops_start_up(answer):
    class Bad:
        @hookimpl
        def pyframe_add_request_observers(self, app):
            return answer

    app = PyFrameApp()
    app.plugins.register(Bad(), "bad")
    with pytest.raises(PluginError, match="plugin 'bad': pyframe_add_request_observers"):
        app.build()


def test_an_async_observer_stops_start_up():
    class Async:
        @hookimpl
        def pyframe_add_request_observers(self, app):
            async def observe(done):
                pass
            return [observe]

    app = PyFrameApp()
    app.plugins.register(Async(), "async")
    with pytest.raises(PluginError, match="not async"):
        app.build()


def test_one_callable_is_an_answer_too():
    seen = []

    class One:
        @hookimpl
        def pyframe_add_request_observers(self, app):
            return seen.append

    app = PyFrameApp()
    app.plugins.register(One(), "one")
    app.build()
    assert app.dispatcher.observers.observers[-1] == seen.append


def test_the_aiohttp_names_the_observers_rely_on_are_there():
    # pyframe.http.connection overrides RequestHandler.log_access to call the observers, and
    # pyframe.http.access takes the context off the request's private dict, _state.
    assert list(inspect.signature(RequestHandler.log_access).parameters) == [
        "self", "request", "response", "time"]
    source = inspect.getsource(RequestHandler.finish_response)
    assert source.count("self.log_access(request, resp, start_time)") == 2
    request = make_mocked_request("GET", "/")
    request[CONTEXT_KEY] = "context"
    assert "_state" in BaseRequest.ATTRS and request._state == {CONTEXT_KEY: "context"}


@pytest.fixture
def json_log(tmp_path, isolated_logging):
    """configure_logging("info", "json") to a file for one test."""
    path = tmp_path / "access.log"
    out = path.open("w")
    configure_logging("info", "json", stream=out)

    def records() -> list[dict]:
        flush_logs()
        return [json.loads(line) for line in path.read_text().splitlines()]

    yield records
    out.close()


async def test_the_access_line_keeps_every_field(json_log):
    app, _ = watched_app()
    async with TestClient(app) as client:
        async with client.get("/users/5?x=1", headers={"X-Request-ID": "abc-123"}) as resp:
            body = await resp.read()
        reader, writer = await asyncio.open_connection("127.0.0.1", client.port)
        try:
            writer.write(b"NOT HTTP AT ALL\r\n\r\n")  # answered by aiohttp: not the app's
            assert b" 400 Bad Request\r\n" in await asyncio.wait_for(reader.read(), 10)
        finally:
            writer.close()
    lines = [r for r in json_log() if r["event"] == "request_finished"]
    first, bad = lines
    assert list(first) == ["request_id", "method", "path", "status", "bytes", "duration_ms",
                           "remote", "event", "level", "timestamp"]
    assert (first["request_id"], first["method"], first["path"], first["status"],
            first["remote"], first["level"]) == ("abc-123", "GET", "/users/5", 200,
                                                 "127.0.0.1", "info")
    assert first["bytes"] > len(body) and first["duration_ms"] > 0
    assert (bad["request_id"], bad["status"]) == (None, 400)


async def test_the_access_line_to_a_stream_without_a_file(isolated_logging):
    stream = io.StringIO()
    configure_logging("info", "console", stream=stream)
    app, _ = watched_app()
    async with TestClient(app) as client, client.get("/users/5") as resp:
        assert resp.status == 200
    (line,) = [line for line in stream.getvalue().splitlines() if "request_finished" in line]
    for field in ("request_id=", "method=GET", "path=/users/5", "status=200", "bytes=",
                  "duration_ms=", "remote=127.0.0.1"):
        assert field in line
