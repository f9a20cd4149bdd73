"""Every bad-config case stops start-up with a message naming what, where, and what to do."""

import re

import pytest

from pyframe import ConfigError, PluginError, PyFrameApp, hookimpl

from .conftest import write


async def start(app=None):
    app = app or PyFrameApp()
    await app.startup()
    await app.shutdown()
    return app


@pytest.mark.parametrize("toml,message", [
    ("[server]\nport = \"80\"\n", "pyframe.toml: server.port: expected int, got str"),
    ("[server]\nprot = 80\n", "pyframe.toml: server.prot: unknown key (known keys: host, port,"),
    ("[sever]\n", "pyframe.toml: sever: unknown key (known keys: server, logging, plugins)"),
    ("[plugins.hello]\ngreeting = 5\n", "pyframe.toml: plugins.hello.greeting: expected str, got int"),
    ("[plugins.hello]\ngreting = \"x\"\n",
     "pyframe.toml: plugins.hello.greting: unknown key (known keys: greeting)"),
    ("[plugins.hello]\nenabled = \"no\"\n", "pyframe.toml: plugins.hello.enabled: expected bool, got str"),
    ("[plugins]\nhello = 3\n", "pyframe.toml: plugins.hello: expected a table, got int"),
    ("[logging]\nformat = \"xml\"\n", "pyframe.toml: logging.format: invalid enum value 'xml'"),
    ("server = [\n", "pyframe.toml: not valid TOML"),
])
async def test_config_file_errors(workdir, toml, message):
    write(workdir / "pyframe.toml", toml)
    with pytest.raises(ConfigError) as info:
        await start()
    assert message in str(info.value)


async def test_pyproject_section_is_named_as_the_source(workdir):
    write(workdir / "pyproject.toml", "[tool.pyframe.server]\nport = true\n")
    with pytest.raises(ConfigError, match=re.escape(
            "pyproject.toml [tool.pyframe]: server.port: expected int, got bool")):
        await start()


async def test_given_config_path_must_exist(workdir):
    with pytest.raises(ConfigError, match="config file nowhere.toml does not exist"):
        await start(PyFrameApp(config="nowhere.toml"))


async def test_environment_overrides_and_names_itself_in_errors(workdir, monkeypatch):
    write(workdir / "pyframe.toml", '[plugins.hello]\ngreeting = "from the file"\n')
    monkeypatch.setenv("PYFRAME_SERVER__PORT", "9123")
    monkeypatch.setenv("PYFRAME_PLUGINS__HELLO__GREETING", "Hey")
    app = await start()
    assert app.config.server.port == 9123
    assert app.plugins.config("hello").greeting == "Hey"
    monkeypatch.setenv("PYFRAME_SERVER__PORT", "[1]")
    with pytest.raises(ConfigError, match=re.escape(
            "server.port: expected int, got array (set by environment variable PYFRAME_SERVER__PORT)")):
        await start()


async def test_config_for_a_plugin_not_installed(workdir):
    write(workdir / "pyframe.toml", "[plugins.ws]\n")
    with pytest.raises(PluginError) as info:
        await start()
    text = str(info.value)
    assert "pyframe.toml has a [plugins.ws] section" in text
    assert "pip install 'pyframe[ws]'" in text


async def test_code_enabling_a_plugin_not_installed(workdir):
    app = PyFrameApp()
    app.plugins.enable("nonesuch")
    with pytest.raises(PluginError, match="the app enables plugin 'nonesuch'.*no plugin with the id"):
        await start(app)


async def test_two_distributions_with_one_id(workdir, fake_distribution):
    fake_distribution("fake-one", "[pyframe.plugins]\ndupe = fake_plugin_one:Plugin\n")
    fake_distribution("fake-two", "[pyframe.plugins]\ndupe = fake_plugin_two:Plugin\n")
    write(workdir / "pyframe.toml", "[plugins.dupe]\n")
    with pytest.raises(PluginError) as info:
        await start()
    assert "two installed plugins use the id 'dupe'" in str(info.value)
    assert "fake-one" in str(info.value) and "fake-two" in str(info.value)


async def test_plugin_that_fails_to_import(workdir, fake_distribution):
    fake_distribution("fake-broken", "[pyframe.plugins]\nbroken = fake_plugin_broken:Plugin\n",
                      {"fake_plugin_broken": "raise RuntimeError('missing native library')\n"})
    write(workdir / "pyframe.toml", "[plugins.broken]\n")
    with pytest.raises(PluginError) as info:
        await start()
    text = str(info.value)
    assert "plugin 'broken' (distribution fake-broken 1.0) failed to import" in text
    assert "missing native library" in text and "PYFRAME_BLOCK_PLUGINS=broken" in text


async def test_hook_that_matches_no_spec(workdir):
    class Typo:
        @hookimpl
        def pyframe_add_middlewares(self, app):
            return []

    app = PyFrameApp()
    app.plugins.register(Typo(), "typo")
    with pytest.raises(PluginError, match="plugin 'typo'.*implements a hook pyframe does not define"):
        await start(app)


async def test_hook_with_an_argument_its_spec_lacks(workdir):
    class WrongArgs:
        @hookimpl
        def pyframe_add_routes(self, app, router):
            return []

    app = PyFrameApp()
    app.plugins.register(WrongArgs(), "wrongargs")
    with pytest.raises(PluginError, match="plugin 'wrongargs'"):
        await start(app)


async def test_settings_for_a_plugin_without_schema(workdir):
    class NoSettings:
        @hookimpl
        def pyframe_add_routes(self, app):
            return []

    app = PyFrameApp()
    app.plugins.register(NoSettings(), "bare", colour="red")
    with pytest.raises(ConfigError, match="plugin 'bare' takes no settings, got colour"):
        await start(app)


async def test_autoload_can_be_switched_off(workdir, monkeypatch):
    monkeypatch.setenv("PYFRAME_DISABLE_PLUGIN_AUTOLOAD", "1")
    write(workdir / "pyframe.toml", "[plugins.hello]\n")
    with pytest.raises(PluginError, match="autoloading is off"):
        await start()


async def test_blocked_plugin_cannot_be_enabled(workdir, monkeypatch):
    monkeypatch.setenv("PYFRAME_BLOCK_PLUGINS", "cors, hello")
    write(workdir / "pyframe.toml", "[plugins.hello]\n")
    with pytest.raises(PluginError, match="plugin 'hello' is enabled by pyframe.toml but blocked "
                                          "by PYFRAME_BLOCK_PLUGINS"):
        await start()


def test_seed_name_of_a_blocked_or_missing_plugin_names_the_extra(monkeypatch):
    import importlib

    import pyframe.middleware

    monkeypatch.setenv("PYFRAME_BLOCK_PLUGINS", "cors")
    importlib.reload(pyframe.middleware)
    with pytest.raises(ImportError, match=re.escape("pip install 'pyframe[cors]'")):
        from pyframe.middleware import CORSMiddleware  # noqa: F401
    with pytest.raises(ImportError, match=re.escape("pip install 'pyframe[auth]'")):
        from pyframe.middleware import AuthMiddleware  # noqa: F401
    with pytest.raises(ImportError, match=re.escape("pip install 'pyframe[ws]'")):
        from pyframe.websockets import WebSocketManager  # noqa: F401
    with pytest.raises(ImportError, match=re.escape("pip install 'pyframe[sse]'")):
        from pyframe.sse import SSEManager  # noqa: F401


async def test_websocket_route_without_ws_plugin(workdir):
    app = PyFrameApp()
    app.websocket("/ws")(lambda websocket: None)
    with pytest.raises(PluginError, match=re.escape("pip install 'pyframe[ws]'")):
        await start(app)


async def test_plugins_are_fixed_once_started(workdir):
    app = await start()
    with pytest.raises(RuntimeError, match="fixed once the app has started"):
        app.plugins.enable("hello")


async def test_switching_off_a_plugin_the_app_needs(workdir):
    write(workdir / "pyframe.toml", "[plugins.static]\nenabled = false\n")
    (workdir / "assets").mkdir()
    app = PyFrameApp()
    app.add_static_path("/assets/", "assets")
    with pytest.raises(PluginError, match=re.escape(
            "app.add_static_path needs the 'static' plugin, but enabled = false in pyframe.toml "
            "turns it off")):
        await start(app)


async def test_environment_alone_does_not_turn_a_plugin_on(workdir, monkeypatch):
    monkeypatch.setenv("PYFRAME_PLUGINS__HELLO__GREETING", "Hey")
    app = await start()
    assert app.plugins.enabled == []
    monkeypatch.setenv("PYFRAME_PLUGINS__HELLO__ENABLED", "true")
    app = await start()
    assert app.plugins.config("hello").greeting == "Hey"


async def test_enum_errors_list_the_choices(workdir):
    write(workdir / "pyframe.toml", '[plugins.compression]\ncodecs = ["br", "lzma"]\n')
    with pytest.raises(ConfigError, match=re.escape(
            "pyframe.toml: plugins.compression.codecs[1]: invalid enum value 'lzma' "
            "(expected one of: br, gzip, zstd)")):
        await start()
