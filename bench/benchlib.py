"""Pieces the bench scripts share: pinned server processes, readiness, wrk runs, CPU time.

Everything here is bounded: readiness polls with a deadline, wrk runs get a timeout, servers are
stopped with SIGTERM then SIGKILL. Nothing sleeps for a fixed time to wait for a server.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import os
import platform
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["BENCH_DIR", "APPS_DIR", "PEERS_PYTHON", "Server", "WrkResult", "free_port",
           "wait_for_port", "run_wrk", "cpu_seconds", "tree_cpu_seconds", "terminate",
           "core_times", "median", "fetch", "export_commit", "wait_for_quiet", "descendants",
           "rss_kib", "start_redis", "prepare_client_process", "measure_each", "FANOUT_DEADLINE",
           "http_json", "connect_clients", "AppServer", "print_report"]

BENCH_DIR = Path(__file__).resolve().parent
APPS_DIR = BENCH_DIR / "apps"
PEERS_PYTHON = BENCH_DIR / ".venv-peers" / "bin" / "python"
HOST = "127.0.0.1"
_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_model() -> str:
    """The CPU's name from /proc/cpuinfo, or the architecture where that is not readable."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.machine()


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def wait_for_port(port: int, deadline: float, proc: subprocess.Popen | None = None) -> float:
    """Poll until ``port`` accepts a connection; the time it first did. Raises on timeout."""
    while True:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"the server exited with code {proc.returncode} before listening")
        try:
            with socket.create_connection((HOST, port), timeout=0.2):
                return time.perf_counter()
        except OSError:
            if time.perf_counter() > deadline:
                raise TimeoutError(f"nothing answered on port {port} before the deadline")
            time.sleep(0.005)  # a poll interval, not a wait for readiness


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process (all its threads) from /proc/<pid>/stat."""
    raw = Path(f"/proc/{pid}/stat").read_text()
    fields = raw[raw.rindex(")") + 2:].split()  # the command name may contain spaces
    # After the name: state is field 3 of stat(5), so utime (14) and stime (15) are at 11, 12.
    return (int(fields[11]) + int(fields[12])) / _TICKS


def terminate(proc: subprocess.Popen, grace: float = 10.0) -> None:
    """SIGTERM, then SIGKILL if the process has not exited within ``grace`` seconds."""
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(grace)


def descendants(pid: int) -> list[int]:
    """``pid`` and every live process below it (a server's workers, granian's children)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            raw = (entry / "stat").read_text()
        except OSError:
            continue  # gone meanwhile
        ppid = int(raw[raw.rindex(")") + 2:].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, ()))
    return found


def tree_cpu_seconds(pid: int) -> float:
    """cpu_seconds of a process and every live descendant (a server that serves from worker
    processes it spawned, like granian)."""
    total = 0.0
    for current in descendants(pid):
        try:
            total += cpu_seconds(current)
        except OSError:
            continue  # gone meanwhile
    return total


def rss_kib(pids: list[int]) -> int:
    """The resident memory of these processes together, KiB (those gone count 0)."""
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total


def start_redis(workdir: Path, core: int | None = None) -> tuple[subprocess.Popen, str] | None:
    """A redis-server of the bench's own on a free port (never the shared one), and its URL;
    None without redis-server. ``core``: pinned to that CPU core (the load generator's, so
    the server measured keeps its core to itself). Stop it with ``terminate``."""
    binary = shutil.which("redis-server")
    if binary is None:
        return None
    port = free_port()
    proc = subprocess.Popen([binary, "--port", str(port), "--bind", HOST, "--save", "",
                             "--appendonly", "no", "--dir", str(workdir)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if core is not None and os.cpu_count() and os.cpu_count() > core:
        os.sched_setaffinity(proc.pid, {core})
    return proc, f"redis://{HOST}:{port}/0"


def prepare_client_process(clients: int) -> Callable[[Any], Any]:
    """For a bench whose clients are sockets of this process: the open-file limit raised as
    far as the hard limit allows (the servers inherit it; exits when still too low for
    ``clients``), this process pinned to core 1 (servers on core 0), and the loop runner
    (uvloop's when installed)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = hard if hard != resource.RLIM_INFINITY else 1 << 20
    resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    if wanted < clients + 100:
        sys.exit(f"the open-file limit is {wanted}: too few for {clients} clients")
    os.sched_setaffinity(0, {1} if os.cpu_count() and os.cpu_count() > 1 else {0})
    try:
        import uvloop

        return uvloop.run
    except ImportError:
        return asyncio.run


async def measure_each(names: list[str], prefix: str, serve: Callable[..., Any],
                       measure: Callable[[Any], Awaitable[dict[str, Any]]]) -> list[dict[str, Any]]:
    """Each named server in turn: ``serve(name, workdir, redis_url)`` starts it (a private
    redis-server for ``pyframe_redis``), ``await measure(server)`` measures it, then it (and
    its Redis) is stopped. Results are printed as JSON lines to stderr as they come."""
    results = []
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        workdir = Path(tmp)
        for name in names:
            redis = None
            if name == "pyframe_redis":
                redis = start_redis(workdir)
                if redis is None:
                    print("pyframe_redis skipped: no redis-server", file=sys.stderr)
                    continue
            server = serve(name, workdir, redis[1] if redis else None)
            try:
                results.append(await measure(server))
                print(json.dumps(results[-1]), file=sys.stderr)
            finally:
                server.stop()
                if redis is not None:
                    terminate(redis[0])
    return results


def core_times(core: int) -> tuple[float, float]:
    """(busy, total) seconds of one CPU core since boot, from /proc/stat."""
    with open("/proc/stat") as f:
        for line in f:
            if line.startswith(f"cpu{core} "):
                ticks = [int(x) for x in line.split()[1:]]
                idle = ticks[3] + ticks[4]  # idle + iowait
                total = sum(ticks[:8])  # guest time is already inside user
                return (total - idle) / _TICKS, total / _TICKS
    raise RuntimeError(f"no cpu{core} line in /proc/stat")


def export_commit(rev: str, dest: Path) -> tuple[str, str]:
    """Export the core and plugin sources of ``rev`` (git archive, no checkout, no worktree)
    into ``dest``; returns (full sha, PYTHONPATH that puts them before the editable installs).
    """
    repo = BENCH_DIR.parent
    sha = subprocess.run(["git", "rev-parse", "--verify", f"{rev}^{{commit}}"], cwd=repo,
                         check=True, capture_output=True, text=True, timeout=30).stdout.strip()
    dest.mkdir(parents=True, exist_ok=True)
    archive = subprocess.run(["git", "archive", sha, "core", "plugins"], cwd=repo, check=True,
                             capture_output=True, timeout=60).stdout
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True, timeout=60)
    paths = [dest / "core" / "src"] + sorted((dest / "plugins").glob("*/src"))
    return sha, os.pathsep.join(str(p) for p in paths)


def wait_for_quiet(cores: tuple[int, ...] = (0, 1), limit: float = 0.15, window: float = 0.3,
                   timeout: float = 60.0) -> tuple[float, float]:
    """Wait (up to ``timeout``) until every core in ``cores`` is at most ``limit`` busy over a
    ``window``-second sample: on a shared machine, start a measurement when nobody else is
    loading the benchmark's cores. Returns (busiest core's share in the last window, seconds
    waited)."""
    began = time.perf_counter()
    while True:
        before = [core_times(c) for c in cores]
        time.sleep(window)  # the sampling window, not a wait for an event
        after = [core_times(c) for c in cores]
        busy = max((a[0] - b[0]) / (a[1] - b[1]) if a[1] > b[1] else 0.0
                   for a, b in zip(after, before))
        waited = time.perf_counter() - began
        if busy <= limit or waited >= timeout:
            return busy, waited


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


class Server:
    """A bench app started as ``taskset -c <core> python apps/<script> --port N``."""

    def __init__(self, script: str, python: str, *, core: int = 0,
                 env: dict[str, str] | None = None, log_dir: Path | None = None,
                 nice: int = 0) -> None:
        self.script = script
        self.python = python
        self.core = core
        self.env = {**os.environ, **(env or {})}
        self.port = free_port()
        self.log_path = Path(log_dir or tempfile.gettempdir()) / f"{Path(script).stem}-{self.port}.log"
        self.nice = nice
        self.proc: subprocess.Popen | None = None

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self, timeout: float = 30.0) -> float:
        """Start and wait until the port answers; returns the seconds that took."""
        log = self.log_path.open("wb")
        started = time.perf_counter()
        # nice and taskset exec the interpreter, so proc.pid is the server's own pid.
        cmd = ["nice", "-n", str(self.nice)] if self.nice else []
        self.proc = subprocess.Popen(
            cmd + ["taskset", "-c", str(self.core), self.python, str(APPS_DIR / self.script),
                   "--host", HOST, "--port", str(self.port)],
            cwd=APPS_DIR, env=self.env, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True)
        log.close()
        try:
            ready = wait_for_port(self.port, started + timeout, self.proc)
        except (RuntimeError, TimeoutError) as exc:
            self.stop()
            raise RuntimeError(f"{self.script}: {exc}; log: {self.log_path}\n"
                               f"{self.log_tail()}") from None
        return ready - started

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def log_tail(self, lines: int = 15) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])

    def stop(self, grace: float = 5.0) -> None:
        if self.proc is not None:
            terminate(self.proc, grace)

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()


def fetch(port: int, method: str, path: str, body: bytes | None = None,
          headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection(HOST, port, timeout=5)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


@dataclass
class WrkResult:
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    requests: int
    non_2xx: int
    socket_errors: int
    wrk_cpu_share: float  # wrk's CPU seconds / wall seconds (1.0 = its core was saturated)
    server_cpu_share: float
    # Busy time of the server's core not spent in the server process: other processes on the
    # machine, and the kernel's loopback networking (softirq) charged to that core.
    core_other_share: float
    raw: str = field(repr=False, default="")

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "raw"}


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _latency_ms(text: str, percentile: str) -> float:
    m = re.search(rf"^\s*{percentile}%\s+([\d.]+)(us|ms|s|m)\s*$", text, re.M)
    return float(m.group(1)) * _UNITS[m.group(2)] if m else float("nan")


def parse_wrk(text: str) -> dict[str, Any]:
    rps = re.search(r"^Requests/sec:\s+([\d.]+)", text, re.M)
    total = re.search(r"^\s*(\d+) requests in", text, re.M)
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    if rps is None or total is None:
        raise RuntimeError(f"cannot read wrk's output:\n{text}")
    return {
        "requests_per_s": float(rps.group(1)),
        "requests": int(total.group(1)),
        "p50_ms": _latency_ms(text, "50"),
        "p99_ms": _latency_ms(text, "99"),
        "non_2xx": int(non2xx.group(1)) if non2xx else 0,
        "socket_errors": sum(int(g) for g in sock.groups()) if sock else 0,
    }


def run_wrk(url: str, *, duration: int, connections: int = 64, threads: int = 1,
            core: int = 1, script: Path | None = None, server_pid: int | None = None,
            server_core: int = 0, headers: dict[str, str] | None = None,
            nice: int = 0) -> WrkResult:
    """One pinned wrk run (whole seconds: wrk takes no fractions); CPU shares over that run."""
    cmd = ["nice", "-n", str(nice)] if nice else []
    cmd += ["taskset", "-c", str(core), "wrk", f"-t{threads}", f"-c{connections}",
           f"-d{duration}s", "--latency"]
    for name, value in (headers or {}).items():
        cmd += ["-H", f"{name}: {value}"]
    if script is not None:
        cmd += ["-s", str(script)]
    cmd.append(url)
    with tempfile.TemporaryFile() as out:
        server_cpu0 = tree_cpu_seconds(server_pid) if server_pid else 0.0
        core_busy0, core_total0 = core_times(server_core)
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
        try:
            # Wait for the exit without reaping, so /proc/<pid>/stat still holds wrk's CPU
            # time (a zombie keeps its counters until it is reaped).
            _wait_exit_unreaped(proc.pid, duration + 30)
            wall = time.perf_counter() - start
            wrk_cpu = cpu_seconds(proc.pid)
            server_cpu = (tree_cpu_seconds(server_pid) - server_cpu0 if server_pid
                          else float("nan"))
            core_busy1, core_total1 = core_times(server_core)
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
        out.seek(0)
        text = out.read().decode(errors="replace")
    if proc.returncode != 0:
        raise RuntimeError(f"wrk exited with {proc.returncode}:\n{text}")
    parsed = parse_wrk(text)
    core_span = core_total1 - core_total0
    core_busy = (core_busy1 - core_busy0) / core_span if core_span > 0 else float("nan")
    return WrkResult(**parsed, wrk_cpu_share=wrk_cpu / wall, server_cpu_share=server_cpu / wall,
                     core_other_share=max(0.0, core_busy - server_cpu / wall), raw=text)


def _wait_exit_unreaped(pid: int, timeout: float) -> None:
    deadline = time.perf_counter() + timeout
    flags = os.WEXITED | os.WNOWAIT | os.WNOHANG
    while os.waitid(os.P_PID, pid, flags) is None:
        if time.perf_counter() > deadline:
            raise TimeoutError(f"wrk (pid {pid}) ran past its deadline")
        time.sleep(0.02)  # a poll interval for the child's exit


def dump_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")


# -- fan-out benches (bench/ws.py, bench/sse.py): many clients of this process, one server ---

FANOUT_DEADLINE = 120.0  # seconds for any one phase of a fan-out bench


async def http_json(port: int, method: str, path: str, body: bytes = b"") -> Any:
    """One request on a connection of its own; the JSON of a 200 answer (chunked or not)."""
    reader, writer = await asyncio.open_connection(HOST, port)
    try:
        writer.write(f"{method} {path} HTTP/1.1\r\nHost: {HOST}\r\nContent-Length: {len(body)}"
                     f"\r\nConnection: close\r\n\r\n".encode() + body)
        raw = await asyncio.wait_for(reader.read(), FANOUT_DEADLINE)
    finally:
        writer.close()
    head, _, payload = raw.partition(b"\r\n\r\n")
    if b" 200 " not in head.split(b"\r\n")[0]:
        raise RuntimeError(f"{method} {path}: {head[:80]!r}")
    if b"chunked" in head.lower():
        payload = payload.split(b"\r\n", 1)[1].rsplit(b"\r\n0\r\n", 1)[0]
    return json.loads(payload)


async def connect_clients(port: int, count: int,
                          make_client: Callable[[], asyncio.Protocol]) -> list[Any]:
    """``count`` connections made with ``make_client``, 250 in flight at a time (under the
    listen backlog), each awaited until its ``greeted`` future is done."""
    loop = asyncio.get_running_loop()
    clients: list[Any] = []
    batch = 250
    async with asyncio.timeout(FANOUT_DEADLINE):
        for start in range(0, count, batch):
            made = await asyncio.gather(*(loop.create_connection(make_client, HOST, port)
                                          for _ in range(min(batch, count - start))))
            fresh = [protocol for _, protocol in made]
            await asyncio.gather(*(c.greeted for c in fresh))
            clients += fresh
    return clients


class AppServer:
    """A server a bench writes into a folder of its own and starts: ``write`` its files, then
    ``start`` its command. ``ready`` waits until ``/stats`` answers from every worker (each
    answer carries the worker's ``pid``)."""

    def __init__(self, name: str, workdir: Path) -> None:
        self.name = name
        self.port = free_port()
        self.workdir = workdir / name
        self.workdir.mkdir()
        self.workers = 1
        self.proc: subprocess.Popen | None = None

    def write(self, filename: str, text: str) -> None:
        (self.workdir / filename).write_text(text)

    def pyframe_command(self, redis_url: str | None) -> list[str]:
        """``pyframe run app:app``: pinned to core 0, or with a Redis URL two workers."""
        argv = [sys.executable, "-m", "pyframe", "run", "app:app", "--host", HOST,
                "--port", str(self.port)]
        return argv + ["--workers", "2"] if redis_url else ["taskset", "-c", "0", *argv]

    def start(self, argv: list[str], workers: int = 1) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PYFRAME_")}
        self.workers = workers
        self.proc = subprocess.Popen(argv, cwd=self.workdir, env=env, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    async def ready(self, timeout: float = 60.0) -> None:
        assert self.proc is not None
        deadline = time.perf_counter() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}")
            try:
                pids = {(await http_json(self.port, "GET", "/stats"))["pid"] for _ in range(8)}
                if len(pids) >= self.workers:
                    return
            except OSError:
                pass
            if time.perf_counter() > deadline:
                raise TimeoutError(f"{self.name} did not answer")
            await asyncio.sleep(0.05)  # a poll step, with the deadline above

    def rss(self) -> int:
        assert self.proc is not None
        return rss_kib(descendants(self.proc.pid))

    def stop(self) -> None:
        if self.proc is not None:
            terminate(self.proc)


def print_report(table: str, results: list[dict[str, Any]], json_path: Path | None) -> None:
    """The machine line and a bench's table on stdout; the raw results to ``json_path``."""
    print(f"\nMachine: {cpu_model()}, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}, {time.strftime('%Y-%m-%d %H:%M')}\n")
    print(table)
    if json_path:
        json_path.write_text(json.dumps(results, indent=2))
