"""Bench for the metrics plugin; run by hand, prints two tables.

    uv run python bench/plugin_metrics.py [--rounds 3] [--duration 5] [--skip-http]

1. Throughput of a tiny app (GET /users/<int:id> answering a short JSON object) without and
   with the metrics plugin: the server runs as a subprocess pinned with ``taskset -c 0``, wrk
   with ``taskset -c 1 wrk -t1 -c64``, both on 127.0.0.1, access log off. The variants are
   interleaved over rounds; the table shows the median.
2. The microseconds the metrics middleware adds per request, called in-process against a
   prepared response (less noisy than 1 on a shared machine).
"""


from __future__ import annotations

import argparse
import asyncio
import os
import platform
import re
import statistics
import subprocess
import sys
import time

import benchlib  # bench/ is the script's own folder, so first on sys.path

HOST = "127.0.0.1"
VARIANTS = ("without", "with")
PATH = "/users/42"


# The server side: `--serve <variant> --port N` runs the tiny app.
def serve(variant: str, port: int) -> None:
    from pyframe import PyFrameApp

    app = PyFrameApp()
    if variant == "with":
        app.plugins.enable("metrics")

    @app.get("/users/<int:id>")
    async def user(context):
        return {"id": context.params["id"], "name": "ada"}

    app.run(HOST, port)


# The client side.
def wait_for_port(port: int, proc: subprocess.Popen, timeout: float = 20.0) -> None:
    benchlib.wait_for_port(port, time.perf_counter() + timeout, proc)


def run_wrk(port: int, duration: int) -> tuple[float, str]:
    result = benchlib.run_wrk(f"http://{HOST}:{port}{PATH}", duration=duration)
    if result.non_2xx or result.socket_errors:
        raise RuntimeError(f"wrk saw errors:\n{result.raw}")
    return result.requests_per_s, f"p99 {result.p99_ms:.2f}ms"


def fetch(port: int, path: str) -> str:
    import urllib.request

    with urllib.request.urlopen(f"http://{HOST}:{port}{path}", timeout=10) as resp:
        return resp.read().decode()


def bench_variant(variant: str, duration: int) -> tuple[float, str, int]:
    port = benchlib.free_port()
    env = dict(os.environ, PYFRAME_LOGGING__ACCESS_LOG="false", PYFRAME_LOGGING__LEVEL="warning")
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    proc = subprocess.Popen(["taskset", "-c", "0", sys.executable, __file__, "--serve", variant,
                             "--port", str(port)], env=env)
    try:
        wait_for_port(port, proc)
        run_wrk(port, 1)  # warm-up
        rps, latency = run_wrk(port, duration)
        counted = -1
        if variant == "with":
            # The plugin really counted what wrk sent (warm-up included).
            counted = int(re.findall(r'route="/users/<int:id>",status="200"} ([\d.e+]+)',
                                     fetch(port, "/metrics"))[0].split(".")[0])
        return rps, latency, counted
    finally:
        benchlib.terminate(proc)


def http_table(rounds: int, duration: int) -> None:
    results: dict[str, list[tuple[float, str, int]]] = {v: [] for v in VARIANTS}
    for _ in range(rounds):
        for variant in VARIANTS:
            results[variant].append(bench_variant(variant, duration))
    base = statistics.median(r for r, _, _ in results["without"])
    print(f"\n## Throughput, GET {PATH} (wrk -t1 -c64 -d{duration}s, server on core 0, wrk on "
          f"core 1, median of {rounds})\n")
    print("| metrics plugin | requests/s | vs without | µs/request | latency (avg, last round) |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for variant, runs in results.items():
        rps = statistics.median(r for r, _, _ in runs)
        print(f"| {variant} | {rps:,.0f} | {100 * (rps / base - 1):+.1f}% | "
              f"{1e6 / rps:.1f} | {runs[-1][1]} |")
    print(f"\nrequests counted by the plugin in the last round: {results['with'][-1][2]:,}")


async def middleware_cost(n: int = 200_000) -> tuple[float, float]:
    """(µs per call of a pass-through middleware, µs per call of the metrics middleware)."""
    from pyframe import PyFrameApp, Response, Route

    app = PyFrameApp()
    app.plugins.enable("metrics")
    await app.startup()
    try:
        metrics_mw = app.plugins.get("metrics").middleware
        response = Response(b"{}", content_type="application/json")

        async def call_next(context):
            return response

        async def passthrough(context, call_next):
            return await call_next(context)

        class Context:  # what the middleware reads: the method and the matched route
            method = "GET"
            route = Route("/users/<int:id>", ["GET"], call_next)

        context = Context()
        results = []
        for mw in (passthrough, metrics_mw):
            best = float("inf")
            for _ in range(3):
                start = time.perf_counter()
                for _ in range(n):
                    await mw(context, call_next)
                best = min(best, (time.perf_counter() - start) / n)
            results.append(best * 1e6)
        return results[0], results[1]
    finally:
        await app.shutdown()


def overhead_table() -> None:
    base, metrics = asyncio.run(middleware_cost())
    print("\n## Metrics middleware cost, in-process (best of 3 × 200,000 calls)\n")
    print("| middleware | µs/call | added by metrics |")
    print("| --- | ---: | ---: |")
    print(f"| pass-through | {base:.2f} | |")
    print(f"| metrics | {metrics:.2f} | {metrics - base:.2f} µs |")



def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--serve", choices=VARIANTS)
    parser.add_argument("--port", type=int)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=5)
    parser.add_argument("--skip-http", action="store_true")
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.port)
        return
    print(f"# metrics plugin bench — {time.strftime('%Y-%m-%d')}, {benchlib.cpu_model()}, "
          f"{os.cpu_count()} CPUs, Python {platform.python_version()}")
    if not args.skip_http:
        http_table(args.rounds, args.duration)
    overhead_table()


if __name__ == "__main__":
    main()
