"""The ratelimit plugin's config: defaults, errors naming the file and key, the reference's
middleware, discovery through the entry point, and switching it off."""

from __future__ import annotations

import importlib
import re
import sys
import textwrap
from pathlib import Path

import importlib_metadata
import pytest

from pyframe import ConfigError, MiddlewareOrder, PluginError
from pyframe.testing import TestClient
from pyframe_ratelimit import (Limit, RateLimitConfig, RateLimitMiddleware, RateLimitPlugin,
                               RouteConfig, UserKeyedLimits)

from .support import app_with

pytestmark = pytest.mark.usefixtures("isolated")


def test_defaults_are_the_reference_numbers_per_address_in_memory():
    config = RateLimitConfig()
    assert (config.requests_per_minute, config.burst_size) == (60, 10)
    assert config.default_limit() == Limit(60, 60, 10, "default")
    assert config.backend is None and config.key == "ip"
    assert config.trusted_proxies == () and config.forwarded_header == "x-forwarded-for"
    assert config.ipv6_prefix == 64 and config.key_prefix == "ratelimit:"
    assert config.routes == ()
    assert config.headers is True and config.internal_headers is False
    assert config.on_backend_error == "allow"


def test_the_middleware_is_placed_before_auth_and_enables_its_plugin():
    mw = RateLimitMiddleware(requests_per_minute=60, burst_size=10)
    assert mw.order == MiddlewareOrder.RATE_LIMIT < MiddlewareOrder.AUTH
    assert (mw.plugin_id, mw.enables_plugin, mw.returns_response) == ("ratelimit", True, True)
    assert mw.after_auth.order == MiddlewareOrder.AUTH + 50
    assert isinstance(mw.after_auth, UserKeyedLimits)
    assert RateLimitMiddleware(30, 5).config.default_limit() == Limit(30, 60, 5, "default")
    assert repr(mw) == "RateLimitMiddleware(requests_per_minute=60, burst_size=10)"


@pytest.mark.parametrize("kwargs, message", [
    ({"requests_per_minute": 0}, "Expected `int` >= 1 - at `$.requests_per_minute`"),
    ({"burst_size": "10"}, "Expected `int`, got `str` - at `$.burst_size`"),
    ({"key": "cookie:sid"}, "key: unknown key 'cookie:sid'"),
    ({"key": "function:not a path"}, "name the function as 'function:<module>:<name>'"),
    ({"trusted_proxies": ["10.0.0.1/8"]}, "has host bits set; did you mean '10.0.0.0/8'?"),
    ({"trusted_proxies": "10.0.0.0/8"}, "Expected `array`, got `str`"),
    ({"forwarded_header": "X-Real-IP"}, "forwarded_header: expected one of x-forwarded-for"),
    ({"ipv6_prefix": 129}, "Expected `int` <= 128"),
    ({"key_prefix": "a{b}"}, "key_prefix: a key prefix is up to 64"),
    ({"on_backend_error": "ignore"}, "Invalid enum value 'ignore'"),
    ({"routes": [{"pattern": "/login", "limits": ["5 per minute"]}]},
     "invalid limit '5 per minute'"),
    ({"routes": [{"pattern": "/x"}]}, "give it limits or exempt = true"),
    ({"routes": [{"pattern": "/x", "exempt": True}, {"pattern": "/x", "exempt": True}]},
     "routes: rules /x and /x cover the same routes"),
])
def test_invalid_arguments_raise_value_error(kwargs, message):
    with pytest.raises(ValueError) as info:
        RateLimitMiddleware(**kwargs)
    assert message in str(info.value)
    assert str(info.value).startswith("RateLimitMiddleware: ")


def test_a_key_may_be_a_function_in_code():
    mw = RateLimitMiddleware(key=lambda context: context.headers.get("X-Tenant"))
    assert callable(mw.limiter.default_spec)


@pytest.mark.parametrize("toml, key, expected", [
    ('requests_per_minute = "60"', "plugins.ratelimit.requests_per_minute",
     "expected int, got str"),
    ("burst_size = 0", "plugins.ratelimit.burst_size", "expected int >= 1, got 0"),
    ('on_backend_error = "open"', "plugins.ratelimit.on_backend_error",
     "invalid enum value 'open' (expected one of: allow, deny)"),
    ("limit = 5", "plugins.ratelimit.limit", "unknown key"),
    ('key = "session"', "plugins.ratelimit", "key: unknown key 'session'"),
    ('trusted_proxies = ["proxy.local"]', "plugins.ratelimit",
     "'proxy.local' is not an IP address or network"),
    ('[[plugins.ratelimit.routes]]\npattern = "/login"\nlimits = ["5/minutes/x"]',
     "plugins.ratelimit.routes[0]", "invalid limit '5/minutes/x'"),
    ('[[plugins.ratelimit.routes]]\npattern = "/a"\nlimits = ["1/second"]\nburst = 3',
     "plugins.ratelimit.routes[0].burst", "unknown key"),
    ('backend = "nats://127.0.0.1:4222"', "plugins.ratelimit.backend",
     "no installed backend serves nats:// URLs"),
    ('backend = "memory://?max_keys=0"', "plugins.ratelimit.backend", "max_keys"),
    ('key = "function:no_such_module_here:key"', "plugins.ratelimit.key",
     "module 'no_such_module_here' does not import"),
])
def test_config_file_errors_name_the_file_and_the_key(tmp_path, toml, key, expected):
    if not toml.startswith("[["):
        toml = f"[plugins.ratelimit]\n{toml}\n"
    app = app_with(tmp_path, toml)
    with pytest.raises(ConfigError) as info:
        app.build()
    message = str(info.value)
    assert str(tmp_path / "pyframe.toml") in message
    assert key in message
    assert expected in message


def test_a_key_function_by_import_path(tmp_path, monkeypatch):
    (tmp_path / "tenant_keys.py").write_text(textwrap.dedent("""
        def tenant(context):
            return context.headers.get("X-Tenant")
    """))
    monkeypatch.syspath_prepend(str(tmp_path))
    app = app_with(tmp_path, '[plugins.ratelimit]\nkey = "function:tenant_keys:tenant"\n')
    app.build()
    limiter = app.plugins.get("ratelimit").own.limiter
    assert limiter.key_func("function:tenant_keys:tenant").fn is \
        importlib.import_module("tenant_keys").tenant
    sys.modules.pop("tenant_keys", None)


def test_entry_point_and_seed_name_load_this_plugin():
    found = {ep.name: ep for ep in importlib_metadata.entry_points(group="pyframe.plugins")}
    assert found["ratelimit"].load() is RateLimitPlugin
    exports = {ep.name: ep for ep in importlib_metadata.entry_points(group="pyframe.exports")}
    assert exports["RateLimitMiddleware"].load() is RateLimitMiddleware
    from pyframe.middleware import RateLimitMiddleware as seed

    assert seed is RateLimitMiddleware


async def test_a_section_enables_the_plugin_through_discovery(tmp_path):
    app = app_with(tmp_path, "[plugins.ratelimit]\nrequests_per_minute = 120\n")
    async with TestClient(app) as client:
        info = app.plugins.info("ratelimit")
        assert (info.distribution, info.enabled_by) == ("pyframe-ratelimit", "config")
        assert [type(m) for m in app.middleware_chain] == [RateLimitMiddleware]
        assert app.middleware_chain[0].config.requests_per_minute == 120
        async with client.get("/") as resp:
            assert resp.status == 200
            assert resp.headers["RateLimit-Policy"] == '"default";q=120;w=60'
            assert resp.headers["RateLimit"] == '"default";r=9;t=1'


async def test_appending_the_reference_middleware_enables_the_plugin(tmp_path):
    app = app_with(tmp_path)
    # One a minute after the burst: no refill while the test runs, however slow the machine.
    app.middleware.append(RateLimitMiddleware(requests_per_minute=1, burst_size=2))
    async with TestClient(app) as client:
        assert app.plugins.info("ratelimit").enabled_by == "app.middleware (RateLimitMiddleware)"
        assert [type(m) for m in app.middleware_chain] == [RateLimitMiddleware]
        answers = []
        for _ in range(3):
            async with client.get("/") as resp:
                answers.append(resp.status)
        assert answers == [200, 200, 429]


async def test_the_middleware_and_a_section_together_are_refused(tmp_path):
    app = app_with(tmp_path, "[plugins.ratelimit]\n")
    app.middleware.append(RateLimitMiddleware())
    with pytest.raises(ConfigError, match="Configure the limiter in one place"):
        await app.startup()


async def test_enabled_false_switches_the_plugin_off(tmp_path):
    app = app_with(tmp_path, "[plugins.ratelimit]\nenabled = false\nburst_size = 1\n")
    async with TestClient(app) as client:
        assert not app.plugins.is_enabled("ratelimit")
        assert app.middleware_chain == []
        for _ in range(3):
            async with client.get("/") as resp:
                assert resp.status == 200 and "RateLimit" not in resp.headers


async def test_switched_off_with_the_middleware_appended_is_an_error(tmp_path):
    app = app_with(tmp_path, "[plugins.ratelimit]\nenabled = false\n")
    app.middleware.append(RateLimitMiddleware())
    with pytest.raises(PluginError, match=re.escape(
            "app.middleware (RateLimitMiddleware) needs the 'ratelimit' plugin")):
        await app.startup()


async def test_a_blocked_plugin_cannot_be_enabled(tmp_path, monkeypatch):
    monkeypatch.setenv("PYFRAME_BLOCK_PLUGINS", "ratelimit")
    app = app_with(tmp_path, "[plugins.ratelimit]\n")
    with pytest.raises(PluginError, match="blocked by PYFRAME_BLOCK_PLUGINS"):
        await app.startup()


async def test_environment_overrides_a_key(tmp_path, monkeypatch):
    monkeypatch.setenv("PYFRAME_PLUGINS__RATELIMIT__BURST_SIZE", "3")
    app = app_with(tmp_path, "[plugins.ratelimit]\n")
    app.build()
    assert app.plugins.config("ratelimit").burst_size == 3


def test_every_option_is_documented_in_the_readme():
    import pyframe_ratelimit

    readme = (Path(pyframe_ratelimit.__file__).parents[2] / "README.md").read_text()
    for struct in (RateLimitConfig, RouteConfig):
        for key in struct.__struct_fields__:
            assert f"`{key}`" in readme, key


async def test_a_decorators_key_function_that_does_not_import_stops_start_up(tmp_path):
    from pyframe_ratelimit import limit

    app = app_with(tmp_path, "[plugins.ratelimit]\n")

    @app.get("/tenant")
    @limit("5/minute", key="function:no_such_module_here:key")
    async def tenant(context):
        return "t"

    with pytest.raises(ConfigError, match=r"pyframe\.toml: plugins\.ratelimit: route /tenant: "
                                          r"key function 'no_such_module_here:key'"):
        await app.startup()
