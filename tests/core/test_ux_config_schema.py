"""`pyframe config schema` is one Draft 2020-12 JSON Schema of pyframe.toml that an editor can
use: checked with jsonschema, and it agrees with pyframe's own start-up on good and bad files."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import jsonschema
import msgspec
import pytest

from pyframe import ConfigError, PluginError, PyFrameApp
from pyframe.cli import main
from pyframe.config import SCHEMA_DIALECT, PluginConfig, config_json_schema

ROOT = Path(__file__).parents[2]


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    for name in ("PYFRAME_CONFIG", "PYFRAME_DISABLE_PLUGIN_AUTOLOAD", "PYFRAME_BLOCK_PLUGINS"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


@pytest.fixture
def schema(clean_env, capsys):
    assert main(["config", "schema"]) == 0
    return json.loads(capsys.readouterr().out)


def readme_toml() -> str:
    text = (ROOT / "README.md").read_text()
    return text.split("```toml\n", 1)[1].split("```", 1)[0]


def test_it_is_one_draft_2020_12_schema_of_the_whole_file(schema):
    assert schema["$schema"] == SCHEMA_DIALECT == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["additionalProperties"] is False
    assert set(schema["properties"]) == {"server", "logging", "plugins"}
    plugins = schema["properties"]["plugins"]["properties"]
    known = {"cors", "compression", "static", "metrics", "hello"}
    assert known <= set(plugins)
    for pid, section in plugins.items():
        assert section["properties"]["enabled"]["type"] == "boolean", pid
    for pid in known:  # PluginConfig refuses unknown keys, and so does the schema
        assert plugins[pid]["additionalProperties"] is False, pid
    assert schema["properties"]["plugins"]["additionalProperties"]["required"] == ["enabled"]


GOOD = [
    "",
    readme_toml(),
    '[server]\nport = 9000\nhandler_timeout = 0\ntls_cert = "cert.pem"\n',
    '[logging]\nformat = "json"\n',
    "[plugins.cors]\nenabled = false\n",
    '[plugins.hello]\ngreeting = "Hi"\n',
    '[plugins.compression]\ncodecs = ["br", "gzip"]\n',
    # A plugin not installed here passes switched off, settings and all.
    "[plugins.nonesuch]\nenabled = false\nanything = 1\n",
]
BAD = [
    "[sever]\n",
    "[server]\nprot = 80\n",
    '[server]\nport = "80"\n',
    "[server]\nport = 70000\n",
    "[server]\nkeepalive_timeout = 0\n",
    '[logging]\nformat = "xml"\n',
    "[plugins.cors]\nalow_origins = []\n",
    '[plugins.cors]\nenabled = "no"\n',
    "[plugins.hello]\nenabled = false\ngreeting = 5\n",
    "[plugins.nonesuch]\n",
    "[plugins]\ncors = 3\n",
]


def starts(path: Path) -> bool:
    try:
        PyFrameApp(config=str(path)).build()
    except (ConfigError, PluginError):
        return False
    return True


@pytest.mark.parametrize("text,valid", [(t, True) for t in GOOD] + [(t, False) for t in BAD])
def test_editors_and_start_up_agree(schema, clean_env, text, valid):
    path = clean_env / "pyframe.toml"
    path.write_text(text)
    data = tomllib.loads(text)
    errors = list(jsonschema.Draft202012Validator(schema).iter_errors(data))
    assert (not errors) is valid, [e.message for e in errors]
    assert starts(path) is valid
    # Taplo (Even Better TOML) validates with an older draft: the schema uses nothing newer
    # than draft 7 has, so its verdict is the same.
    assert (not list(jsonschema.Draft7Validator(schema).iter_errors(data))) is valid


def test_plugin_sections_take_their_settings_and_enabled():
    class Settings(PluginConfig):
        """What the made-up plugin takes."""

        size: int = 1

    schema = config_json_schema({"sized": Settings, "bare": None, "again": Settings})
    validator = jsonschema.Draft202012Validator(schema)
    ok = {"plugins": {"sized": {"enabled": True, "size": 3}, "bare": {"enabled": False},
                      "again": {"size": 2}}}
    assert list(validator.iter_errors(ok)) == []
    for bad in ({"sized": {"size": "3"}}, {"bare": {"size": 1}}, {"again": {"enabled": 1}}):
        assert list(validator.iter_errors({"plugins": bad})), bad
    # Adding `enabled` to one section leaves the shared definition alone.
    assert "enabled" not in schema["$defs"]["Settings"]["properties"]
    assert schema["properties"]["plugins"]["properties"]["sized"]["description"] == \
        "What the made-up plugin takes."


def test_two_plugins_with_same_named_structs_keep_both():
    first = msgspec.defstruct("Config", [("a", int, 0)], bases=(PluginConfig,), module="one")
    second = msgspec.defstruct("Config", [("b", str, "")], bases=(PluginConfig,), module="two")
    schema = config_json_schema({"one": first, "two": second})
    validator = jsonschema.Draft202012Validator(schema)
    assert list(validator.iter_errors({"plugins": {"one": {"a": 1}, "two": {"b": "x"}}})) == []
    assert list(validator.iter_errors({"plugins": {"one": {"b": "x"}}}))


def test_the_editor_setup_in_the_docs_names_this_command():
    core = (ROOT / "docs" / "core.md").read_text()
    assert "pyframe config schema > pyframe.schema.json" in core
    assert "evenBetterToml.schema.associations" in core
    assert "#:schema ./pyframe.schema.json" in core
