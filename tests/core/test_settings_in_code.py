"""Config given in code (PyFrameApp(settings=...)): below the file, above the defaults, under
the environment; its errors say where the value came from."""

from __future__ import annotations

import re

import pytest

from pyframe import ConfigError, PyFrameApp


def test_settings_in_code_apply_under_the_file_and_the_environment(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    app = PyFrameApp(settings={"server": {"port": 8123, "backlog": 64}})
    assert (app.load_config().config.server.port, app.config.server.backlog) == (8123, 64)

    (tmp_path / "pyframe.toml").write_text("[server]\nport = 9000\n")
    monkeypatch.setenv("PYFRAME_SERVER__BACKLOG", "32")
    app = PyFrameApp(settings={"server": {"port": 8123, "backlog": 64, "sync_workers": 4}})
    server = app.load_config().config.server
    assert (server.port, server.backlog, server.sync_workers) == (9000, 32, 4)


def test_a_bad_setting_in_code_names_its_origin(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    app = PyFrameApp(settings={"server": {"port": "80"}})
    with pytest.raises(ConfigError, match=re.escape(
            "server.port: expected int, got str (set in code, PyFrameApp(settings=...))")):
        app.load_config()
