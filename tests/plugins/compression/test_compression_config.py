"""The compression plugin's config, negotiation rules, discovery through its entry point, disabling."""

import gzip

import importlib_metadata
import msgspec
import pytest

from pyframe import ConfigError, JSONResponse, MiddlewareOrder, PyFrameApp
from pyframe.middleware import CompressionMiddleware as SeedName
from pyframe.testing import TestClient
from pyframe_compression import (CompressionConfig, CompressionMiddleware, CompressionPlugin,
                                 choose_coding, parse_accept_encoding)
from pyframe_compression.media import MediaPolicy

DATA = {"rows": [{"id": i, "label": f"row {i}"} for i in range(200)]}


@pytest.fixture(autouse=True)
def _no_stray_config(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)


def app_with_config(tmp_path, text):
    path = tmp_path / "pyframe.toml"
    path.write_text(text)
    app = PyFrameApp(config=str(path))

    @app.get("/")
    async def index(context):
        return JSONResponse(DATA)

    return app, path


def test_defaults():
    config = CompressionConfig()
    assert config.minimum_size == 1024
    assert config.compression_level == 6
    assert config.codecs == ("br", "zstd", "gzip")
    assert config.brotli_quality is None and config.zstd_level is None
    assert config.exclude_media_types == ()
    assert config.compress_streams is True
    assert config.thread_threshold == 64 * 1024
    mw = CompressionMiddleware()
    assert mw.order == MiddlewareOrder.COMPRESSION
    assert mw.plugin_id == "compression"
    assert mw.codecs["gzip"].level == 6
    assert mw.codecs["br"].quality == 6
    assert mw.codecs["zstd"].level == 6


def test_per_codec_levels():
    mw = CompressionMiddleware(compression_level=9, brotli_quality=4, zstd_level=19)
    assert (mw.codecs["gzip"].level, mw.codecs["br"].quality, mw.codecs["zstd"].level) == (9, 4, 19)


def test_seed_name_is_this_class():
    assert SeedName is CompressionMiddleware
    mw = SeedName(minimum_size=1024, compression_level=6)
    assert mw.minimum_size == 1024


@pytest.mark.parametrize("kwargs, message", [
    ({"minimum_size": -1}, "Expected `int` >= 0 - at `$.minimum_size`"),
    ({"compression_level": 10}, "Expected `int` <= 9 - at `$.compression_level`"),
    ({"compression_level": "6"}, "Expected `int`, got `str` - at `$.compression_level`"),
    ({"codecs": ["deflate"]}, "Invalid enum value 'deflate' - at `$.codecs[0]`"),
    ({"codecs": "gzip"}, "Expected `array`, got `str` - at `$.codecs`"),
    ({"codecs": []}, "codecs: list at least one"),
    ({"codecs": ["gzip", "gzip"]}, "codecs: each codec once"),
    ({"zstd_level": 22}, "Expected `int` <= 19"),
    ({"brotli_quality": 12}, "Expected `int` <= 11"),
    ({"exclude_media_types": ["text"]}, "'text' is not a media type"),
])
def test_invalid_arguments_raise_value_error(kwargs, message):
    with pytest.raises(ValueError) as info:
        CompressionMiddleware(**kwargs)
    assert message in str(info.value)
    assert str(info.value).startswith("CompressionMiddleware: ")


def test_wrong_type_in_config_file_names_file_key_and_type(tmp_path):
    app, path = app_with_config(tmp_path, '[plugins.compression]\nminimum_size = "1k"\n')
    with pytest.raises(ConfigError) as info:
        app.build()
    message = str(info.value)
    assert str(path) in message
    assert "plugins.compression.minimum_size" in message
    assert "expected int, got str" in message


def test_bad_codec_in_config_file(tmp_path):
    app, path = app_with_config(tmp_path, '[plugins.compression]\ncodecs = ["gzip", "lzma"]\n')
    with pytest.raises(ConfigError) as info:
        app.build()
    assert str(path) in str(info.value)
    assert "plugins.compression.codecs" in str(info.value)
    assert "invalid enum value 'lzma'" in str(info.value)


def test_unknown_key_in_config_file(tmp_path):
    app, _ = app_with_config(tmp_path, "[plugins.compression]\nlevel = 6\n")
    with pytest.raises(ConfigError, match=r"plugins\.compression\.level: unknown key"):
        app.build()


def test_entry_point_is_installed_and_loads():
    found = {ep.name: ep for ep in importlib_metadata.entry_points(group="pyframe.plugins")}
    assert "compression" in found
    assert found["compression"].load() is CompressionPlugin
    exports = {ep.name: ep for ep in importlib_metadata.entry_points(group="pyframe.exports")}
    assert exports["CompressionMiddleware"].load() is CompressionMiddleware


async def test_config_file_section_enables_the_plugin_through_discovery(tmp_path):
    app, _ = app_with_config(tmp_path, """
[plugins.compression]
minimum_size = 100
codecs = ["gzip"]
compression_level = 1
""")
    async with TestClient(app) as client:
        info = next(p for p in app.plugins.enabled if p.id == "compression")
        assert info.distribution == "pyframe-compression"
        assert info.enabled_by == "config"
        assert [type(m) for m in app.middleware_chain] == [CompressionMiddleware]
        assert app.middleware_chain[0].codecs["gzip"].level == 1
        async with client.get("/", headers={"Accept-Encoding": "br, gzip"}) as resp:
            assert resp.headers["Content-Encoding"] == "gzip"
            assert gzip.decompress(await resp.read()) == msgspec.json.encode(DATA)


async def test_enabled_false_disables_the_plugin(tmp_path):
    app, _ = app_with_config(tmp_path, "[plugins.compression]\nenabled = false\n")
    async with TestClient(app) as client:
        assert not app.plugins.is_enabled("compression")
        assert app.middleware_chain == []
        async with client.get("/", headers={"Accept-Encoding": "gzip"}) as resp:
            assert "Content-Encoding" not in resp.headers
            assert await resp.read() == msgspec.json.encode(DATA)


@pytest.mark.parametrize("header, parsed", [
    ("gzip, br;q=0.5", {"gzip": 1.0, "br": 0.5}),
    ("GZIP ; Q=0.25 , identity;q=0", {"gzip": 0.25, "identity": 0.0}),
    ("x-gzip", {"gzip": 1.0}),
    ("gzip;q=1.5, br;q=abc, zstd;q=0.001", {"zstd": 0.001}),   # bad q-values are skipped
    ("br, br;q=0", {"br": 1.0}),                              # the first entry counts
    (" , ,", {}),
])
def test_parse_accept_encoding(header, parsed):
    assert parse_accept_encoding(header) == parsed


def test_choose_coding_long_headers_are_not_cached():
    long_header = ", ".join(f"x-{i}" for i in range(100)) + ", gzip;q=0.1"
    assert choose_coding(long_header, ("br", "gzip")) == "gzip"


@pytest.mark.parametrize("content_type, allowed", [
    ("application/json", True), ("text/html; charset=utf-8", True), ("image/svg+xml", True),
    ("IMAGE/PNG", False), ("video/mp4", False), ("audio/ogg", False), ("font/woff2", False),
    ("application/zip", False), ("application/epub+zip", False), ("application/gzip", False),
    (None, True),
])
def test_media_policy(content_type, allowed):
    assert MediaPolicy().allows(content_type) is allowed


def test_media_policy_exclusions_come_first():
    policy = MediaPolicy(["image/*", "text/csv"])
    assert not policy.allows("image/svg+xml")
    assert not policy.allows("text/csv; charset=utf-8")
    assert policy.allows("text/plain")
