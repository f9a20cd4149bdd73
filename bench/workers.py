"""Requests per second with one worker process and with two (``pyframe run --workers N``).

    uv run python bench/workers.py [--rounds 3] [--duration 5] [--workers 1 2]

Each variant is started fresh per round through ``pyframe.runner.run_target`` (one worker runs
in-process; two run under the supervisor on one shared socket), access log off. wrk runs
unpinned, ``wrk -t1 -c64 -d<S>s --latency`` against 127.0.0.1, after one second of unmeasured
load. Rounds are interleaved (1 2 1 2 ...); the table has the medians, wrk's CPU share (its
CPU seconds over the run's wall time: wrk shares the two cores with the workers, so this says
how much of the machine the load generator took) and the server's (supervisor plus workers).
This module is also the served app: the workers import ``workers:app``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchlib import HOST, cpu_seconds, fetch, free_port, median, run_wrk, wait_for_quiet


BENCH_DIR = Path(__file__).resolve().parent
ENDPOINTS = {"plaintext": "/plaintext", "json": "/json"}

# The same endpoints as every other pyframe bench variant.
sys.path.insert(0, str(BENCH_DIR / "apps"))
from _pyframe_common import build_app  # noqa: E402

app = build_app()


def children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


class Variant:
    """``run_target('workers:app', workers=N)`` in a child process."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self.port = free_port()
        self.log = Path(tempfile.gettempdir()) / f"bench-workers-{self.port}.log"
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 60.0) -> None:
        env = {**os.environ, "PYFRAME_LOGGING__ACCESS_LOG": "false",
               "PYFRAME_LOGGING__FORMAT": "json"}
        code = ("import sys; from pyframe.runner import run_target; sys.exit(run_target("
                f"'workers:app', host={HOST!r}, port={self.port}, workers={self.workers}))")
        with self.log.open("wb") as log:
            self.proc = subprocess.Popen([sys.executable, "-c", code], cwd=BENCH_DIR, env=env,
                                         stdout=subprocess.DEVNULL, stderr=log)
        # Ready when the supervisor (or the lone process) says every worker listens.
        deadline = time.perf_counter() + timeout
        while not self._ready():
            if self.proc.poll() is not None:
                raise RuntimeError(f"the server exited: {self.log.read_text()[-2000:]}")
            if time.perf_counter() > deadline:
                raise TimeoutError(f"not ready after {timeout} s: {self.log}")
            time.sleep(0.02)  # a poll interval for the log line
        for path in ENDPOINTS.values():
            status, _ = fetch(self.port, "GET", path)
            assert status == 200, (path, status)

    def _ready(self) -> bool:
        for line in self.log.read_text(errors="replace").splitlines():
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if event.get("event") == "server_listening" and (
                    self.workers == 1 or event.get("role") == "supervisor"):
                return True
        return False

    def pids(self) -> list[int]:
        assert self.proc is not None
        return [self.proc.pid, *children(self.proc.pid)]

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.unlink(missing_ok=True)


def measure(variant: Variant, path: str, duration: int) -> dict[str, float]:
    url = f"http://{HOST}:{variant.port}{path}"
    # Start when no other process loads the two cores (a shared machine), then warm up.
    busy, _ = wait_for_quiet((0, 1), limit=0.15, timeout=60)
    run_wrk(url, duration=1, core="0,1")  # warm-up, not measured
    pids = variant.pids()
    before = sum(cpu_seconds(p) for p in pids)
    start = time.perf_counter()
    result = run_wrk(url, duration=duration, core="0,1")
    wall = time.perf_counter() - start
    server_cpu = sum(cpu_seconds(p) for p in pids) - before
    if result.non_2xx or result.socket_errors:
        raise RuntimeError(f"{variant.workers} workers {path}: {result.non_2xx} non-2xx, "
                           f"{result.socket_errors} socket errors")
    return {"rps": result.requests_per_s, "p50": result.p50_ms, "p99": result.p99_ms,
            "wrk_cpu": result.wrk_cpu_share, "server_cpu": server_cpu / wall, "busy_before": busy}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=5)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    results: dict[tuple[int, str], list[dict[str, float]]] = {}
    for round_ in range(args.rounds):
        for workers in args.workers:
            variant = Variant(workers)
            variant.start()
            try:
                for name, path in ENDPOINTS.items():
                    sample = measure(variant, path, args.duration)
                    results.setdefault((workers, name), []).append(sample)
                    print(f"round {round_ + 1} workers={workers} {name}: "
                          f"{sample['rps']:.0f} req/s (cores {sample['busy_before']:.0%} busy "
                          f"before)", file=sys.stderr)
            finally:
                variant.stop()
    print(f"\n{time.strftime('%Y-%m-%d')} · {platform.machine()} · {os.cpu_count()} cores · "
          f"Python {platform.python_version()} · wrk -t1 -c64 -d{args.duration}s, "
          f"median of {args.rounds} rounds\n")
    print("| endpoint | workers | req/s | vs 1 worker | p50 ms | p99 ms | wrk CPU | server CPU |")
    print("|---|---|---|---|---|---|---|---|")
    for name in ENDPOINTS:
        base = median([s["rps"] for s in results[(args.workers[0], name)]])
        for workers in args.workers:
            samples = results[(workers, name)]
            rps = median([s["rps"] for s in samples])
            print(f"| {name} | {workers} | {rps:,.0f} | {rps / base:.2f}x | "
                  f"{median([s['p50'] for s in samples]):.2f} | "
                  f"{median([s['p99'] for s in samples]):.2f} | "
                  f"{median([s['wrk_cpu'] for s in samples]):.0%} | "
                  f"{median([s['server_cpu'] for s in samples]):.0%} |")


if __name__ == "__main__":
    main()
