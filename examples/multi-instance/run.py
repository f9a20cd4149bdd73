"""Two instances of the chat (app.py) behind nginx on one Redis: each a `pyframe run` process
tree of its own, all on free ports on 127.0.0.1; and stopping them again. docs/scaling.md
walks through it.

    python run.py [up]     start everything, print the addresses, stop it all on Ctrl-C
    python run.py start    start everything in the background and return (state in --state)
    python run.py stop     stop what `start` started

Run it with the workspace's Python, from anywhere:
`uv run --locked --all-packages python examples/multi-instance/run.py`.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from processes import (ProcessGone, alive, free_port, http_json, log_events,  # noqa: E402
                       redis_answers, same_process, spawn, started_at, stop, tail,
                       wait_until)

__all__ = ["start", "stop_all", "up", "main", "render_nginx_conf", "describe"]

HERE = Path(__file__).resolve().parent
INSTANCES = ("a", "b")
# nginx connects to the instances from this address, the only one they trust to say who the
# client is (pyframe.toml). Here clients and nginx share one machine; on one address a local
# client could claim to be anybody.
PROXY_BIND = "127.0.0.2"
BACKEND_VARIABLES = ("PYFRAME_PLUGINS__WS__BACKEND", "PYFRAME_PLUGINS__SSE__BACKEND",
                     "PYFRAME_PLUGINS__RATELIMIT__BACKEND")
DEFAULT_STATE = Path(tempfile.gettempdir()) / "pyframe-multi-instance"
FIELD = re.compile(r"\{\{(\w+)\}\}")  # a field of nginx.conf: {{prefix}}
MARKER = ".pyframe-multi-instance"  # only a folder holding this is ever deleted
START_DEADLINE = 30.0  # seconds for each process to answer
ATTEMPTS = 3  # free ports can be taken between choosing and binding: try another
# How each one is asked to stop, and how long it gets before SIGKILL. The instances drain
# (open WebSockets are closed with 1001, event streams ended) within their shutdown_timeout;
# by the time nginx is stopped they are gone, so it may drop what it holds at once (SIGTERM):
# a graceful SIGQUIT would wait for browsers' idle pre-opened connections.
STOPPING = {"nginx": (signal.SIGTERM, 10.0), "instance": (signal.SIGTERM, 40.0),
            "redis": (signal.SIGTERM, 10.0)}


def start(state_dir: Path, *, port: int = 0, nginx: str | None = None,
          redis: str | None = None) -> dict[str, Any]:
    """Start Redis, the instances and nginx; the state (also written to state.json)."""
    nginx = nginx or shutil.which("nginx") or _existing("/usr/sbin/nginx")
    redis = redis or shutil.which("redis-server")
    if nginx is None or redis is None:
        raise SystemExit("run.py needs nginx and redis-server (Debian: apt-get install nginx "
                         "redis-server)")
    _check_proxy_address()
    _claim(state_dir)
    state: dict[str, Any] = {"dir": str(state_dir), "processes": {}}
    try:
        redis_port = _start_redis(state, redis)
        state["redis_url"] = f"redis://127.0.0.1:{redis_port}/0"
        for name in INSTANCES:
            _start_instance(state, name)
        nginx_port = _start_nginx(state, nginx, port)
        state["url"] = f"http://127.0.0.1:{nginx_port}/"
        _save(state)
        wait_until(lambda: _every_instance_answers(nginx_port), START_DEADLINE,
                   "answer from every instance through nginx")
    except BaseException:
        stop_all(state, keep=True, quiet=True)
        raise
    return state


def _existing(path: str) -> str | None:
    return path if os.access(path, os.X_OK) else None


def _check_proxy_address() -> None:
    try:
        with socket.socket() as sock:
            sock.bind((PROXY_BIND, 0))
    except OSError as exc:
        raise SystemExit(f"cannot use {PROXY_BIND} as nginx's address ({exc}); on macOS: "
                         f"sudo ifconfig lo0 alias {PROXY_BIND}") from None


def _claim(state_dir: Path) -> None:
    """Make ``state_dir`` ours: new or empty, or one a stopped run left."""
    state_file = state_dir / "state.json"
    if state_file.exists():
        old = json.loads(state_file.read_text())
        if any(same_process(p["pid"], p["started"]) for p in old["processes"].values()):
            raise SystemExit(f"already running from {state_dir}: run.py stop --state "
                             f"{state_dir} first")
    if state_dir.exists() and any(state_dir.iterdir()) and not (state_dir / MARKER).exists():
        raise SystemExit(f"{state_dir} holds files of something else: name another --state")
    if (state_dir / MARKER).exists():
        _remove(state_dir)
    state_dir.mkdir(parents=True, exist_ok=True)
    (state_dir / MARKER).write_text("made by examples/multi-instance/run.py\n")


def _launch(state: dict[str, Any], name: str, kind: str, argv: list[str],
            env: Mapping[str, str], log: Path, **extra: Any) -> int:
    """Spawn a process and record it in state.json before anything can interrupt: a start
    that fails or is stopped half-way leaves nothing running that stop_all does not know."""
    stopping = {signal.SIGINT, signal.SIGTERM}
    signal.pthread_sigmask(signal.SIG_BLOCK, stopping)  # spawn() unblocks them in the child
    try:
        pid = spawn(argv, env=env, log=log)
        state["processes"][name] = {"kind": kind, "pid": pid, "started": started_at(pid),
                                    "log": str(log), **extra}
        _save(state)
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, stopping)
    return pid


def _save(state: dict[str, Any]) -> None:
    path = Path(state["dir"]) / "state.json"
    path.with_suffix(".tmp").write_text(json.dumps(state, indent=2))
    path.with_suffix(".tmp").replace(path)


def _start_redis(state: dict[str, Any], binary: str) -> int:
    workdir = Path(state["dir"]) / "redis"
    workdir.mkdir()
    log = workdir / "redis.log"
    for attempt in range(ATTEMPTS):
        port = free_port()
        # No persistence: the demo's state is short-lived. A memory cap with LRU eviction,
        # as docs/scaling.md advises for a Redis kept for pyframe.
        argv = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                "--appendonly", "no", "--dir", str(workdir), "--maxmemory", "64mb",
                "--maxmemory-policy", "allkeys-lru"]
        pid = _launch(state, "redis", "redis", argv, os.environ, log, port=port)
        try:
            wait_until(lambda: redis_answers(port), START_DEADLINE, "PONG from redis", pid=pid)
            return port
        except ProcessGone:
            if "Address already in use" not in tail(log) or attempt == ATTEMPTS - 1:
                raise RuntimeError(f"redis-server did not start:\n{tail(log)}") from None
    raise AssertionError("unreachable")


def _start_instance(state: dict[str, Any], name: str) -> None:
    log = Path(state["dir"]) / f"{name}.log"
    env = dict(os.environ, CHAT_INSTANCE=name, PYTHONUNBUFFERED="1")
    env.update({variable: state["redis_url"] for variable in BACKEND_VARIABLES})
    # Port 0: the instance binds a free port itself and logs it (server_listening).
    argv = [sys.executable, "-m", "pyframe", "run", f"{HERE / 'app.py'}:app",
            "--host", "127.0.0.1", "--port", "0"]
    pid = _launch(state, name, "instance", argv, env, log)
    try:
        listening = wait_until(lambda: log_events(log, "server_listening"), START_DEADLINE,
                               f"instance {name} listening", pid=pid)
    except (ProcessGone, TimeoutError) as exc:
        raise RuntimeError(f"instance {name} did not start ({exc}):\n{tail(log)}") from None
    url = listening[0]["url"]
    state["processes"][name].update(url=url, port=int(url.rpartition(":")[2]))
    _save(state)


def _start_nginx(state: dict[str, Any], binary: str, port: int) -> int:
    prefix = Path(state["dir"]) / "nginx"
    prefix.mkdir()
    log = prefix / "error.log"
    for attempt in range(ATTEMPTS):
        chosen = port or free_port()
        conf = prefix / "nginx.conf"
        conf.write_text(render_nginx_conf(prefix, chosen, [
            state["processes"][name]["port"] for name in INSTANCES]))
        # -e: nginx opens its error log before reading the config; -g: stay in the
        # foreground, a process of ours to stop, not a daemon that forked away.
        argv = [binary, "-p", str(prefix), "-c", str(conf), "-e", str(log),
                "-g", "daemon off;"]
        pid = _launch(state, "nginx", "nginx", argv, os.environ, log, port=chosen)
        try:
            wait_until(lambda: http_json(chosen, "/instance"), START_DEADLINE,
                       "answer through nginx", pid=pid)
            return chosen
        except ProcessGone:
            if port or "Address already in use" not in tail(log) or attempt == ATTEMPTS - 1:
                raise RuntimeError(f"nginx did not start:\n{tail(log)}") from None
    raise AssertionError("unreachable")


def render_nginx_conf(prefix: Path, port: int, instance_ports: list[int]) -> str:
    """nginx.conf with its {{field}}s filled in."""
    servers = "\n        ".join(f"server 127.0.0.1:{p} max_fails=1 fail_timeout=5s;"
                                for p in instance_ports)
    values = {"prefix": str(prefix), "listen": f"127.0.0.1:{port}", "servers": servers,
              "proxy_bind": PROXY_BIND}

    def fill(match: re.Match[str]) -> str:
        if match.group(1) not in values:
            raise ValueError(f"nginx.conf: unknown field {match.group(0)}")
        return values[match.group(1)]

    return FIELD.sub(fill, (HERE / "nginx.conf").read_text())


def _every_instance_answers(port: int) -> bool:
    seen = set()
    for _ in range(2 * len(INSTANCES)):
        answer = http_json(port, "/instance")
        if answer:
            seen.add(answer["instance"])
    return seen == set(INSTANCES)


def stop_all(state: dict[str, Any], *, keep: bool = False, quiet: bool = False) -> None:
    """Stop the instances (together: they close their WebSockets and end their streams
    through nginx), then nginx, then Redis; remove the state folder unless ``keep``."""
    processes = state["processes"]
    for kind in ("instance", "nginx", "redis"):
        names = [name for name, process in processes.items() if process["kind"] == kind]
        sig, timeout = STOPPING[kind]
        outcomes = stop([(processes[name]["pid"], processes[name]["started"], sig, timeout)
                         for name in names])
        for name, how in zip(names, outcomes):
            if not quiet:
                print(f"{name} (pid {processes[name]['pid']}): {how}", flush=True)
    state_dir = Path(state["dir"])
    (state_dir / "state.json").unlink(missing_ok=True)
    if not keep:
        _remove(state_dir)


def _remove(state_dir: Path) -> None:
    if (state_dir / MARKER).exists():
        shutil.rmtree(state_dir)


def describe(state: dict[str, Any]) -> str:
    processes = state["processes"]
    lines = [f"the chat, through nginx:  {state['url']}"]
    for name in INSTANCES:
        lines.append(f"instance {name}:               {processes[name]['url']} "
                     f"(pid {processes[name]['pid']})")
    lines += [f"redis:                    {state['redis_url']} (pid {processes['redis']['pid']})",
              f"logs and state:           {state['dir']}",
              f"kill an instance (kill -9 {processes[INSTANCES[0]]['pid']}) and watch its tabs "
              f"come back on the other"]
    return "\n".join(lines)


def up(state_dir: Path | None, port: int, keep: bool) -> int:
    """Start, then wait for Ctrl-C (or SIGTERM), reporting any process that exits meanwhile."""
    state_dir = state_dir or Path(tempfile.mkdtemp(prefix="pyframe-multi-instance-"))
    state = start(state_dir, port=port)
    print(describe(state) + "\nCtrl-C stops everything.", flush=True)
    stopping = {signal.SIGINT, signal.SIGTERM}
    signal.pthread_sigmask(signal.SIG_BLOCK, stopping)
    reported: set[str] = set()
    try:
        while signal.sigtimedwait(stopping, 1.0) is None:
            for name, process in state["processes"].items():
                if name not in reported and not alive(process["pid"]):
                    reported.add(name)
                    print(f"{name} (pid {process['pid']}) exited; log: {process['log']}",
                          flush=True)
    finally:
        print("stopping", flush=True)
        stop_all(state, keep=keep)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", nargs="?", default="up", choices=["up", "start", "stop"])
    parser.add_argument("--state", type=Path, default=None,
                        help=f"folder for logs, nginx's prefix and state.json (start and stop: "
                             f"{DEFAULT_STATE}; up: a new temporary folder)")
    parser.add_argument("--port", type=int, default=0,
                        help="nginx's port on 127.0.0.1 (default: a free one)")
    parser.add_argument("--keep", action="store_true",
                        help="stop, up: keep the folder with the logs")
    args = parser.parse_args(argv)
    # SIGTERM like Ctrl-C: whatever was started is stopped again, even half-way through start.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        return _command(args)
    except (RuntimeError, TimeoutError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted: what had started is stopped again", file=sys.stderr)
        return 130


def _command(args: argparse.Namespace) -> int:
    if args.command == "up":
        return up(args.state, args.port, args.keep)
    state_dir = args.state or DEFAULT_STATE
    if args.command == "start":
        state = start(state_dir, port=args.port)
        print(describe(state) + f"\nstop it with: run.py stop --state {state_dir}", flush=True)
        return 0
    state_file = state_dir / "state.json"
    if not state_file.exists():
        print(f"nothing to stop: no {state_file}", file=sys.stderr)
        return 1
    stop_all(json.loads(state_file.read_text()), keep=args.keep)
    return 0


if __name__ == "__main__":
    sys.exit(main())
