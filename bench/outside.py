"""outside's page example on pyframe.compat.outside against the same handler on outside 1.5.5
itself: requests per second at 64 connections.

    uv run python bench/outside.py [--rounds 3] [--duration 10] [--only NAMES]

outside is installed only in bench/.venv-peers (``bench/setup_peers.sh`` pins
outside-framework==1.5.5); it is never a pyframe dependency. Without it the outside rows are
skipped and say so.

| variant | what runs |
|---|---|
| `outside` | `apps/outside_example.py` on outside 1.5.5, wrk's plain requests: HTTP/1.1 without a `Connection` header, which outside answers with `Connection: close`, so every request is a new connection and a new process |
| `outside_keepalive` | the same, wrk sending `Connection: keep-alive` (the one spelling outside keeps a connection for) |
| `compat` | the same file on `pyframe.compat.outside` (its handler in pyframe's thread pool), access log off |
| `native` | `apps/outside_native.py`: the handler as a plain `def` on a `PyFrameApp` |

Each run starts its server fresh, pinned to core 0 (outside's forked children inherit the
pin), with wrk pinned to core 1: ``wrk -t1 -c64 -d<S>s --latency`` against
``http://127.0.0.1:<port>/hello``, after one second of unmeasured load. Rounds are interleaved
and the table has medians. Before each run the harness waits (up to 30 s) for cores 0 and 1 to
be idle. outside's errors (refused or reset connections, wrk timeouts) are counted, not fatal.
"""

from __future__ import annotations

import argparse
import os
import platform
import signal
import subprocess
import sys
import time

from benchlib import (
    PEERS_PYTHON,
    Server,
    cpu_model,
    fetch,
    median,
    run_wrk,
    wait_for_quiet,
)

PATH = "/hello"
EXPECTED = b"Hello, World!"
NICE = -10 if os.geteuid() == 0 else 0
# name: (app script, python, environment, wrk headers)
VARIANTS = {
    "outside": ("outside_example.py", str(PEERS_PYTHON), {"OUTSIDE_FRAMEWORK": "outside"}, {}),
    "outside_keepalive": ("outside_example.py", str(PEERS_PYTHON),
                          {"OUTSIDE_FRAMEWORK": "outside"}, {"Connection": "keep-alive"}),
    "compat": ("outside_example.py", sys.executable, {"OUTSIDE_FRAMEWORK": "pyframe"}, {}),
    "native": ("outside_native.py", sys.executable, {}, {}),
}


def outside_installed() -> bool:
    if not PEERS_PYTHON.exists():
        return False
    check = subprocess.run([str(PEERS_PYTHON), "-c", "import outside"], capture_output=True,
                           timeout=60)
    return check.returncode == 0


def measure(name: str, duration: int) -> dict[str, float]:
    script, python, env, headers = VARIANTS[name]
    server = Server(script, python, core=0, env=env, nice=NICE)
    server.start()
    try:
        status, body = fetch(server.port, "GET", PATH)
        if (status, body) != (200, EXPECTED):
            raise RuntimeError(f"{name}: /hello answered {status} {body[:80]!r}")
        busy, _ = wait_for_quiet((0, 1), limit=0.15, timeout=30)
        url = f"http://127.0.0.1:{server.port}{PATH}"
        run_wrk(url, duration=1, headers=headers, nice=NICE)  # warm-up, not measured
        result = run_wrk(url, duration=duration, headers=headers, server_pid=server.pid,
                         nice=NICE)
    finally:
        server.stop()
        _kill_group(server)
    return {"rps": result.requests_per_s, "p50": result.p50_ms, "p99": result.p99_ms,
            "errors": result.non_2xx + result.socket_errors, "requests": result.requests,
            "wrk_cpu": result.wrk_cpu_share, "server_cpu": result.server_cpu_share,
            "busy_before": busy}


def _kill_group(server: Server) -> None:
    # outside's per-connection processes outlive a stopped parent; the server was started in
    # a session of its own, so its group holds only them.
    try:
        os.killpg(server.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--only", default=",".join(VARIANTS))
    args = parser.parse_args()
    names = [n for n in args.only.split(",") if n]
    unknown = set(names) - set(VARIANTS)
    if unknown:
        parser.error(f"unknown variants: {sorted(unknown)}")
    if not outside_installed():
        skipped = [n for n in names if n.startswith("outside")]
        print(f"outside is not installed in {PEERS_PYTHON} (run bench/setup_peers.sh): "
              f"skipping {skipped}", file=sys.stderr)
        names = [n for n in names if n not in skipped]
    results: dict[str, list[dict[str, float]]] = {}
    for round_ in range(args.rounds):
        for name in names:
            sample = measure(name, args.duration)
            results.setdefault(name, []).append(sample)
            print(f"round {round_ + 1} {name}: {sample['rps']:,.0f} req/s, "
                  f"{sample['errors']:.0f} errors (cores {sample['busy_before']:.0%} busy "
                  f"before)", file=sys.stderr)
    print(f"\n{time.strftime('%Y-%m-%d')} · {cpu_model()} · {os.cpu_count()} cores · "
          f"Python {platform.python_version()} · wrk -t1 -c64 -d{args.duration}s, "
          f"median of {args.rounds} rounds\n")
    print("| variant | req/s | vs outside | p50 ms | p99 ms | errors per run | wrk CPU | "
          "server CPU |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    base = median([s["rps"] for s in results.get("outside", [])])
    for name in names:
        samples = results[name]
        rps = median([s["rps"] for s in samples])
        ratio = f"{rps / base:.1f}x" if base == base and base > 0 else "-"
        print(f"| {name} | {rps:,.0f} | {ratio} | {median([s['p50'] for s in samples]):.2f} | "
              f"{median([s['p99'] for s in samples]):.2f} | "
              f"{median([s['errors'] for s in samples]):,.0f} | "
              f"{median([s['wrk_cpu'] for s in samples]):.0%} | "
              f"{median([s['server_cpu'] for s in samples]):.0%} |")


if __name__ == "__main__":
    main()
