"""Cold start: from launching a process to the first TCP connection its port accepts.

    uv run python bench/coldstart.py [--runs 5]

The pyframe app is demo-like (a handful of routes, a static mount) with every installed
plugin of the demo enabled from a pyframe.toml, so entry-point discovery, plugin import and
config validation are all inside the measured time. References: the bare interpreter, and a
plain aiohttp app. Every process is pinned to core 0; median of ``--runs``.

Bytecode: this sandbox sets PYTHONDONTWRITEBYTECODE=1 and the venv holds no .pyc files, so
by default every start compiles every module. The "warm" rows point PYTHONPYCACHEPREFIX at a
private cache (primed by one unmeasured start) as a pip-installed deployment would have; the
"no .pyc" rows are the environment as it is.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchlib import BENCH_DIR, free_port, median, wait_for_port

PYFRAME_APP = """
import sys
from pyframe import PyFrameApp
app = PyFrameApp()
app.add_static_path('/static', {static!r})
@app.get('/')
async def index(context):
    return 'hello'
@app.get('/api/notes/<int:note_id>')
async def note(context):
    return {{'id': context.params['note_id']}}
@app.post('/api/notes')
async def add(context):
    return {{'status': 201, 'body': context.json}}
"""
# `python -c` runs the module text plus this line; `pyframe run` imports the module as is.
RUN_LINE = "app.run('127.0.0.1', int(sys.argv[1]))\n"

AIOHTTP_APP = """
import sys, asyncio, uvloop
from aiohttp import web
async def index(request):
    return web.Response(text='hello')
async def main():
    app = web.Application()
    app.router.add_get('/', index)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, '127.0.0.1', int(sys.argv[1])).start()
    await asyncio.Event().wait()
uvloop.run(main())
"""

# The demo's plugins; static is enabled by the app's add_static_path.
PLUGINS = ("cors", "compression", "metrics")


def installed_demo_plugins() -> list[str]:
    from pyframe.plugin.discovery import installed_plugins

    found = installed_plugins()
    return [p for p in PLUGINS + ("static",) if p in found]


def time_start(cmd: list[str], cwd: Path, env: dict[str, str], port: int) -> float:
    """Seconds from Popen to the port accepting a connection."""
    start = time.perf_counter()
    proc = subprocess.Popen(["taskset", "-c", "0", *cmd, str(port)], cwd=cwd, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True)
    try:
        ready = wait_for_port(port, start + 60, proc)
    except (RuntimeError, TimeoutError) as exc:
        err = proc.stderr.read().decode(errors="replace") if proc.poll() is not None else ""
        raise RuntimeError(f"{' '.join(cmd[:3])}...: {exc}\n{err[-2000:]}") from None
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return ready - start


def measure(label: str, cmd: list[str], cwd: Path, env: dict[str, str], runs: int,
            prime: bool) -> None:
    try:
        if prime:
            time_start(cmd, cwd, env, free_port())
        times = [time_start(cmd, cwd, env, free_port()) for _ in range(runs)]
    except RuntimeError as exc:
        print(f"| {label} | failed: {str(exc).splitlines()[-1][:200]} | | |", flush=True)
        return
    print(f"| {label} | {median(times) * 1000:.0f} | {min(times) * 1000:.0f} | "
          f"{max(times) * 1000:.0f} |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    plugins = installed_demo_plugins()
    work = Path(tempfile.mkdtemp(prefix="pyframe-coldstart-"))
    cache = work / "pycache"
    static = work / "static"
    static.mkdir()
    (static / "hello.txt").write_text("hello\n")
    # [plugins.<id>] sections with defaults: enabled by config, found by entry point.
    (work / "pyframe.toml").write_text(
        "[logging]\naccess_log = false\n" +
        "".join(f"[plugins.{p}]\n" for p in plugins if p != "static"))
    app_source = PYFRAME_APP.format(static=str(static))
    (work / "pyframe_app.py").write_text(app_source)
    (work / "aiohttp_app.py").write_text(AIOHTTP_APP)
    python = sys.executable
    base = {k: v for k, v in os.environ.items() if k not in ("PYTHONPYCACHEPREFIX",)}
    warm = {**base, "PYTHONPYCACHEPREFIX": str(cache)}
    warm.pop("PYTHONDONTWRITEBYTECODE", None)
    cold = {**base, "PYTHONDONTWRITEBYTECODE": "1"}
    pyframe_cli = Path(python).with_name("pyframe")
    print(f"plugins enabled from pyframe.toml (+ static by add_static_path): "
          f"{', '.join(plugins) or '(none installed)'}")
    print(f"start to first accepted connection, {args.runs} runs\n")
    print("| what | median ms | min ms | max ms |\n|---|---:|---:|---:|")
    # The interpreter alone, for scale: it "answers" when it exits.
    for label, env in (("python -c pass (warm .pyc)", warm), ("python -c pass (no .pyc)", cold)):
        t = []
        for _ in range(args.runs):
            start = time.perf_counter()
            subprocess.run(["taskset", "-c", "0", python, "-c", "pass"], env=env, check=True)
            t.append(time.perf_counter() - start)
        print(f"| {label} | {median(t) * 1000:.0f} | {min(t) * 1000:.0f} | "
              f"{max(t) * 1000:.0f} |", flush=True)
    for suffix, env, prime in ((" (warm .pyc)", warm, True), (" (no .pyc)", cold, False)):
        measure("plain aiohttp app, python -c" + suffix,
                [python, "-c", AIOHTTP_APP], work, env, args.runs, prime)
        measure(f"pyframe demo-like app, {len(plugins)} plugins, python -c" + suffix,
                [python, "-c", app_source + RUN_LINE], work, env,
                args.runs, prime)
        if pyframe_cli.exists():
            measure(f"pyframe run pyframe_app:app (the CLI){suffix}",
                    [str(pyframe_cli), "run", "pyframe_app:app", "--port"], work, env, args.runs,
                    prime)
    uv = shutil.which("uv")
    if uv and pyframe_cli.exists():
        measure("uv run pyframe run pyframe_app:app (warm .pyc, uv's own start included)",
                [uv, "run", "--project", str(BENCH_DIR.parent), "pyframe", "run",
                 "pyframe_app:app", "--port"], work, warm, args.runs, True)
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
