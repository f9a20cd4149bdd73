"""The command line, run as a user runs it: a subprocess in the project folder."""

import json
import subprocess
import sys

from .conftest import write

APP = """
from pyframe import PyFrameApp

app = PyFrameApp()


@app.get("/users/<int:id>")
async def user(context):
    return {"id": context.params["id"]}
"""


def pyframe(*args, cwd):
    return subprocess.run([sys.executable, "-m", "pyframe", *args], capture_output=True,
                          text=True, cwd=cwd, check=False)


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
                               "pyframe_configure_plugin", "pyframe_get_config_schema"]}
    assert not any(r["enabled"] for r in rows if r["id"] != "hello")


def test_config_show_and_schema(workdir):
    write(workdir / "pyframe.toml", '[server]\nport = 9000\n[plugins.hello]\ngreeting = "Yo"\n')
    shown = json.loads(pyframe("config", "show", cwd=workdir).stdout)
    assert shown["source"] == "pyframe.toml"
    assert shown["config"]["server"]["port"] == 9000
    assert shown["config"]["plugins"] == {"hello": {"greeting": "Yo"}}
    schema = json.loads(pyframe("config", "schema", cwd=workdir).stdout)
    assert schema["plugins"]["hello"]["$defs"]["HelloConfig"]["properties"]["greeting"]["type"] == "string"
    assert "port" in schema["server"]["$defs"]["ServerConfig"]["properties"]


def test_errors_are_one_line_and_exit_2(workdir):
    write(workdir / "pyframe.toml", "[server]\nport = \"x\"\n")
    result = pyframe("config", "show", cwd=workdir)
    assert result.returncode == 2
    assert result.stderr.strip() == "error: pyframe.toml: server.port: expected int, got str"
    result = pyframe("routes", "nomodule:app", cwd=workdir)
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert "cannot import 'nomodule'" in result.stderr
