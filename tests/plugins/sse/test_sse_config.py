"""The sse plugin's config: defaults, errors that name the file and key, the backend URL it
opens, its entry points, and switching it off or blocking it."""

from __future__ import annotations

import importlib_metadata
import pytest

from pyframe import ConfigError, PluginError, PyFrameApp
from pyframe.testing import TestClient
from pyframe_sse import SSEConfig, SSEManager, SSEMiddleware, SSEPlugin, encode_event
from pyframe_sse.hub import HUB
from pyframe_sse.middleware import SSE_ORDER

from .support import EventReader


@pytest.fixture(autouse=True)
def _no_stray_config(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PYFRAME_BLOCK_PLUGINS", raising=False)


def app_with_config(tmp_path, text):
    path = tmp_path / "pyframe.toml"
    path.write_text(text)
    app = PyFrameApp(config=str(path))

    @app.get("/events")
    async def events(context):
        async def body():
            yield {"data": "one"}

        return {"headers": {"Content-Type": "text/event-stream"}, "body": body()}

    return app, path


def test_defaults():
    config = SSEConfig()
    assert config.backend is None
    assert config.ping_interval == 15.0
    assert config.queue_size == 256
    assert config.history_size is None and config.history_max_age is None


# The key path and the bound; the wording around them is the core's.
@pytest.mark.parametrize("text, message", [
    ("ping_interval = -1", r"plugins\.sse\.ping_interval: .*>= 0"),
    ('ping_interval = "15"', r"plugins\.sse\.ping_interval: .*float.*str"),
    ("queue_size = 0", r"plugins\.sse\.queue_size: .*>= 1"),
    ("history_size = 0", r"plugins\.sse\.history_size: .*>= 1"),
    ("history_max_age = 0", r"plugins\.sse\.history_max_age: .*> 0"),
    ("replay = true", r"plugins\.sse\.replay: unknown key"),
    ('backend = "nats://h/0"', r"plugins\.sse\.backend: no installed backend serves nats://"),
    ('backend = "redis://h/0?timeout=abc"', r"plugins\.sse\.backend: .*option 'timeout'"),
    ('backend = "memory://?log_maxlen=5"\nhistory_size = 10',
     r"plugins\.sse\.history_size: the backend URL sets log_maxlen too"),
])
def test_config_errors_name_the_file_and_the_key(tmp_path, text, message):
    app, path = app_with_config(tmp_path, f"[plugins.sse]\n{text}\n")
    with pytest.raises(ConfigError, match=message) as info:
        app.build()
    assert str(path.name) in str(info.value)


async def test_history_bounds_become_the_log_bounds_of_the_backend(tmp_path):
    app, _ = app_with_config(tmp_path, "[plugins.sse]\nhistory_size = 50\n"
                                       "history_max_age = 90.5\n")
    async with TestClient(app):
        lease = app.state[HUB].lease
        assert lease.url == "memory://?log_maxlen=50&log_max_age=90.5"
        assert app.plugins.get("sse").url == lease.url


def test_the_plugin_contributes_its_encoder_and_middleware():
    plugin = SSEPlugin()
    assert plugin.pyframe_add_stream_encoders(app=None) == {"text/event-stream": encode_event}
    (middleware,) = plugin.pyframe_add_middleware(app=None)
    assert isinstance(middleware, SSEMiddleware) and middleware.order == SSE_ORDER
    assert middleware.returns_response is True


def test_entry_points_are_installed_and_load():
    found = {ep.name: ep for ep in importlib_metadata.entry_points(group="pyframe.plugins")}
    assert found["sse"].load() is SSEPlugin
    exports = {ep.name: ep for ep in importlib_metadata.entry_points(group="pyframe.exports")}
    assert exports["SSEManager"].load() is SSEManager
    from pyframe.sse import SSEManager as seed

    assert seed is SSEManager


async def test_a_config_section_enables_the_plugin_through_discovery(tmp_path):
    app, _ = app_with_config(tmp_path, "[plugins.sse]\nping_interval = 0\n")
    async with TestClient(app) as client:
        info = next(p for p in app.plugins.enabled if p.id == "sse")
        assert info.distribution == "pyframe-sse" and info.enabled_by == "config"
        assert [type(m) for m in app.middleware_chain] == [SSEMiddleware]
        async with client.get("/events") as resp:
            assert resp.headers["Cache-Control"] == "no-store"
            assert (await EventReader(resp).next()).data == "one"


async def test_enabled_false_switches_it_off(tmp_path):
    app, _ = app_with_config(tmp_path, "[plugins.sse]\nenabled = false\n")
    async with TestClient(app) as client:
        assert not app.plugins.is_enabled("sse")
        assert app.middleware_chain == [] and HUB not in app.state
        async with client.get("/events") as resp:
            assert "Cache-Control" not in resp.headers  # no event stream made of it
        with pytest.raises(RuntimeError, match="no app running the sse plugin"):
            await SSEManager().send_event("c", {"data": "x"})


async def test_a_blocked_plugin_is_said_to_be_blocked(tmp_path, monkeypatch):
    import pyframe.sse

    monkeypatch.setenv("PYFRAME_BLOCK_PLUGINS", "sse")
    with pytest.raises(ImportError) as info:
        pyframe.sse.SSEManager  # noqa: B018
    assert "sse" in str(info.value) and "PYFRAME_BLOCK_PLUGINS" in str(info.value)
    app, _ = app_with_config(tmp_path, "[plugins.sse]\n")
    with pytest.raises(PluginError, match="'sse'.*blocked"):
        await app.startup()
