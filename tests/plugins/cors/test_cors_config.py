"""The cors plugin's config: defaults, errors, discovery through its entry point, disabling."""

import importlib_metadata
import pytest

from pyframe import ConfigError, MiddlewareOrder, PyFrameApp
from pyframe.testing import TestClient
from pyframe_cors import CORSMiddleware, CorsConfig, CorsPlugin

ORIGIN = "https://app.example"


@pytest.fixture(autouse=True)
def _no_stray_config(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)


def app_with_config(tmp_path, text):
    path = tmp_path / "pyframe.toml"
    path.write_text(text)
    app = PyFrameApp(config=str(path))

    @app.get("/")
    async def index(context):
        return "ok"

    return app, path


def test_defaults_allow_nothing():
    config = CorsConfig()
    assert config.allow_origins == ()
    assert config.allow_origin_regex is None
    assert config.allow_methods == ("GET", "HEAD", "POST")
    assert config.allow_headers == ()
    assert config.allow_credentials is False
    assert config.expose_headers == ()
    assert config.max_age is None
    mw = CORSMiddleware()
    assert not mw.is_allowed_origin(ORIGIN)
    assert not mw.is_allowed_origin("null")


def test_middleware_is_placed_and_named():
    mw = CORSMiddleware(allow_origins=[ORIGIN])
    assert mw.order == MiddlewareOrder.CORS
    assert mw.plugin_id == "cors"
    assert CORSMiddleware.from_config(CorsConfig(allow_origins=(ORIGIN,))).origins == {ORIGIN}


def test_listed_origins_are_compared_as_browsers_send_them():
    mw = CORSMiddleware(allow_origins=["HTTPS://App.Example:443", "http://localhost:80",
                                       "http://localhost:8080"])
    assert mw.origins == {"https://app.example", "http://localhost", "http://localhost:8080"}
    assert mw.is_allowed_origin("https://app.example")
    assert not mw.is_allowed_origin("https://app.example:8443")


@pytest.mark.parametrize("kwargs, message", [
    ({"allow_origins": "https://app.example"}, "Expected `array`, got `str` - at `$.allow_origins`"),
    ({"allow_origins": ["https://app.example/"]}, "drop the trailing '/'"),
    ({"allow_origins": ["app.example"]}, "'app.example' is not an origin"),
    ({"allow_origins": ["*", ORIGIN]}, "'*' means any and must be listed alone"),
    ({"allow_origins": ["*"], "allow_origin_regex": ".*"}, "use one or the other"),
    ({"allow_origin_regex": "(unclosed"}, "not a valid regular expression"),
    ({"allow_methods": ["GET", "*"]}, "allow_methods: '*' means any"),
    ({"allow_headers": ["X Token"]}, "'X Token' is not a valid HTTP token"),
    ({"expose_headers": ["*"], "allow_credentials": True}, "does not work with allow_credentials"),
    ({"max_age": -1}, "Expected `int` >= 0 - at `$.max_age`"),
    ({"allow_credentials": "yes"}, "Expected `bool`, got `str`"),
])
def test_invalid_arguments_raise_value_error(kwargs, message):
    with pytest.raises(ValueError) as info:
        CORSMiddleware(**kwargs)
    assert message in str(info.value)
    assert str(info.value).startswith("CORSMiddleware: ")


def test_seed_arguments_are_accepted():
    mw = CORSMiddleware(allow_origins=["*"], allow_methods=["GET", "POST", "PUT", "DELETE"],
                        allow_headers=["*"], allow_credentials=True)
    assert mw.is_allowed_origin("https://anything.example")
    assert not mw.wildcard  # with credentials the origin is echoed, never '*'


def test_wrong_type_in_config_file_names_file_key_and_type(tmp_path):
    app, path = app_with_config(tmp_path, '[plugins.cors]\nallow_origins = "x"\n')
    with pytest.raises(ConfigError) as info:
        app.build()
    message = str(info.value)
    assert str(path) in message
    assert "plugins.cors.allow_origins" in message
    assert "expected array, got str" in message


def test_bad_value_in_config_file_names_the_section(tmp_path):
    app, path = app_with_config(tmp_path, '[plugins.cors]\nallow_origins = ["https://a.example/"]\n')
    with pytest.raises(ConfigError) as info:
        app.build()
    assert str(path) in str(info.value)
    assert "plugins.cors" in str(info.value)
    assert "not an origin" in str(info.value)


def test_unknown_key_in_config_file(tmp_path):
    app, _ = app_with_config(tmp_path, '[plugins.cors]\nallow_origin = ["https://a.example"]\n')
    with pytest.raises(ConfigError, match=r"plugins\.cors\.allow_origin: unknown key"):
        app.build()


def test_entry_point_is_installed_and_loads():
    found = {ep.name: ep for ep in importlib_metadata.entry_points(group="pyframe.plugins")}
    assert "cors" in found
    assert found["cors"].load() is CorsPlugin
    exports = {ep.name: ep for ep in importlib_metadata.entry_points(group="pyframe.exports")}
    assert exports["CORSMiddleware"].load() is CORSMiddleware


async def test_config_file_section_enables_the_plugin_through_discovery(tmp_path):
    app, path = app_with_config(tmp_path, f"""
[plugins.cors]
allow_origins = ["{ORIGIN}"]
allow_credentials = true
max_age = 120
""")
    async with TestClient(app) as client:
        info = next(p for p in app.plugins.enabled if p.id == "cors")
        assert info.distribution == "pyframe-cors"
        assert info.enabled_by == "config"
        assert isinstance(info.obj, CorsPlugin)
        assert [type(m) for m in app.middleware_chain] == [CORSMiddleware]
        async with client.get("/", headers={"Origin": ORIGIN}) as resp:
            assert resp.headers["Access-Control-Allow-Origin"] == ORIGIN
            assert resp.headers["Access-Control-Allow-Credentials"] == "true"
        async with client.options("/", headers={"Origin": ORIGIN,
                                                "Access-Control-Request-Method": "GET"}) as resp:
            assert resp.status == 204
            assert resp.headers["Access-Control-Max-Age"] == "120"


async def test_enabled_false_disables_the_plugin(tmp_path):
    app, _ = app_with_config(tmp_path, f"""
[plugins.cors]
enabled = false
allow_origins = ["{ORIGIN}"]
""")
    async with TestClient(app) as client:
        assert not app.plugins.is_enabled("cors")
        assert app.middleware_chain == []
        async with client.get("/", headers={"Origin": ORIGIN}) as resp:
            assert resp.status == 200
            assert "Access-Control-Allow-Origin" not in resp.headers
