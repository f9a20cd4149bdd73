"""Bench for the ratelimit plugin; run by hand, prints three tables.

    uv run python bench/ratelimit.py [--rounds 3] [--duration 5] [--redis own|URL|none] [--skip-http]

1. The cost per request, in-process: the RateLimitMiddleware called on a prepared context and
   response, against a pass-through middleware; on memory:// (admitted with and without the
   RateLimit fields, and refused with a 429) and on Redis (one EVALSHA round trip per call,
   calls one after another). Best of 5 repeats.
2. The whole request path in-process, as bench/inprocess.py drives it (aiohttp's protocol on
   an in-memory transport, uvloop, one keep-alive request at a time): CPU microseconds per
   GET /plaintext with the limiter off and on; and, for scale, the floor: a limiter of a few
   lines (one dict, the GCRA arithmetic, the fields or not) that a real one cannot undercut.
   Steady on a busy machine; best of 7.
3. Throughput with the limiter off and on (memory, memory without the fields, Redis), GET
   /plaintext: the server (bench/apps/pyframe_with_ratelimit.py, uvloop, access log off) pinned to
   core 0, ``wrk -t1 -c64`` pinned to core 1, both on 127.0.0.1; variants interleaved over
   rounds, the median kept, each run started once both cores are quiet. The limit is so
   high that every request is admitted. Issue 20's budgets: memory >= 0.90x, Redis >= 0.60x.

The Redis is a redis-server of the bench's own, pinned to core 1 with wrk so the server keeps
core 0 to itself (``--redis own``, the default; its CPU share is reported), or ``--redis URL``
(every run uses its own key prefix, and the one bucket it makes is deleted at the end). Skip
the Redis rows with ``--redis none``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import benchlib  # bench/ is the script's own folder, so first on sys.path

VARIANTS = ("off", "memory", "memory_noheaders", "redis")
# In-process only: the least a limiter costs (FloorLimiter), with and without the fields.
FLOORS = ("floor", "floor_noheaders")
PATH = "/plaintext"
LIMIT = {"requests_per_minute": 60_000_000, "burst_size": 1_000_000}


# 1. In-process.
class Context:
    """What the limiter reads of a request."""

    def __init__(self, app: Any, route: Any) -> None:
        self.app = app
        self.route = route
        self.method = "GET"
        self.remote_addr = "127.0.0.1"
        self.headers: dict[str, str] = {}
        self.user = None
        self.path = PATH


async def per_call(mw: Any, context: Any, call_next: Any, n: int, repeats: int = 5) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(n):
            await mw(context, call_next)
        best = min(best, (time.perf_counter() - start) / n)
    return best * 1e6


async def inprocess(redis: str | None, n: int) -> list[tuple[str, float]]:
    from pyframe import PyFrameApp, Response
    from pyframe_ratelimit import RateLimitMiddleware

    async def call_next(context: Any) -> Any:
        # A new response per call, as a handler's is: the fields go into a fresh header map.
        return Response(b"Hello, World!", content_type="text/plain")

    async def passthrough(context: Any, call_next: Any) -> Any:
        return await call_next(context)

    cases: list[tuple[str, dict[str, Any], int]] = [
        ("memory, admitted", dict(LIMIT), n),
        ("memory, admitted, headers = false", dict(LIMIT, headers=False), n),
        ("memory, refused (429)", {"requests_per_minute": 1, "burst_size": 1}, n),
    ]
    if redis:
        cases.append(("redis, admitted (one round trip)", dict(LIMIT, backend=redis), n // 20))
    rows = []
    app = PyFrameApp()
    app.get(PATH)(lambda context: "Hello, World!")
    await app.startup()
    try:
        context = Context(app, app.router.match("GET", PATH)[0])
        rows.append(("pass-through middleware", await per_call(passthrough, context,
                                                               call_next, n)))
    finally:
        await app.shutdown()
    for name, options, calls in cases:
        app = PyFrameApp()
        app.get(PATH)(lambda context: "Hello, World!")
        mw = RateLimitMiddleware(**options)
        app.middleware.append(mw)
        await app.startup()
        try:
            context = Context(app, app.router.match("GET", PATH)[0])
            await mw(context, call_next)  # the first call loads the script on Redis
            rows.append((name, await per_call(mw, context, call_next, calls)))
            counters = mw.limiter.counters
            if counters.backend_errors:
                raise RuntimeError(f"{name}: the backend failed {counters.backend_errors} "
                                   f"times: is Redis at {redis}?")
        finally:
            await forget(mw, context)
            await app.shutdown()
    return rows


async def forget(mw: Any, context: Any) -> None:
    """Delete the bucket a case made, through the limiter's own store."""
    limiter = mw.limiter
    if limiter.store is not None:
        plan = limiter.plan(context)
        for key in plan.storage_keys(plan.client_key(context)):
            try:
                await limiter.store.delete(key)
            except Exception as exc:  # a bench never fails on its clean-up
                print(f"(could not delete {key}: {exc})", file=sys.stderr)


def inprocess_table(redis: str | None, n: int) -> None:
    from pyframe.logging import configure_logging

    # As a served app logs (level info): the refusals' debug line costs nothing then.
    configure_logging("info")
    rows = asyncio.run(inprocess(redis, n))
    base = rows[0][1]
    print(f"\n## Cost per request, in-process (best of 5 x {n:,} calls; Redis {n // 20:,})\n")
    print("| case | µs per request | added µs |")
    print("| --- | ---: | ---: |")
    for name, micros in rows:
        print(f"| {name} | {micros:.2f} | {micros - base:+.2f} |")


# 2. The whole request path, in-process.
class FloorLimiter:
    """The least a GCRA limiter can do in Python, for scale only: one dict read and write per
    request, the arithmetic, and (``fields``) the two RateLimit fields. No bound on its keys,
    no TTLs, no rules, no shared store: what the plugin adds on top of it is the rest."""

    returns_response = True

    def __init__(self, fields: bool) -> None:
        from pyframe.plugin import MiddlewareOrder

        self.order = MiddlewareOrder.RATE_LIMIT
        self.fields = fields
        self.tats: dict[str, int] = {}
        self.interval = 1  # µs: 60,000,000 a minute
        self.tolerance = 1_000_000

    async def __call__(self, context: Any, call_next: Any) -> Any:
        key = context.remote_addr
        now = time.monotonic_ns() // 1000
        tat = self.tats.get(key, now)
        base = tat if tat > now else now
        if base + self.interval - now > self.tolerance:
            raise RuntimeError("the floor limiter never refuses in this bench")
        self.tats[key] = new = base + self.interval
        response = await call_next(context)
        if self.fields:
            remaining = (self.tolerance - (new - now)) // self.interval
            headers = response.headers
            headers["RateLimit"] = f'"default";r={remaining};t=1'
            headers["RateLimit-Policy"] = '"default";q=60000000;w=60'
        return response


def app_for(variant: str, redis: str | None) -> Any:
    from _pyframe_common import build_app
    from pyframe_ratelimit import RateLimitMiddleware

    app = build_app()
    if variant == "memory":
        app.middleware.append(RateLimitMiddleware(**LIMIT))
    elif variant == "memory_noheaders":
        app.middleware.append(RateLimitMiddleware(**LIMIT, headers=False))
    elif variant == "redis":
        app.middleware.append(RateLimitMiddleware(**LIMIT, backend=redis))
    elif variant in FLOORS:
        app.middleware.append(FloorLimiter(fields=variant == "floor"))
    return app


async def request_path(redis: str | None, requests: int, repeat: int) -> dict[str, float]:
    import inprocess  # bench/inprocess.py: the in-memory transport and its driver

    variants = [v for v in VARIANTS if v != "redis" or redis] + list(FLOORS)
    apps = {v: app_for(v, redis) for v in variants}
    factories = {}
    for variant, app in apps.items():
        await app.startup()
        factories[variant] = app.make_handler()  # makes one protocol per connection
    try:
        raw = inprocess.REQUESTS["plaintext"]
        best: dict[str, float] = {}
        for _ in range(repeat):  # interleaved, so a slow spell hits every variant alike
            for variant, factory in factories.items():
                n = requests // 10 if variant == "redis" else requests
                us = await inprocess.drive(factory, raw, n) / n * 1e6
                best[variant] = min(us, best.get(variant, us))
        return best
    finally:
        for app in apps.values():
            await app.shutdown()


def request_path_table(redis: str | None, requests: int, repeat: int = 7) -> None:
    import uvloop

    best = uvloop.run(request_path(redis, requests, repeat))
    print(f"\n## The whole request path in-process, GET {PATH} (CPU µs per request, uvloop, "
          f"best of {repeat} x {requests:,}; Redis {requests // 10:,})\n")
    print("| limiter | µs per request | off / this |")
    print("| --- | ---: | ---: |")
    for variant, us in best.items():
        print(f"| {variant} | {us:.1f} | {best['off'] / us:.2f}x |")


# 3. Under load.
def bench_variant(variant: str, duration: int, redis: str | None, nice: int,
                  redis_pid: int | None = None) -> dict[str, Any]:
    env = {"BENCH_RATELIMIT": variant, "PYFRAME_LOGGING__ACCESS_LOG": "false",
           "PYFRAME_LOGGING__LEVEL": "warning"}
    if redis:
        env["BENCH_RATELIMIT_REDIS"] = redis
    with benchlib.Server("pyframe_with_ratelimit.py", sys.executable, env=env, nice=nice) as server:
        server.start()
        status, body = benchlib.fetch(server.port, "GET", PATH)
        if (status, body) != (200, b"Hello, World!"):
            raise RuntimeError(f"{variant}: GET {PATH} answered {status} {body[:80]!r}")
        url = f"http://{benchlib.HOST}:{server.port}{PATH}"
        benchlib.run_wrk(url, duration=1, nice=nice)  # warm-up
        benchlib.wait_for_quiet((1,), limit=0.15, timeout=30)
        redis_before = benchlib.cpu_seconds(redis_pid) if redis_pid else 0.0
        result = benchlib.run_wrk(url, duration=duration, server_pid=server.pid, nice=nice)
        if result.non_2xx or result.socket_errors:
            raise RuntimeError(f"{variant}: wrk saw errors (a refusal means the limit was "
                               f"reached):\n{result.raw}")
        measured = result.as_dict()
        measured["redis_cpu_share"] = ((benchlib.cpu_seconds(redis_pid) - redis_before)
                                       / duration if redis_pid and variant == "redis" else None)
        return measured


def http_table(rounds: int, duration: int, redis: str | None,
               redis_pid: int | None = None) -> None:
    variants = [v for v in VARIANTS if v != "redis" or redis]
    nice = -10 if os.geteuid() == 0 else 0
    results: dict[str, list[dict[str, Any]]] = {v: [] for v in variants}
    for number in range(rounds):
        for variant in variants:
            benchlib.wait_for_quiet((0, 1), limit=0.15, timeout=60)
            results[variant].append(bench_variant(variant, duration, redis, nice, redis_pid))
            print(f"round {number + 1} {variant}: "
                  f"{results[variant][-1]['requests_per_s']:,.0f} req/s", file=sys.stderr)
    base = statistics.median(r["requests_per_s"] for r in results["off"])
    print(f"\n## Throughput, GET {PATH} (wrk -t1 -c64 -d{duration}s, server on core 0, wrk on "
          f"core 1, median of {rounds})\n")
    print("| limiter | requests/s | vs off | every round | server CPU | Redis CPU | p99 (median) |")
    print("| --- | ---: | ---: | --- | ---: | ---: | ---: |")
    for variant, runs in results.items():
        rps = [r["requests_per_s"] for r in runs]
        shares = [r["redis_cpu_share"] for r in runs if r.get("redis_cpu_share") is not None]
        print(f"| {variant} | {statistics.median(rps):,.0f} | "
              f"{statistics.median(rps) / base:.2f}x | {', '.join(f'{r:,.0f}' for r in rps)} | "
              f"{statistics.median(r['server_cpu_share'] for r in runs):.0%} | "
              f"{f'{statistics.median(shares):.0%}' if shares else '—'} | "
              f"{statistics.median(r['p99_ms'] for r in runs):.2f} ms |")
    targets = {"memory": 0.90, "redis": 0.60}
    print()
    for variant, target in targets.items():
        if variant in results:
            ratio = statistics.median(r["requests_per_s"] for r in results[variant]) / base
            verdict = "met" if ratio >= target else "NOT met"
            print(f"- {variant}: {ratio:.2f}x against a budget of >= {target:.2f}x: {verdict}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=5)
    parser.add_argument("--redis", default="own",
                        help="'own' (a private redis-server pinned to core 1), a URL, or "
                             "'none'")
    parser.add_argument("--calls", type=int, default=40_000,
                        help="calls per in-process repeat (Redis: a twentieth)")
    parser.add_argument("--requests", type=int, default=5_000,
                        help="requests per repeat of the in-process request path")
    parser.add_argument("--skip-http", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="pyframe-bench-ratelimit-") as workdir:
        own = None
        url = args.redis
        if url == "own":
            own = benchlib.start_redis(Path(workdir), core=1)
            if own is None:
                sys.exit("--redis own needs redis-server; pass --redis URL or --redis none")
            url = own[1]
            benchlib.wait_for_port(int(url.rsplit(":", 1)[1].split("/")[0]),
                                   time.perf_counter() + 10, own[0])
        try:
            run(args, None if url == "none" else url, own[0].pid if own else None)
        finally:
            if own is not None:
                benchlib.terminate(own[0])


def run(args: argparse.Namespace, url: str | None, redis_pid: int | None) -> None:
    redis = None
    if url is not None:
        sep = "&" if "?" in url else "?"
        redis = f"{url}{sep}prefix=bench-{uuid.uuid4().hex[:8]}:"
    print(f"# ratelimit plugin bench — {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
          f"{benchlib.cpu_model()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
          f"; Redis: {'a private redis-server on core 1' if redis_pid else url or 'none'}")
    inprocess_table(redis, args.calls)
    request_path_table(redis, args.requests)
    if not args.skip_http:
        http_table(args.rounds, args.duration, redis, redis_pid)


if __name__ == "__main__":
    main()
