"""The ws plugin's config: defaults, errors naming the file and key, its entry point, the seed
name, enabling and disabling."""

from __future__ import annotations

import importlib_metadata
import pytest

from pyframe import ConfigError, PluginError, PyFrameApp
from pyframe.testing import TestClient
from pyframe_ws import ConnectionOptions, WebSocketManager, WsConfig, WsPlugin

from .support import client, ws_app


@pytest.fixture(autouse=True)
def _no_stray_config(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for name in ("PYFRAME_PLUGINS__WS__BACKEND", "PYFRAME_BLOCK_PLUGINS"):
        monkeypatch.delenv(name, raising=False)


def test_defaults_are_the_safe_ones():
    config = WsConfig()
    assert config.max_message_size == 64 * 1024
    assert (config.send_queue_messages, config.send_queue_bytes) == (256, 1024 * 1024)
    assert (config.send_timeout, config.heartbeat, config.close_timeout) == (10.0, 20.0, 5.0)
    assert config.compress is False
    assert config.allowed_origins == ()  # same origin only
    assert (config.max_connections_per_ip, config.max_connections_per_user) == (256, 32)
    assert config.backend is None
    assert (config.presence_interval, config.presence_ttl) == (5.0, 15.0)
    assert config.connection_options() == ConnectionOptions()


def test_heartbeat_zero_turns_heartbeats_off():
    assert WsConfig(heartbeat=0).connection_options().heartbeat is None


def ws_route(app: PyFrameApp) -> PyFrameApp:
    @app.websocket("/ws")
    async def echo(websocket):
        async for message in websocket:
            await websocket.send_text(message)

    return app


@pytest.mark.parametrize("toml, message", [
    ("max_message_size = 10", "plugins.ws.max_message_size: expected int >= 125"),
    ("max_message_size = \"1k\"", "plugins.ws.max_message_size: expected int, got str"),
    ("heartbeat = -1", "plugins.ws.heartbeat: expected float >= 0"),
    ("compress = \"yes\"", "plugins.ws.compress: expected bool, got str"),
    ("max_connections_per_ip = -1", "plugins.ws.max_connections_per_ip: expected int >= 0"),
    ("allowed_origins = \"https://a.example\"", "plugins.ws.allowed_origins: expected array"),
    ("allowed_origins = [\"https://a.example/\"]", "drop the trailing '/'"),
    ("allowed_origins = [\"a.example\"]", "'a.example' is not an origin"),
    ("allowed_origins = [\"*\", \"https://a.example\"]", "'*' means any and must be listed alone"),
    ("presence_interval = 10.0\npresence_ttl = 15.0", "must be at least twice presence_interval"),
    ("max_mesage_size = 1", "plugins.ws.max_mesage_size: unknown key"),
    ("backend = \"nats://x\"", "plugins.ws.backend"),
])
def test_config_errors_name_the_file_and_key(tmp_path, toml, message):
    app = ws_route(ws_app(tmp_path, f"[plugins.ws]\n{toml}\n"))
    with pytest.raises(ConfigError) as info:
        app.build()
    assert message in str(info.value)
    assert str(tmp_path / "pyframe.toml") in str(info.value)


def test_a_redis_backend_url_is_checked_without_connecting(tmp_path):
    app = ws_route(ws_app(tmp_path, '[plugins.ws]\nbackend = "redis://127.0.0.1:1/0?timeout=x"\n'))
    with pytest.raises(ConfigError, match=r"plugins\.ws\.backend: .*option 'timeout'"):
        app.build()


def test_the_entry_points_load_the_plugin_and_the_seed_name():
    found = {ep.name: ep for ep in importlib_metadata.entry_points(group="pyframe.plugins")}
    assert found["ws"].load() is WsPlugin
    exports = {ep.name: ep for ep in importlib_metadata.entry_points(group="pyframe.exports")}
    assert exports["WebSocketManager"].load() is WebSocketManager
    from pyframe.websockets import WebSocketManager as seed

    assert seed is WebSocketManager


async def test_a_config_section_enables_it_through_discovery(tmp_path):
    app = ws_route(ws_app(tmp_path))
    async with TestClient(app) as server:
        info = next(p for p in app.plugins.enabled if p.id == "ws")
        assert info.distribution == "pyframe-ws" and isinstance(info.obj, WsPlugin)
        async with client(server.port, "/ws") as ws:
            await ws.send("ping")
            assert await ws.recv() == "ping"


async def test_code_can_enable_it_with_settings(tmp_path):
    app = ws_route(PyFrameApp())
    app.plugins.enable("ws", max_message_size=1000)
    async with TestClient(app) as server:
        async with client(server.port, "/ws") as ws:
            await ws.send("x" * 1001)
            await ws.wait_closed()
            assert ws.close_code == 1009


async def test_enabled_false_turns_it_off(tmp_path):
    app = ws_route(ws_app(tmp_path, "[plugins.ws]\nenabled = false\n"))
    with pytest.raises(PluginError, match=r"WebSocket routes but no plugin serves them"):
        await app.startup()


async def test_a_blocked_plugin_cannot_serve(tmp_path, monkeypatch):
    monkeypatch.setenv("PYFRAME_BLOCK_PLUGINS", "ws")
    app = ws_route(ws_app(tmp_path))
    with pytest.raises(PluginError, match=r"\bws\b.*PYFRAME_BLOCK_PLUGINS|PYFRAME_BLOCK_PLUGINS.*\bws\b"):
        await app.startup()


def test_a_plain_def_handler_is_refused_at_start_up(tmp_path):
    app = ws_app(tmp_path)
    app.websocket("/ws")(lambda websocket: None)
    with pytest.raises(PluginError, match=r"/ws has a plain def handler"):
        app.build()


def test_the_environment_can_set_the_backend(tmp_path, monkeypatch):
    monkeypatch.setenv("PYFRAME_PLUGINS__WS__BACKEND", "redis://127.0.0.1:6390/0")
    app = ws_route(ws_app(tmp_path))
    app.build()
    assert app.plugins.config("ws").backend == "redis://127.0.0.1:6390/0"
