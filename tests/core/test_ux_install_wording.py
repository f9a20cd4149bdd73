"""One install wording everywhere: every hint outside the README's own "Installing" section
points at the wheelhouse (never the unrelated `pyframe` on the public index), and the README's
commands agree with each other."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

import pytest

from pyframe.errors import install_hint
from pyframe.plugin.discovery import OWN_PLUGINS

ROOT = Path(__file__).parents[2]
DOCS = [ROOT / "docs" / name for name in ("core.md", "plugins.md", "hooks.md", "server.md")]
PLUGIN_READMES = [ROOT / "plugins" / name / "README.md"
                  for name in ("cors", "compression", "static", "metrics")]


def test_the_hint_names_the_extra_and_the_wheelhouse():
    assert install_hint("ws") == ("install the extra: pip install --no-index --find-links "
                                  "<wheelhouse> 'pyframe[ws]' (see the README's \"Installing\")")


def test_own_plugins_are_the_umbrellas_plugin_extras():
    umbrella = tomllib.loads((ROOT / "pyproject.toml").read_text())
    extras = umbrella["project"]["optional-dependencies"]
    plugin_extras = {name for name, reqs in extras.items()
                     if reqs == [f"pyframe-{name}==0.1.0"] and name != "redis"}
    assert plugin_extras == set(OWN_PLUGINS)


def readme_section(title: str) -> str:
    text = (ROOT / "README.md").read_text()
    return text.split(f"\n## {title}\n", 1)[1].split("\n## ", 1)[0]


def install_lines(text: str) -> list[str]:
    """Every `pip install` of a pyframe distribution in a text."""
    return [m.group(0) for m in re.finditer(r"pip install[^\n`]*pyframe[^\n`]*", text)]


@pytest.mark.parametrize("path", [*DOCS, *PLUGIN_READMES], ids=lambda p: str(p.relative_to(ROOT)))
def test_docs_install_from_the_wheelhouse(path):
    for line in install_lines(path.read_text()):
        assert "--no-index --find-links" in line, f"{path.name}: {line}"


def test_the_readme_installs_only_from_the_wheelhouse_outside_its_own_section():
    text = (ROOT / "README.md").read_text()
    outside = text.replace(readme_section("Installing"), "")
    for line in install_lines(outside):
        assert "--no-index --find-links" in line, line


def test_the_readme_test_command_is_the_top_command():
    top = (ROOT / "README.md").read_text().split("## ", 1)[0]
    commands = re.findall(r"uv run [^\n`]*pytest", top)
    assert commands == ["uv run --locked --all-packages pytest"]
    assert f"`{commands[0]}`" in readme_section("Tests")


def test_the_readme_example_config_enables_what_its_install_line_installs():
    text = (ROOT / "README.md").read_text()
    example = tomllib.loads(text.split("```toml\n", 1)[1].split("```", 1)[0])
    install = next(line for line in readme_section("Installing").splitlines()
                   if "pip install --no-index" in line)
    extras = set(re.search(r"pyframe\[([^\]]+)\]", install).group(1).split(","))
    assert set(example.get("plugins", {})) <= extras


def test_the_readme_says_what_the_wheelhouse_script_needs():
    section = readme_section("Installing")
    assert "needs `uv`" in section
    assert "python3 -m venv" in section
    script = (ROOT / "scripts" / "build-wheelhouse.sh").read_text()
    assert "needs uv" in script


def test_reload_without_watchfiles_is_an_error_naming_the_extra(tmp_path):
    (tmp_path / "app.py").write_text("from pyframe import PyFrameApp\n\napp = PyFrameApp()\n")
    script = textwrap.dedent("""
        import importlib.util
        import sys

        real = importlib.util.find_spec
        importlib.util.find_spec = lambda name, *a: None if name == "watchfiles" else real(name, *a)
        from pyframe.cli import main

        sys.exit(main(["run", "app:app", "--reload", "--port", "0"]))
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            cwd=tmp_path, timeout=60, check=False)
    assert result.returncode == 2
    assert result.stderr.strip().endswith(
        f"error: --reload: watching files needs watchfiles: {install_hint('reload')}")
