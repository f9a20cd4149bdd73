"""Hooks behave as pluggy documents: real arguments, tryfirst/trylast, wrapper=True, firstresult,
per-plugin calls, tracing; start-up and shutdown order and failures."""

from __future__ import annotations

import io
import json

import pytest
import structlog

from pyframe import PluginError, PyFrameApp
from pyframe.logging import configure_logging
from pyframe.plugin import Route, hookimpl
from pyframe.testing import TestClient


def recorder(name: str, calls: list[str]):
    async def mw(context, call_next):
        calls.append(name)
        return await call_next(context)

    mw.__qualname__ = name
    return mw


class Answer:
    """A plugin contributing one middleware, optionally tryfirst/trylast."""

    def __init__(self, name: str, calls: list[str], seen_apps: list, **opts) -> None:
        self.name, self.calls, self.seen_apps = name, calls, seen_apps

        def pyframe_add_middleware(app):
            self.seen_apps.append(app)
            return [recorder(self.name, self.calls)]

        self.pyframe_add_middleware = hookimpl(**opts)(pyframe_add_middleware)


class Wrapper:
    """A wrapper=True implementation: sees every other answer, adds one and reverses them."""

    def __init__(self, calls: list[str]) -> None:
        self.calls = calls
        self.saw: list[list[str]] = []

    @hookimpl(wrapper=True)
    def pyframe_add_middleware(self, app):
        answers = yield
        self.saw.append([mw.__qualname__ for answer in answers for mw in answer])
        return [[recorder("wrapper", self.calls)], *reversed(answers)]


async def test_tryfirst_trylast_and_a_wrapper_give_pluggys_order():
    calls: list[str] = []
    apps: list = []
    app = PyFrameApp()
    app.get("/")(lambda context: "ok")
    wrapper = Wrapper(calls)
    # Registration order: first, last, plain, wrapper. pluggy calls tryfirst first, trylast
    # last, the rest last-registered first, and wraps them all in the wrapper.
    app.plugins.register(Answer("first", calls, apps, tryfirst=True), "first")
    app.plugins.register(Answer("last", calls, apps, trylast=True), "last")
    app.plugins.register(Answer("plain", calls, apps), "plain")
    app.plugins.register(wrapper, "wrapper")
    async with TestClient(app) as client, client.get("/") as resp:
        assert resp.status == 200
    assert wrapper.saw == [["first", "plain", "last"]]
    # Equal orders keep the answers' order: the wrapper's own first, then reversed.
    assert calls == ["wrapper", "last", "plain", "first"]
    assert apps == [app, app, app]  # the real app, not None


async def test_firstresult_websocket_handler_asks_until_one_answers():
    asked: list[str] = []

    class Serves:
        def __init__(self, name, answer, **opts):
            def make(app):
                asked.append(name)
                return answer

            self.pyframe_make_websocket_handler = hookimpl(**opts)(make)

    async def handler_a(context, route):
        raise AssertionError("not used")

    app = PyFrameApp()
    app.websocket("/ws")(lambda websocket: None)
    app.plugins.register(Serves("a", handler_a), "a")
    app.plugins.register(Serves("b", None, tryfirst=True), "b")
    app.plugins.register(Serves("c", object()), "c")
    app.build()
    # b (tryfirst) passes, c (registered last) answers, a is never asked.
    assert asked == ["b", "c"]


async def test_config_schema_and_configure_are_per_plugin_with_their_source():
    import msgspec

    from pyframe.plugin import PluginConfig

    class OneConfig(PluginConfig):
        size: int = 1

    got: dict[str, tuple] = {}

    class One:
        @hookimpl
        def pyframe_get_config_schema(self):
            return OneConfig

        @hookimpl
        def pyframe_configure_plugin(self, app, config, source):
            got["one"] = (config, source)

    class Two:
        @hookimpl
        def pyframe_configure_plugin(self, config):
            got["two"] = (config,)

    app = PyFrameApp()
    app.plugins.register(One(), "one", size=3)
    app.plugins.register(Two(), "two")
    app.build()
    assert got["one"] == (OneConfig(size=3), "app.plugins.enable('one')")
    assert got["two"] == (None,)
    assert msgspec.structs.asdict(app.plugins.config("one")) == {"size": 3}


async def test_routes_are_attributed_and_a_clash_names_both_sides():
    class Health:
        @hookimpl
        def pyframe_add_routes(self, app):
            return [Route("/healthz", ["GET"], lambda context: "plugin")]

    app = PyFrameApp()
    app.plugins.register(Health(), "health")
    app.build()
    assert [r.plugin for r in app.router if r.path == "/healthz"] == ["health"]

    clash = PyFrameApp()
    clash.get("/healthz")(lambda context: "app")
    clash.plugins.register(Health(), "health")
    with pytest.raises(PluginError) as info:
        clash.build()
    text = str(info.value)
    assert "plugin 'health' adds a route that clashes" in text
    assert "GET /healthz is already routed" in text and "added by the app" in text


async def test_start_in_pluggy_order_stop_in_reverse_and_failures():
    events: list[str] = []

    class Life:
        def __init__(self, name, fail_start=False, fail_stop=False, **opts):
            async def start(app):
                events.append(f"start {name}")
                if fail_start:
                    raise RuntimeError(f"{name} cannot start")

            def stop(app):
                events.append(f"stop {name}")
                if fail_stop:
                    raise RuntimeError(f"{name} cannot stop")

            self.pyframe_start_app = hookimpl(**opts)(start)
            self.pyframe_stop_app = hookimpl(stop)

    app = PyFrameApp()
    app.plugins.register(Life("a"), "a")
    app.plugins.register(Life("b", fail_stop=True), "b")
    app.plugins.register(Life("c", tryfirst=True), "c")
    await app.startup()
    await app.shutdown()
    assert events == ["start c", "start b", "start a", "stop a", "stop b", "stop c"]

    events.clear()
    broken = PyFrameApp()
    broken.plugins.register(Life("a", fail_start=True), "a")
    broken.plugins.register(Life("b"), "b")
    with pytest.raises(RuntimeError, match="a cannot start"):
        await broken.startup()
    # b started first (registered last), so it is stopped again; a never started.
    assert events == ["start b", "start a", "stop b"]
    assert not broken.started


async def test_an_async_implementation_of_a_sync_hook_is_refused():
    class Wrong:
        @hookimpl
        async def pyframe_get_config_schema(self):
            return None

    app = PyFrameApp()
    app.plugins.register(Wrong(), "wrong")
    with pytest.raises(PluginError, match="plugin 'wrong': pyframe_get_config_schema must not "
                                          "be async"):
        app.build()


async def test_tracing_logs_each_hook_call(monkeypatch):
    monkeypatch.setenv("PYFRAME_TRACE_PLUGINS", "1")
    stream = io.StringIO()
    configure_logging("info", "json", stream=stream)
    try:
        class Quiet:
            @hookimpl
            def pyframe_add_middleware(self, app):
                return None

        app = PyFrameApp()
        app.plugins.register(Quiet(), "quiet")
        app.build()
    finally:
        structlog.reset_defaults()
    lines = [json.loads(line) for line in stream.getvalue().splitlines()
             if line.startswith("{")]
    traced = [line["line"] for line in lines if line["event"] == "plugin_hook_trace"]
    assert any("pyframe_add_middleware" in line for line in traced)
    assert any("pyframe_configure_plugin" in line for line in traced)
