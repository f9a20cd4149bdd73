"""The auth plugin's config: defaults, errors naming the file and key, weak secrets, secrets from
the environment, the seed's AuthMiddleware, its entry points, and switching it off."""

import importlib
import re

import importlib_metadata
import pytest
from structlog.testing import capture_logs

from pyframe import ConfigError, MiddlewareOrder, PluginError, PyFrameApp
from pyframe_auth import AuthConfig, AuthMiddleware, AuthPlugin, CookieSettings
from pyframe_auth.middleware import AUTH

from .support import OLD_SECRET, SECRET, private_pem, public_pem

pytestmark = pytest.mark.usefixtures("isolated")


def app_with_config(tmp_path, text, *, debug=None):
    path = tmp_path / "pyframe.toml"
    path.write_text(text)
    app = PyFrameApp(config=str(path), debug=debug)
    app.get("/")(lambda context: "ok")
    return app, path


def test_defaults_are_safe():
    config = AuthConfig()
    assert config.algorithms == ("HS256",)
    assert config.require_auth is True  # every path not excluded needs a credential
    assert config.exclude_paths == ()
    assert config.sessions is True and config.session_backend is None  # signed cookie
    assert config.session_cookie == CookieSettings()
    assert config.session_cookie.http_only and config.session_cookie.same_site == "Lax"
    assert config.csrf is True
    assert config.leeway == 10.0 and config.token_ttl == 900
    assert config.query_token is True and config.query_token_param == "token"


def test_the_seed_middleware_is_placed_and_enables_the_plugin():
    mw = AuthMiddleware(secret_key=SECRET, exclude_paths=["/login", "/register", "/public"])
    assert mw.order == MiddlewareOrder.AUTH
    assert mw.plugin_id == "auth" and mw.enables_plugin is True
    assert mw.config.exclude_paths == ("/login", "/register", "/public")


@pytest.mark.parametrize("kwargs, message", [
    ({"exclude_paths": "/login"}, "Expected `array`, got `str` - at `$.exclude_paths`"),
    ({"exclude_paths": ["login"]}, "'login' must start with '/'"),
    ({"exclude_paths": ["/public/../admin"]}, "is not a normalised path"),
    ({"algorithms": ["none"]}, "algorithms: ['none'] not supported"),
    ({"algorithms": ["HS256", "RS256"]}, "HMAC (HS*) and asymmetric algorithms cannot be mixed"),
    ({"algorithms": ["RS256"]}, "asymmetric tokens need exactly one of public_keys"),
    ({"public_keys": ["k.pem"]}, "public_keys: HS* algorithms verify with secret_key"),
    ({"secret_key_env": "APP_SECRET"}, "give one of the two"),
    ({"secret_key": [], "exclude_paths": []}, "secret_key: an empty list"),
    ({"leeway": 3600}, "Expected `float` <= 300"),
    ({"session_idle_timeout": 10 ** 9}, "longer than session_max_age"),
    ({"csrf_trusted_origins": ["app.example"]}, "'app.example' is not an origin"),
    ({"session_cookie": {"name": "a b"}}, "cookie name 'a b' is not an HTTP token"),
    ({"session_cookie": {"host_prefix": True, "domain": "app.example"}}, "a __Host- cookie"),
    ({"sesions": True}, "unknown field `sesions`"),
])
def test_bad_arguments_raise_value_error_at_once(kwargs, message):
    kwargs.setdefault("secret_key", SECRET)
    with pytest.raises(ValueError) as info:
        AuthMiddleware(**kwargs)
    assert message in str(info.value)
    assert str(info.value).startswith("AuthMiddleware: ")
    assert SECRET not in str(info.value)


def test_the_config_never_shows_the_secret():
    config = AuthConfig(secret_key=(SECRET, OLD_SECRET))
    assert SECRET not in repr(config) and OLD_SECRET not in repr(config)
    assert "secret_key='***'" in repr(config)
    assert SECRET not in repr(AuthMiddleware(secret_key=SECRET))


def test_wrong_type_in_the_file_names_file_key_and_type(tmp_path):
    app, path = app_with_config(tmp_path, '[plugins.auth]\nexclude_paths = "/login"\n')
    with pytest.raises(ConfigError) as info:
        app.build()
    assert str(info.value) == (f"{path}: plugins.auth.exclude_paths: expected array, got str")


def test_a_bad_value_in_the_file_names_the_section(tmp_path):
    app, path = app_with_config(tmp_path, f'[plugins.auth]\nsecret_key = "{SECRET}"\n'
                                          'algorithms = ["HS256", "ES256"]\n')
    with pytest.raises(ConfigError) as info:
        app.build()
    assert str(path) in str(info.value) and "plugins.auth" in str(info.value)
    assert "cannot be mixed" in str(info.value)
    assert SECRET not in str(info.value)


def test_an_unknown_nested_key_names_its_path(tmp_path):
    app, _ = app_with_config(tmp_path, '[plugins.auth.session_cookie]\nsamesite = "Lax"\n')
    with pytest.raises(ConfigError, match=r"plugins\.auth\.session_cookie\.samesite: unknown key "
                                          r"\(known keys: name, path, domain"):
        app.build()


@pytest.mark.parametrize("secret", ["your-secret-key", "", "Qz7#kP", "a" * 40,
                                    "my-super-secret-jwt-key-2024"])
def test_a_weak_secret_refuses_to_start_outside_debug(tmp_path, secret):
    app, path = app_with_config(tmp_path, f'[plugins.auth]\nsecret_key = "{secret}"\n')
    with pytest.raises(ConfigError) as info:
        app.build()
    message = str(info.value)
    assert message.startswith(f"{path}: plugins.auth.secret_key is not a usable secret")
    assert "secrets.token_urlsafe(32)" in message
    if secret:
        assert secret not in message


def test_the_reference_example_refuses_to_start_outside_debug():
    # The API reference's own snippet, word for word.
    app = PyFrameApp()
    auth_middleware = AuthMiddleware(secret_key='your-secret-key',
                                     exclude_paths=['/login', '/register', '/public'])
    app.middleware.append(auth_middleware)
    with pytest.raises(ConfigError) as info:
        app.build()
    assert str(info.value).startswith("AuthMiddleware: secret_key is not a usable secret: ")
    assert "example or placeholder" in str(info.value)
    assert "your-secret-key" not in str(info.value)


async def test_a_weak_secret_in_debug_warns_loudly_and_starts():
    app = PyFrameApp(debug=True)
    app.middleware.append(AuthMiddleware(secret_key="your-secret-key"))
    with capture_logs() as logs:
        await app.startup()
    try:
        warnings = [e for e in logs if e["event"] == "auth_weak_secret_key"]
        assert len(warnings) == 1 and warnings[0]["log_level"] == "warning"
        assert warnings[0]["setting"] == "secret_key"
        assert "forge tokens" in warnings[0]["consequence"]
        assert all("your-secret-key" not in repr(event) for event in logs)
    finally:
        await app.shutdown()


def test_secret_from_the_environment(tmp_path, monkeypatch):
    app, _ = app_with_config(tmp_path, '[plugins.auth]\nsecret_key_env = "APP_SECRET"\n')
    monkeypatch.setenv("APP_SECRET", f"{SECRET} {OLD_SECRET}")  # newest first
    app.build()
    parts = app.state[AUTH].parts
    assert parts.token_source == "secret_key"
    assert len(parts.verifier.keys) == 2 and parts.issuer is not None


def test_a_missing_environment_secret_is_named(tmp_path):
    app, path = app_with_config(tmp_path, '[plugins.auth]\nsecret_key_env = "APP_SECRET"\n')
    with pytest.raises(ConfigError, match=re.escape(
            f"{path}: plugins.auth.secret_key_env: the environment variable APP_SECRET is not "
            "set (or empty)")):
        app.build()


def test_a_weak_environment_secret_names_the_variable(tmp_path, monkeypatch):
    app, _ = app_with_config(tmp_path, '[plugins.auth]\nsecret_key_env = "APP_SECRET"\n')
    monkeypatch.setenv("APP_SECRET", "changeme")
    with pytest.raises(ConfigError, match="the environment variable APP_SECRET .* is not a "
                                          "usable secret"):
        app.build()


def test_hmac_tokens_need_a_secret(tmp_path):
    app, path = app_with_config(tmp_path, "[plugins.auth]\n")
    with pytest.raises(ConfigError, match=re.escape(
            f"{path}: plugins.auth.secret_key: HS256 tokens are signed with secret_key")):
        app.build()


def test_cookie_sessions_need_a_secret_with_public_key_tokens(tmp_path, rsa_private):
    (tmp_path / "public.pem").write_bytes(public_pem(rsa_private))
    text = '[plugins.auth]\nalgorithms = ["RS256"]\npublic_keys = ["public.pem"]\n'
    app, path = app_with_config(tmp_path, text)
    with pytest.raises(ConfigError, match=re.escape(
            f"{path}: plugins.auth.sessions: cookie sessions are signed with secret_key")):
        app.build()
    app, _ = app_with_config(tmp_path, text + "sessions = false\n")
    app.build()
    parts = app.state[AUTH].parts
    assert parts.token_source == "public_keys" and parts.issuer is None  # verify only


def test_public_key_files_are_read_next_to_the_config(tmp_path, rsa_private):
    (tmp_path / "keys").mkdir()
    (tmp_path / "keys" / "signing.pem").write_bytes(private_pem(rsa_private))
    app, _ = app_with_config(tmp_path, '[plugins.auth]\nalgorithms = ["RS256"]\n'
                                       'public_keys = ["keys/signing.pem"]\nsessions = false\n')
    app.build()
    assert app.state[AUTH].parts.issuer is not None  # a private key signs too


@pytest.mark.parametrize("keys, message", [
    ('["missing.pem"]', "plugins.auth.public_keys[0]: cannot read the key file 'missing.pem'"),
    ('["-----BEGIN PUBLIC KEY-----\\nnot a key\\n-----END PUBLIC KEY-----"]',
     "plugins.auth.public_keys[0]: not a PEM key usable with RS256, PS256"),
])
def test_public_key_errors(tmp_path, keys, message):
    app, _ = app_with_config(tmp_path, f'[plugins.auth]\nalgorithms = ["RS256", "PS256"]\n'
                                       f'public_keys = {keys}\nsessions = false\n')
    with pytest.raises(ConfigError, match=re.escape(message)):
        app.build()


def test_one_rsa_key_for_two_rsa_algorithms_is_ambiguous(tmp_path, rsa_private):
    (tmp_path / "public.pem").write_bytes(public_pem(rsa_private))
    app, _ = app_with_config(tmp_path, '[plugins.auth]\nalgorithms = ["RS256", "PS256"]\n'
                                       'public_keys = ["public.pem"]\nsessions = false\n')
    with pytest.raises(ConfigError, match="the key fits RS256, PS256; list only the one"):
        app.build()


def test_a_bad_session_backend_url_names_the_key(tmp_path):
    app, path = app_with_config(tmp_path, f'[plugins.auth]\nsecret_key = "{SECRET}"\n'
                                          'session_backend = "nats://x"\n')
    with pytest.raises(ConfigError, match=re.escape(f"{path}: plugins.auth.session_backend: ")):
        app.build()


def test_settings_in_two_places_are_refused(tmp_path):
    app, path = app_with_config(tmp_path, '[plugins.auth]\nrequire_auth = false\n')
    app.middleware.append(AuthMiddleware(secret_key=SECRET))
    with pytest.raises(ConfigError, match=re.escape(
            f"{path}: plugins.auth: the app appends an AuthMiddleware with its own settings")):
        app.build()


def test_two_middlewares_are_refused():
    app = PyFrameApp()
    app.middleware.extend([AuthMiddleware(secret_key=SECRET), AuthMiddleware(secret_key=SECRET)])
    with pytest.raises(ConfigError, match="app.middleware holds 2 AuthMiddleware objects"):
        app.build()


def test_the_appended_middleware_is_the_one_in_the_chain():
    app = PyFrameApp()
    mw = AuthMiddleware(secret_key=SECRET, exclude_paths=["/"])
    app.middleware.append(mw)
    app.build()
    assert app.plugins.is_enabled("auth")
    assert [m for m in app.middleware_chain if isinstance(m, AuthMiddleware)] == [mw]
    assert app.state[AUTH] is mw


def test_entry_points_are_installed_and_load():
    found = {ep.name: ep for ep in importlib_metadata.entry_points(group="pyframe.plugins")}
    assert found["auth"].load() is AuthPlugin
    exports = {ep.name: ep for ep in importlib_metadata.entry_points(group="pyframe.exports")}
    assert exports["AuthMiddleware"].load() is AuthMiddleware
    from pyframe.middleware import AuthMiddleware as seed_name

    assert seed_name is AuthMiddleware


async def test_the_config_section_enables_the_plugin_through_discovery(tmp_path):
    app, _ = app_with_config(tmp_path, f'[plugins.auth]\nsecret_key = "{SECRET}"\n')
    await app.startup()
    try:
        info = app.plugins.info("auth")
        assert info.distribution == "pyframe-auth" and info.enabled_by == "config"
        assert isinstance(app.plugins.get("auth"), AuthPlugin)
        assert any(isinstance(m, AuthMiddleware) for m in app.middleware_chain)
    finally:
        await app.shutdown()


async def test_the_plugin_can_be_switched_off(tmp_path):
    app, _ = app_with_config(tmp_path, f'[plugins.auth]\nenabled = false\n'
                                       f'secret_key = "{SECRET}"\n')
    await app.startup()
    try:
        assert not app.plugins.is_enabled("auth")
        assert not any(isinstance(m, AuthMiddleware) for m in app.middleware_chain)
    finally:
        await app.shutdown()


def test_switched_off_it_cannot_serve_an_appended_middleware(tmp_path):
    app, path = app_with_config(tmp_path, "[plugins.auth]\nenabled = false\n")
    app.middleware.append(AuthMiddleware(secret_key=SECRET))
    with pytest.raises(PluginError, match=re.escape(
            "app.middleware (AuthMiddleware) needs the 'auth' plugin, but enabled = false")):
        app.build()


def test_a_blocked_plugin_cannot_be_enabled(tmp_path, monkeypatch):
    monkeypatch.setenv("PYFRAME_BLOCK_PLUGINS", "auth")
    app, _ = app_with_config(tmp_path, f'[plugins.auth]\nsecret_key = "{SECRET}"\n')
    with pytest.raises(PluginError, match="plugin 'auth' is enabled by .* but blocked by "
                                          "PYFRAME_BLOCK_PLUGINS"):
        app.build()


def test_the_seed_name_of_the_blocked_plugin_names_it(monkeypatch):
    import pyframe.middleware

    monkeypatch.setenv("PYFRAME_BLOCK_PLUGINS", "auth")
    importlib.reload(pyframe.middleware)
    with pytest.raises(ImportError) as info:
        from pyframe.middleware import AuthMiddleware as blocked  # noqa: F401
    assert re.search(r"\bauth\b", str(info.value)) and "AuthMiddleware" in str(info.value)
    monkeypatch.delenv("PYFRAME_BLOCK_PLUGINS")
    importlib.reload(pyframe.middleware)
    from pyframe.middleware import AuthMiddleware as again

    assert again is AuthMiddleware


def test_a_middleware_outside_an_app_says_how_to_use_it():
    import asyncio

    mw = AuthMiddleware(secret_key=SECRET)
    with pytest.raises(RuntimeError, match="append it to app.middleware"):
        asyncio.run(mw(object(), None))
