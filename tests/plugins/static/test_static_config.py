"""Config defaults and errors, start-up checks, discovery, enabling and disabling."""

from __future__ import annotations

import pytest

from pyframe import ConfigError, PyFrameApp
from pyframe.plugin.discovery import installed_plugins
from pyframe.testing import TestClient
from pyframe_static import MountConfig, StaticConfig, StaticPlugin


def write_config(tmp_path, text):
    path = tmp_path / "pyframe.toml"
    path.write_text(text)
    return str(path)


def test_defaults():
    assert StaticConfig().mounts == []
    mount = MountConfig(path="/s/", directory="d")
    assert (mount.headers, mount.index, mount.hidden) == ({}, True, False)


def test_the_entry_point_loads_the_plugin():
    assert installed_plugins()["static"].load() is StaticPlugin


async def test_a_config_section_enables_it(tmp_path, site):
    app = PyFrameApp(config=write_config(tmp_path, f'''
[plugins.static]
mounts = [{{ path = "/files/", directory = "{site}" }}]
'''))
    async with TestClient(app) as client, client.get("/files/hello.txt") as resp:
        assert resp.status == 200
    assert app.plugins.is_enabled("static")
    assert isinstance(app.plugins.get("static"), StaticPlugin)


async def test_enabled_false_turns_it_off(tmp_path, site):
    app = PyFrameApp(config=write_config(tmp_path, f'''
[plugins.static]
enabled = false
mounts = [{{ path = "/files/", directory = "{site}" }}]
'''))
    async with TestClient(app) as client, client.get("/files/hello.txt") as resp:
        assert resp.status == 404
    assert not app.plugins.is_enabled("static")


async def test_add_static_path_enables_it_without_config(site):
    app = PyFrameApp()
    app.add_static_path("/static/", str(site))
    async with TestClient(app) as client, client.get("/static/hello.txt") as resp:
        assert resp.status == 200
    assert app.plugins.is_enabled("static")


async def test_relative_directories_are_read_from_the_working_directory(tmp_path, monkeypatch,
                                                                         site):
    monkeypatch.chdir(site.parent)
    app = PyFrameApp()
    app.add_static_path("/static/", "static/")
    async with TestClient(app) as client, client.get("/static/hello.txt") as resp:
        assert resp.status == 200
    assert app.plugins.get("static").mounts[0].root == str(site.resolve())


def test_a_wrong_type_names_the_file_key_and_type(tmp_path):
    config = write_config(tmp_path, '''
[plugins.static]
mounts = [{ path = "/a/", directory = 3 }]
''')
    with pytest.raises(ConfigError) as info:
        PyFrameApp(config=config).build()
    message = str(info.value)
    assert config in message
    assert "plugins.static.mounts" in message and "directory" in message
    assert "expected str, got int" in message


def test_an_unknown_key_is_refused(tmp_path):
    config = write_config(tmp_path, '''
[plugins.static]
mounts = [{ path = "/a/", directory = "a", listing = true }]
''')
    with pytest.raises(ConfigError, match="listing: unknown key"):
        PyFrameApp(config=config).build()


def test_a_path_must_start_with_a_slash(tmp_path):
    config = write_config(tmp_path, '''
[plugins.static]
mounts = [{ path = "assets/", directory = "a" }]
''')
    with pytest.raises(ConfigError, match=r"plugins\.static\.mounts.*path"):
        PyFrameApp(config=config).build()


@pytest.mark.parametrize("headers, problem", [
    ('{ "Bad Name" = "x" }', "not a valid header name"),
    ('{ X-Evil = "a\\r\\nSet-Cookie: x=1" }', "cannot hold CR, LF or NUL"),
    ('{ Content-Length = "5" }', "cannot override it"),
])
def test_bad_mount_headers_are_refused(tmp_path, headers, problem):
    config = write_config(tmp_path, f'''
[plugins.static]
mounts = [{{ path = "/a/", directory = "a", headers = {headers} }}]
''')
    with pytest.raises(ConfigError, match=problem) as info:
        PyFrameApp(config=config).build()
    assert "plugins.static.mounts[0].headers" in str(info.value)


def test_a_prefix_with_route_parameters_is_refused():
    app = PyFrameApp()
    app.add_static_path("/files/<name>/", "x")
    with pytest.raises(ConfigError, match="cannot hold route parameters"):
        app.build()


def test_two_mounts_at_one_prefix_are_refused(tmp_path, site):
    app = PyFrameApp(config=write_config(tmp_path, f'''
[plugins.static]
mounts = [{{ path = "/static", directory = "{site}" }}]
'''))
    app.add_static_path("/static/", str(site))
    with pytest.raises(ConfigError, match="already mounted by"):
        app.build()


def test_a_bad_option_in_code_names_the_call():
    app = PyFrameApp()
    app.add_static_path("/static/", "static/", index="yes")
    with pytest.raises(ConfigError) as info:
        app.build()
    assert "app.add_static_path('/static/', 'static/')" in str(info.value)
    assert "index: expected bool, got str" in str(info.value)


async def test_a_missing_directory_stops_start_up_and_is_named(tmp_path):
    app = PyFrameApp(config=write_config(tmp_path, '''
[plugins.static]
mounts = [{ path = "/assets/", directory = "no-such-dir" }]
'''))
    with pytest.raises(ConfigError) as info:
        await app.startup()
    message = str(info.value)
    assert "'no-such-dir'" in message and "/assets/" in message
    assert "plugins.static.mounts[0]" in message and "pyframe.toml" in message


async def test_a_missing_directory_from_code_is_named_too():
    app = PyFrameApp()
    app.add_static_path("/uploads/", "/var/no/such/uploads/")
    with pytest.raises(ConfigError, match="add_static_path.*'/var/no/such/uploads/'"):
        await app.startup()


async def test_plugins_enable_takes_mounts_as_options(site, pyframe_client_for):
    app = PyFrameApp()
    app.plugins.enable("static", mounts=[{"path": "/m/", "directory": str(site)}])
    client = await pyframe_client_for(app)
    async with client.get("/m/hello.txt") as resp:
        assert resp.status == 200


def test_an_app_route_at_a_mount_prefix_is_a_clear_error(site):
    app = PyFrameApp()
    app.add_static_path("/static/", str(site))

    @app.get("/static/")
    async def mine(context):
        return "mine"

    with pytest.raises(ConfigError, match="already routed to mine"):
        app.build()
