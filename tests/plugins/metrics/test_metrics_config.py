"""Config defaults and errors, multiprocess set-up errors, discovery, enabling, disabling."""

from __future__ import annotations

import prometheus_client  # noqa: F401  (imported early on purpose: see the multiprocess test)
import pytest

from pyframe import ConfigError, PluginError, PyFrameApp
from pyframe.plugin.discovery import installed_plugins
from pyframe.testing import TestClient
from pyframe_metrics import MetricsConfig, MetricsPlugin
from pyframe_metrics.config import DEFAULT_BUCKETS


def write_config(tmp_path, text):
    path = tmp_path / "pyframe.toml"
    path.write_text(text)
    return str(path)


def test_defaults():
    config = MetricsConfig()
    assert (config.admin_enabled, config.admin_path, config.admin_token) == (
        True, "/admin/metrics", None)
    assert (config.prometheus_enabled, config.prometheus_path, config.prometheus_token) == (
        True, "/metrics", None)
    assert config.namespace == "pyframe"
    assert config.buckets == DEFAULT_BUCKETS
    assert config.multiprocess_dir is None


def test_the_entry_point_loads_the_plugin():
    assert installed_plugins()["metrics"].load() is MetricsPlugin


async def test_a_config_section_enables_it(tmp_path):
    app = PyFrameApp(config=write_config(tmp_path, '[plugins.metrics]\nadmin_path = "/stats"\n'))
    async with TestClient(app) as client, client.get("/stats") as resp:
        assert resp.status == 200
    assert isinstance(app.plugins.get("metrics"), MetricsPlugin)
    assert app.middleware_chain == []  # an observer, not a layer
    assert [type(o).__name__ for o in app.dispatcher.observers.observers][-1] == "MetricsObserver"


async def test_enabled_false_turns_it_off(tmp_path):
    app = PyFrameApp(config=write_config(tmp_path, '[plugins.metrics]\nenabled = false\n'))
    async with TestClient(app) as client, client.get("/metrics") as resp:
        assert resp.status == 404
    assert not app.plugins.is_enabled("metrics")
    assert app.middleware_chain == []


async def test_code_can_disable_what_the_file_enables(tmp_path):
    app = PyFrameApp(config=write_config(tmp_path, '[plugins.metrics]\n'))
    app.plugins.disable("metrics")
    async with TestClient(app) as client, client.get("/metrics") as resp:
        assert resp.status == 404


def test_a_wrong_type_names_the_file_key_and_type(tmp_path):
    config = write_config(tmp_path, '[plugins.metrics]\nadmin_enabled = "yes"\n')
    with pytest.raises(ConfigError) as info:
        PyFrameApp(config=config).build()
    message = str(info.value)
    assert config in message
    assert "plugins.metrics.admin_enabled" in message
    assert "expected bool, got str" in message


@pytest.mark.parametrize("text, problem", [
    ("admin_path = 'metrics'", "plugins.metrics.admin_path"),
    ("buckets = []", "plugins.metrics.buckets"),
    ("buckets = [0.1, -1.0]", "plugins.metrics.buckets"),
    ("buckets = [1.0, 0.5]", "plugins.metrics.buckets: expected increasing numbers"),
    ("namespace = 'my-app'", "plugins.metrics.namespace"),
    ("admin_token = ''", "plugins.metrics.admin_token"),
    ("prometheus_path = '/admin/metrics'", "give them different paths"),
    ("metrics_path = '/m'", "plugins.metrics.metrics_path: unknown key"),
])
def test_bad_settings_are_refused(tmp_path, text, problem):
    config = write_config(tmp_path, f"[plugins.metrics]\n{text}\n")
    with pytest.raises(ConfigError, match=problem) as info:
        PyFrameApp(config=config).build()
    assert config in str(info.value)


def test_the_token_can_come_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("PYFRAME_PLUGINS__METRICS__ADMIN_TOKEN", "from-env")
    app = PyFrameApp(config=write_config(tmp_path, "[plugins.metrics]\n"))
    app.build()
    assert app.plugins.config("metrics").admin_token == "from-env"


def test_multiprocess_dir_and_environment_must_agree(tmp_path, monkeypatch):
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path / "a"))
    config = write_config(tmp_path, f'[plugins.metrics]\nmultiprocess_dir = "{tmp_path / "b"}"\n')
    with pytest.raises(ConfigError, match="PROMETHEUS_MULTIPROC_DIR"):
        PyFrameApp(config=config).build()


def test_multiprocess_dir_after_prometheus_client_was_imported_is_an_error(tmp_path,
                                                                          monkeypatch):
    # This test process imported prometheus-client without PROMETHEUS_MULTIPROC_DIR, so it
    # keeps metrics in memory; the option cannot change that any more and must say so.
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    config = write_config(tmp_path, f'[plugins.metrics]\nmultiprocess_dir = "{tmp_path}"\n')
    with pytest.raises(PluginError, match="Set PROMETHEUS_MULTIPROC_DIR in the environment"):
        PyFrameApp(config=config).build()
    import os

    assert "PROMETHEUS_MULTIPROC_DIR" not in os.environ  # nothing leaked


async def test_a_missing_multiprocess_dir_stops_start_up(tmp_path, monkeypatch):
    missing = tmp_path / "nope"
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(missing))
    app = PyFrameApp()
    app.plugins.enable("metrics")
    with pytest.raises(ConfigError, match=f"'{missing}' does not exist"):
        await app.startup()


async def test_the_environment_multiprocess_dir_set_too_late_is_an_error(tmp_path, monkeypatch):
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    app = PyFrameApp()
    app.plugins.enable("metrics")
    with pytest.raises(PluginError, match="imported before"):
        await app.startup()


@pytest.mark.pyframe(plugins={"metrics": {"prometheus_enabled": False}})
async def test_the_pytest_marker_passes_options(pyframe_app, pyframe_client):
    async with pyframe_client.get("/metrics") as resp:
        assert resp.status == 404
    async with pyframe_client.get("/admin/metrics") as resp:
        assert resp.status == 200


def test_an_app_route_at_the_admin_path_is_a_clear_error():
    # The reference's own "Server Metrics" example routes /admin/metrics itself.
    app = PyFrameApp()
    app.plugins.enable("metrics")

    @app.route("/admin/metrics")
    async def get_metrics(context):
        return {}

    with pytest.raises(ConfigError, match="already routed to get_metrics.*admin_path"):
        app.build()


async def test_the_reference_example_works_with_the_plugins_endpoint_moved():
    app = PyFrameApp()
    app.plugins.enable("metrics", admin_enabled=False)

    @app.route("/admin/metrics")
    async def get_metrics(context):
        return {"mine": True}

    async with TestClient(app) as client, client.get("/admin/metrics") as resp:
        assert await resp.json() == {"mine": True}
