"""The plugin logging convention of docs/plugins.md is true: a logger made at module level with
``pyframe.plugin.get_logger("pyframe", plugin=...)`` logs JSON once the app configures JSON."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

PLUGIN = textwrap.dedent("""
    import structlog

    from pyframe.plugin import get_logger

    log = get_logger("pyframe", plugin="myplugin")
    # The pitfall the docs warn about: bound at import, before logging is configured.
    frozen = structlog.get_logger("pyframe").bind(plugin="myplugin")
    log.info("imported")  # before the app configured logging
""")

SCRIPT = textwrap.dedent("""
    import sys

    sys.path.insert(0, sys.argv[1])
    import myplugin

    from pyframe.logging import configure_logging

    configure_logging("info", "json", stream=sys.stdout)
    myplugin.log.info("plugin_ready", items=2)
    myplugin.log.bind(request="r1").warning("plugin_slow")
    myplugin.frozen.info("frozen_ready")
""")


def test_a_module_level_plugin_logger_follows_the_apps_json_config(tmp_path):
    (tmp_path / "myplugin.py").write_text(PLUGIN)
    result = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path)], capture_output=True,
                            text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    records = [json.loads(line) for line in lines if line.startswith("{")]
    ready = next(r for r in records if r["event"] == "plugin_ready")
    assert (ready["plugin"], ready["items"], ready["level"]) == ("myplugin", 2, "info")
    slow = next(r for r in records if r["event"] == "plugin_slow")
    assert (slow["plugin"], slow["request"], slow["level"]) == ("myplugin", "r1", "warning")
    # structlog's .bind() at import froze that logger with the defaults: console text.
    frozen = [line for line in lines if "frozen_ready" in line]
    assert frozen and not frozen[0].startswith("{")
