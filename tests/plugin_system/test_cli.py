"""The command line, run as a user runs it: a subprocess in the project folder."""

import json
import os
import shlex
import subprocess
import sys

import pytest

from pyframe import PluginError, PyFrameApp
from pyframe.plugin import load_app
from pyframe.serve.target import TargetError

from .conftest import write

APP = """
from pyframe import PyFrameApp

app = PyFrameApp()


@app.get("/users/<int:id>")
async def user(context):
    return {"id": context.params["id"]}
"""


def pyframe(*args, cwd, env=None):
    return subprocess.run([sys.executable, "-m", "pyframe", *args], capture_output=True,
                          text=True, cwd=cwd, check=False, env=env)


def test_routes_lists_app_and_plugin_routes(workdir):
    write(workdir / "app.py", APP)
    write(workdir / "pyframe.toml", "[plugins.hello]\n")
    result = pyframe("routes", "app:app", "--json", cwd=workdir)
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert {"methods": ["GET"], "pattern": "/users/<int:id>", "handler": "app.user",
            "plugin": "app"} in rows
    assert any(r["pattern"] == "/hello/<name>" and r["plugin"] == "hello" for r in rows)
    table = pyframe("routes", "app:app", cwd=workdir).stdout
    assert table.splitlines()[0].split() == ["METHODS", "PATTERN", "HANDLER", "FROM"]


def test_plugins_lists_installed_and_enabled(workdir):
    write(workdir / "pyframe.toml", "[plugins.hello]\n")
    rows = json.loads(pyframe("plugins", "--json", cwd=workdir).stdout)
    hello = next(r for r in rows if r["id"] == "hello")
    assert hello == {"id": "hello", "distribution": "pyframe-hello-example", "version": "0.1.0",
                     "enabled": True, "enabled_by": "config",
                     "hooks": ["pyframe_add_body_decoders", "pyframe_add_commands",
                               "pyframe_add_middleware", "pyframe_add_routes",
                               "pyframe_configure_plugin", "pyframe_get_config_schema"],
                     "error": None}
    assert not any(r["enabled"] for r in rows if r["id"] != "hello")


def test_plugins_are_listed_even_when_the_config_is_invalid(workdir):
    write(workdir / "pyframe.toml", "[plugins.hello]\ngreeting = 5\n")
    result = pyframe("plugins", cwd=workdir)
    assert result.returncode == 2
    rows = {line.split()[0]: line.split() for line in result.stdout.splitlines()[1:]}
    assert rows["hello"][:4] == ["hello", "pyframe-hello-example", "0.1.0", "?"]
    assert "error: pyframe.toml: plugins.hello.greeting: expected str, got int" in result.stderr
    listed = json.loads(pyframe("plugins", "--json", cwd=workdir).stdout)
    assert {r["id"]: r["enabled"] for r in listed}["hello"] is None


def test_version_names_the_core_and_each_installed_plugin(workdir):
    result = pyframe("--version", cwd=workdir)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"pyframe-core 0.1.0 on Python {sys.version.split()[0]}")
    assert lines[1] == "plugins:"
    plugins = {line.split()[0]: line.split()[1:] for line in lines[2:]}
    assert plugins["hello"] == ["pyframe-hello-example", "0.1.0"]
    assert plugins["cors"] == ["pyframe-cors", "0.1.0"]
    blocked = pyframe("--version", cwd=workdir, env={**os.environ, "PYFRAME_BLOCK_PLUGINS": "cors"})
    assert "pyframe-cors" not in blocked.stdout


def test_a_plugin_that_fails_to_import_is_listed_with_its_error(workdir, fake_distribution,
                                                                tmp_path):
    fake_distribution("fake-broken", "[pyframe.plugins]\nbroken = fake_plugin_broken:Plugin\n",
                      {"fake_plugin_broken": "raise RuntimeError('missing native library')\n"})
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "site")}
    result = pyframe("plugins", "--json", cwd=workdir, env=env)
    assert result.returncode == 0, result.stderr
    broken = next(r for r in json.loads(result.stdout) if r["id"] == "broken")
    assert "missing native library" in broken["error"] and broken["hooks"] == []
    # The rest of the command line still works.
    assert pyframe("--version", cwd=workdir, env=env).returncode == 0


def test_config_show_and_schema(workdir):
    write(workdir / "pyframe.toml", '[server]\nport = 9000\n[plugins.hello]\ngreeting = "Yo"\n')
    shown = json.loads(pyframe("config", "show", cwd=workdir).stdout)
    assert shown["source"] == "pyframe.toml"
    assert shown["config"]["server"]["port"] == 9000
    assert shown["config"]["plugins"] == {"hello": {"greeting": "Yo"}}
    schema = json.loads(pyframe("config", "schema", cwd=workdir).stdout)
    hello = schema["properties"]["plugins"]["properties"]["hello"]
    assert hello["properties"]["greeting"]["type"] == "string"
    assert hello["properties"]["enabled"]["type"] == "boolean"
    server = schema["properties"]["server"]["$ref"].rpartition("/")[2]
    assert "port" in schema["$defs"][server]["properties"]


def test_errors_are_one_line_and_exit_2(workdir):
    write(workdir / "pyframe.toml", "[server]\nport = \"x\"\n")
    result = pyframe("config", "show", cwd=workdir)
    assert result.returncode == 2
    assert result.stderr.strip() == "error: pyframe.toml: server.port: expected int, got str"
    result = pyframe("routes", "nomodule:app", cwd=workdir)
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert "cannot import 'nomodule'" in result.stderr


def test_new_plugin_prints_a_next_line_for_a_fresh_venv(workdir):
    (workdir / "wheels").mkdir()
    result = pyframe("new-plugin", "greeting", "--dir", "plugins", "--wheelhouse", "wheels",
                     cwd=workdir)
    assert result.returncode == 0, result.stderr
    assert (workdir / "plugins" / "pyframe-greeting" / "pyproject.toml").is_file()
    lines = result.stdout.splitlines()
    assert lines[0] == "created plugins/pyframe-greeting"
    install, _, test = lines[1].removeprefix("next: ").partition(" && ")
    assert shlex.split(install) == ["python", "-m", "pip", "install", "--no-index",
                                    "--find-links", str(workdir / "wheels"),
                                    "-e", "plugins/pyframe-greeting[test]"]
    assert shlex.split(test) == ["python", "-m", "pytest", "plugins/pyframe-greeting"]
    # Without a wheelhouse where it looks, it says how to get one.
    other = pyframe("new-plugin", "other", cwd=workdir)
    assert "--find-links wheelhouse " in other.stdout
    assert "there is no wheelhouse at wheelhouse" in other.stdout


def test_the_template_declares_its_test_extra(workdir):
    import tomllib

    pyframe("new-plugin", "greeting", cwd=workdir)
    project = tomllib.loads((workdir / "pyframe-greeting" / "pyproject.toml").read_text())
    test_extra = project["project"]["optional-dependencies"]["test"]
    assert {r.split(">")[0] for r in test_extra} == {"pytest", "pytest-asyncio"}


async def test_load_app_gives_a_plugin_command_the_built_app(workdir):
    write(workdir / "app.py", APP)
    write(workdir / "deploy.toml", '[plugins.hello]\ngreeting = "Yo"\n')
    app = load_app("app:app", config="deploy.toml")
    assert app.plugins.config("hello").greeting == "Yo"
    assert app.config_source == "deploy.toml"
    assert any(r.path == "/users/<int:id>" for r in app.router)
    bare = load_app(config="deploy.toml")
    assert isinstance(bare, PyFrameApp) and bare.plugins.is_enabled("hello")
    with pytest.raises(TargetError, match="cannot import 'nomodule'"):
        load_app("nomodule:app")


PLUGIN_WITH_A_COMMAND = """
from pyframe.plugin import PluginConfig, hookimpl, load_app


class ShowConfig(PluginConfig):
    value: str = "default"


def show(args):
    app = load_app(args.app, config=args.config)
    print(app.plugins.config("show").value)
    return 0


class Plugin:
    @hookimpl
    def pyframe_get_config_schema(self):
        return ShowConfig

    @hookimpl
    def pyframe_add_commands(self, subparsers):
        command = subparsers.add_parser("show-value")
        command.add_argument("--app", metavar="MODULE:APP")
        command.add_argument("--config")
        command.set_defaults(func=show)
"""


def test_a_plugin_subcommand_reads_the_merged_config(workdir, fake_distribution, tmp_path):
    fake_distribution("fake-show", "[pyframe.plugins]\nshow = fake_plugin_show:Plugin\n",
                      {"fake_plugin_show": PLUGIN_WITH_A_COMMAND})
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "site"),
           "PYFRAME_PLUGINS__SHOW__VALUE": "from the environment"}
    write(workdir / "pyframe.toml", '[plugins.show]\nvalue = "from the file"\n')
    result = pyframe("show-value", cwd=workdir, env=env)
    assert (result.returncode, result.stdout) == (0, "from the environment\n"), result.stderr
    write(workdir / "pyframe.toml", '[plugins.show]\nvalue = 5\n')
    result = pyframe("show-value", cwd=workdir, env=env)
    assert result.returncode == 0  # the environment's value wins over the file's bad one
    result = pyframe("show-value", "--app", "nomodule:app", cwd=workdir, env=env)
    assert result.returncode == 2
    assert result.stderr.startswith("error: cannot import 'nomodule'")
    assert "Traceback" not in result.stderr


def test_plugin_commands_survive_a_discovery_error(workdir, fake_distribution, tmp_path):
    fake_distribution("fake-one", "[pyframe.plugins]\ndupe = fake_plugin_one:Plugin\n")
    fake_distribution("fake-two", "[pyframe.plugins]\ndupe = fake_plugin_two:Plugin\n")
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "site")}
    result = pyframe("plugins", cwd=workdir, env=env)
    assert result.returncode == 2
    assert "two installed plugins use the id 'dupe'" in result.stderr
    with pytest.raises(PluginError):
        from pyframe.plugin.discovery import installed_plugins
        installed_plugins()


def test_config_show_never_prints_secrets(workdir):
    write(workdir / "pyframe.toml",
          '[plugins.auth]\nsecret_key = "Qm9yZWFsaXMtOTkzNy1rdXBsYW4tcGVscGVsLXR1bmRyYS0xMjM0"\n')
    result = pyframe("config", "show", cwd=workdir)
    shown = json.loads(result.stdout)
    auth = shown["config"]["plugins"]["auth"]
    assert auth["secret_key"] == "***"
    assert "Qm9yZWFsaXMtOTkz" not in result.stdout
