"""Every bad-config case stops start-up with a message naming what, where, and what to do."""

import re

import pytest

from pyframe import ConfigError, PluginError, PyFrameApp, hookimpl
from pyframe.errors import install_hint
from pyframe.plugin import discovery, exports

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
    ("[plugins]\nhello = 3\n", "pyframe.toml: plugins.hello: expected table, got int"),
    ("[server]\nport = 70000\n", "pyframe.toml: server.port: expected int <= 65535, got 70000"),
    ("[server]\nbody_timeout = 0\n",
     "pyframe.toml: server.body_timeout: expected float > 0.0, got 0"),
    ("[server]\ntls_cert = 5\n", "pyframe.toml: server.tls_cert: expected str, got int"),
    ("[server]\nhost = {a = 1}\n", "pyframe.toml: server.host: expected str, got table"),
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


async def test_config_for_a_plugin_not_installed(workdir, monkeypatch):
    # One of pyframe's own plugins whose distribution is not installed: the extra to install.
    monkeypatch.setattr(discovery, "OWN_PLUGINS", (*discovery.OWN_PLUGINS, "fakeown"))
    write(workdir / "pyframe.toml", "[plugins.fakeown]\n")
    with pytest.raises(PluginError) as info:
        await start()
    text = str(info.value)
    assert "pyframe.toml has a [plugins.fakeown] section" in text
    assert install_hint("fakeown") in text
    assert text.endswith("Or remove that section, or set enabled = false in it")


async def test_an_own_distribution_without_its_plugin_does_not_send_the_user_round(
        workdir, monkeypatch, fake_distribution):
    # pyframe-fakeown is installed but registers no plugin yet (a release with only the
    # plugin's building blocks): installing the extra again would change nothing.
    monkeypatch.setattr(discovery, "OWN_PLUGINS", (*discovery.OWN_PLUGINS, "fakeown"))
    fake_distribution("pyframe-fakeown", "")
    write(workdir / "pyframe.toml", "[plugins.fakeown]\n")
    with pytest.raises(PluginError) as info:
        await start()
    text = str(info.value)
    assert "pyframe-fakeown 1.0 is installed but does not register the 'fakeown' plugin" in text
    assert "install the extra" not in text


async def test_a_mistyped_plugin_id_gets_a_guess(workdir):
    write(workdir / "pyframe.toml", "[plugins.helo]\n")
    with pytest.raises(PluginError, match=re.escape("did you mean 'hello'?")):
        await start()


async def test_code_enabling_a_plugin_not_installed(workdir):
    app = PyFrameApp()
    app.plugins.enable("nonesuch")
    with pytest.raises(PluginError, match="the app enables plugin 'nonesuch'.*no plugin with the id"
                                          r".*Or remove the app\.plugins\.enable\('nonesuch'\) call"):
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


def test_seed_name_of_a_blocked_plugin_says_it_is_blocked(monkeypatch):
    import importlib

    import pyframe.middleware

    monkeypatch.setenv("PYFRAME_BLOCK_PLUGINS", "cors")
    importlib.reload(pyframe.middleware)
    with pytest.raises(ImportError, match="CORSMiddleware is provided by the cors plugin, which "
                                          "PYFRAME_BLOCK_PLUGINS blocks"):
        from pyframe.middleware import CORSMiddleware  # noqa: F401


def test_seed_name_of_a_missing_plugin_names_the_extra():
    # No distribution pyframe-fakeown: the one install wording, naming the extra.
    with pytest.raises(ImportError) as info:
        exports.load_export("pyframe.fake", "FakeManager", "fakeown")
    assert str(info.value) == ("FakeManager is provided by the fakeown plugin, which is not "
                               f"installed: {install_hint('fakeown')}")
    assert "'pyframe[fakeown]'" in str(info.value)


def test_seed_name_its_distribution_lacks_is_not_a_circle(fake_distribution):
    fake_distribution("pyframe-fakeown", "")
    with pytest.raises(ImportError) as info:
        exports.load_export("pyframe.fake", "FakeManager", "fakeown")
    assert "the installed pyframe-fakeown 1.0 does not provide it yet" in str(info.value)
    assert "install the extra" not in str(info.value)


@pytest.mark.parametrize("module,name,plugin_id", [
    ("pyframe.middleware", "CORSMiddleware", "cors"),
    ("pyframe.middleware", "AuthMiddleware", "auth"),
    ("pyframe.middleware", "RateLimitMiddleware", "ratelimit"),
    ("pyframe.middleware", "CompressionMiddleware", "compression"),
    ("pyframe.websockets", "WebSocketManager", "ws"),
    ("pyframe.sse", "SSEManager", "sse"),
])
def test_every_seed_name_is_looked_up_in_its_plugin(module, name, plugin_id, monkeypatch):
    import importlib

    # Whatever is installed today, the lookup goes to the right plugin's extra.
    monkeypatch.setattr(exports, "_exports", lambda: {})
    monkeypatch.setattr(exports, "installed_version", lambda distribution: None)
    with pytest.raises(ImportError) as info:
        getattr(importlib.import_module(module), name)
    assert f"'pyframe[{plugin_id}]'" in str(info.value)
    assert "--no-index --find-links <wheelhouse>" in str(info.value)


async def test_websocket_route_without_ws_plugin(workdir, monkeypatch):
    from pyframe.plugin import manager

    app = PyFrameApp()
    app.websocket("/ws")(lambda websocket: None)
    monkeypatch.setattr(manager, "installed_plugins", lambda: {})
    monkeypatch.setattr(discovery, "installed_version", lambda distribution: None)
    with pytest.raises(PluginError) as info:
        await start(app)
    assert "the app has WebSocket routes but no plugin serves them: enable the ws plugin" in \
        str(info.value)
    assert install_hint("ws") in str(info.value)


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


async def test_a_switched_off_section_is_validated_all_the_same(workdir):
    write(workdir / "pyframe.toml", "[plugins.hello]\nenabled = false\ngreeting = 5\n")
    with pytest.raises(ConfigError, match=re.escape(
            "pyframe.toml: plugins.hello.greeting: expected str, got int")):
        await start()
    write(workdir / "pyframe.toml", "[plugins.hello]\nenabled = false\ngreting = 'x'\n")
    with pytest.raises(ConfigError, match=re.escape(
            "pyframe.toml: plugins.hello.greting: unknown key")):
        await start()
    write(workdir / "pyframe.toml", "[plugins.hello]\nenabled = false\ngreeting = 'Hi'\n")
    app = await start()
    assert app.plugins.enabled == []


async def test_a_plugin_switched_off_in_code_has_its_section_checked(workdir):
    write(workdir / "pyframe.toml", "[plugins.hello]\ngreeting = 5\n")
    app = PyFrameApp()
    app.plugins.disable("hello")
    with pytest.raises(ConfigError, match=re.escape("plugins.hello.greeting: expected str")):
        await start(app)


async def test_switched_off_sections_that_cannot_be_checked_pass(workdir, monkeypatch):
    # Not installed here, or blocked (a blocked plugin is never imported): nothing to check
    # against, and the plugin is off.
    write(workdir / "pyframe.toml", "[plugins.nonesuch]\nenabled = false\nanything = 1\n"
                                    "[plugins.hello]\nenabled = false\ngreeting = 5\n")
    monkeypatch.setenv("PYFRAME_BLOCK_PLUGINS", "hello")
    app = await start()
    assert app.plugins.enabled == []


def test_bound_errors_never_quote_a_string_back(workdir):
    from typing import Annotated

    import msgspec

    from pyframe.plugin import PluginConfig, validate_section

    class Secrets(PluginConfig):
        secret: Annotated[str, msgspec.Meta(min_length=32)] = "x" * 32
        code: Annotated[str, msgspec.Meta(pattern="^[a-z]+$")] = "abc"
        tags: Annotated[list[str], msgspec.Meta(max_length=2)] = []

    with pytest.raises(ConfigError) as info:
        validate_section(Secrets, {"secret": "hunter2"}, "plugins.vault", "pyframe.toml")
    assert str(info.value) == ("pyframe.toml: plugins.vault.secret: expected str of length "
                               ">= 32, got length 7")
    with pytest.raises(ConfigError) as info:
        validate_section(Secrets, {"code": "Hunter2"}, "plugins.vault", "pyframe.toml")
    assert "Hunter2" not in str(info.value)
    assert "plugins.vault.code: expected str matching regex" in str(info.value)
    with pytest.raises(ConfigError, match=re.escape(
            "plugins.vault.tags: expected array of length <= 2, got length 3")):
        validate_section(Secrets, {"tags": ["a", "b", "c"]}, "plugins.vault", "pyframe.toml")


async def test_a_broken_plugin_switched_off_does_not_stop_start_up(workdir, fake_distribution):
    fake_distribution("fake-broken", "[pyframe.plugins]\nbroken = fake_plugin_broken:Plugin\n",
                      {"fake_plugin_broken": "raise RuntimeError('missing native library')\n"})
    write(workdir / "pyframe.toml", "[plugins.broken]\nenabled = false\nlevel = 3\n")
    app = await start()
    assert app.plugins.enabled == []


def test_seed_name_of_the_blocked_ws_plugin_names_it(monkeypatch):
    # pyframe-ws is installed: blocked, its seed name still names the plugin (and extra) ws.
    monkeypatch.setenv("PYFRAME_BLOCK_PLUGINS", "ws")
    with pytest.raises(ImportError, match=r"\bws\b"):
        from pyframe.websockets import WebSocketManager  # noqa: F401
