"""Plugins reach the shared backends through pyframe.plugin: a URL checked at config time, a
lease opened at start-up, shared by URL and given back when the app stops."""

from __future__ import annotations

import re

import pytest

from pyframe import ConfigError, PyFrameApp
from pyframe.plugin import check_backend_url, hookimpl, open_backend


def test_check_backend_url_names_the_file_and_key():
    assert check_backend_url(None, source="pyframe.toml", key="plugins.ws.backend") == "memory://"
    with pytest.raises(ConfigError, match=re.escape(
            "pyframe.toml: plugins.ws.backend: no installed backend serves nats:// URLs")):
        check_backend_url("nats://127.0.0.1:4222", source="pyframe.toml",
                          key="plugins.ws.backend")
    with pytest.raises(ConfigError, match=r"pyframe\.toml: plugins\.ws\.backend: .*option "
                                          r"'nonsense'"):
        check_backend_url("memory://?nonsense=1", source="pyframe.toml", key="plugins.ws.backend")


class Opener:
    def __init__(self) -> None:
        self.leases = []

    @hookimpl
    async def pyframe_start_app(self, app):
        self.leases.append(await open_backend(app, "memory://"))
        self.leases.append(await open_backend(app, None))

    @hookimpl
    def pyframe_stop_app(self, app):
        # Still usable in the stop hooks: the app gives the leases back after them.
        self.health_at_stop = [h.users for h in app.backends.health()]


async def test_one_backend_per_url_shared_and_closed_after_the_stop_hooks():
    app = PyFrameApp()
    opener = Opener()
    app.plugins.register(opener, "opener")
    await app.startup()
    first, second = opener.leases
    assert first.backend is second.backend
    await first.store.set("k", b"v")
    assert await second.store.get("k") == b"v"
    await app.shutdown()
    assert opener.health_at_stop == [2]
    assert app.backends.health() == []  # a fresh registry, for a restart
    # The old registry closed the backend under the leases.
    from pyframe.plugin import BackendClosed

    with pytest.raises(BackendClosed):
        await first.store.get("k")


async def test_memory_with_several_workers_is_a_warning(tmp_path, monkeypatch, capsys):
    (tmp_path / "pyframe.toml").write_text("[server]\nworkers = 2\n")
    monkeypatch.chdir(tmp_path)
    app = PyFrameApp()
    app.plugins.register(Opener(), "opener")
    await app.startup()
    await app.shutdown()
    assert "backend_memory_with_workers" in capsys.readouterr().out
