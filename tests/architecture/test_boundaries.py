"""The layers hold: the core never imports a plugin, plugins use only the public plugin API and
never each other, and the core has no import cycle (docs/architecture.md)."""

from __future__ import annotations

from pathlib import Path

from .boundaries import Module, read_tree, violations

ROOT = Path(__file__).parents[2]


def project_tree():
    roots = {"pyframe": ROOT / "core" / "src" / "pyframe"}
    for folder in sorted((ROOT / "plugins").glob("*/src/pyframe_*")):
        roots[folder.name] = folder
    roots["hello_plugin"] = ROOT / "examples" / "third_party_plugin" / "src" / "hello_plugin"
    return read_tree(roots)


def test_the_project_keeps_every_rule():
    modules = project_tree()
    assert "pyframe.request.dispatch" in modules and "pyframe_cors.middleware" in modules
    assert violations(modules) == []


def tree(**sources: str) -> dict[str, Module]:
    """A made-up tree: keyword names use __ for dots (``pyframe__app``)."""
    out = {}
    for key, source in sources.items():
        name = key.replace("__", ".")
        is_package = name in ("pyframe", "pyframe.plugin") or name.count(".") == 0
        out[name] = Module(name, is_package, source)
    return out


def test_a_deliberately_bad_tree_breaks_every_rule():
    bad = tree(
        pyframe="from .app import PyFrameApp\n",
        pyframe__app="from .request import dispatch\nimport pyframe_cors\n",
        pyframe__request="",
        pyframe__request__dispatch="def later():\n    from ..app import PyFrameApp\n",
        pyframe__request__context="from aiohttp.web_protocol import RequestHandler\n",
        pyframe__http="from aiohttp.http_writer import _serialize_headers\n",
        pyframe__plugin="",
        pyframe__logging="",
        pyframe_cors="from pyframe.plugin import hookimpl\nfrom pyframe.logging import x\n",
        pyframe_auth="from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                     "    import pyframe.request.dispatch\nimport pyframe_cors.config\n",
    )
    found = violations(bad)
    assert "pyframe.app: the core imports plugin pyframe_cors" in found
    assert ("pyframe_cors: plugin pyframe_cors imports pyframe.logging, which is not the "
            "public plugin API (pyframe, pyframe.backends, pyframe.plugin)") in found
    assert "pyframe_auth: plugin pyframe_auth imports another plugin, pyframe_cors" in found
    # A function-level import counts; one under TYPE_CHECKING does not.
    assert ("the core has an import cycle: pyframe.app -> pyframe.request.dispatch -> "
            "pyframe.app") in found
    assert not any("pyframe_auth imports pyframe.request" in line for line in found)
    assert ("pyframe.request.context: imports aiohttp's internal aiohttp.web_protocol; only "
            "pyframe.http may") in found
    assert len(found) == 5


def test_the_one_late_bound_upward_call_is_allowed_and_no_other():
    ok = tree(pyframe__app="def run():\n    from .serve.run import run_app\n",
              pyframe__serve="", pyframe__serve__run="from ..app import PyFrameApp\n")
    assert violations(ok) == []
    cycle = tree(pyframe__app="def run():\n    from .serve.dev import x\n",
                 pyframe__serve="", pyframe__serve__dev="from ..app import PyFrameApp\n")
    assert violations(cycle) == ["the core has an import cycle: pyframe.app -> "
                                 "pyframe.serve.dev -> pyframe.app"]
