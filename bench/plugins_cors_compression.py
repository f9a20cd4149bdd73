"""Bench for the cors and compression plugins; run by hand, prints three tables.

    uv run python bench/plugins_cors_compression.py [--rounds 2] [--duration 5] [--skip-http]

1. Throughput of a tiny app (a 60-byte JSON answer, under ``minimum_size``) with no plugin, the
   cors plugin, the compression plugin, and both: the server runs as a subprocess pinned with
   ``taskset -c 0``, wrk with ``taskset -c 1 wrk -t1 -c64``. Every request carries ``Origin``
   and ``Accept-Encoding`` so both middlewares do their per-request work. Variants are
   interleaved over rounds; the table shows the median.
2. The microseconds each middleware adds per request, called in-process (less noisy than 1 on
   a shared machine).
3. Compression ratio and time for a ~100 KiB JSON body at each codec and level, in-process.
"""


from __future__ import annotations

import argparse
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import time
import zlib

import benchlib  # bench/ is the script's own folder, so first on sys.path

HOST = "127.0.0.1"
ORIGIN = "https://app.example"
VARIANTS = {
    "none": {},
    "cors": {"cors": {"allow_origins": [ORIGIN]}},
    "compression": {"compression": {}},
    "cors+compression": {"cors": {"allow_origins": [ORIGIN]}, "compression": {}},
}


# The server side: `--serve <variant> --port N` runs the tiny app.
def serve(variant: str, port: int) -> None:
    from pyframe import PyFrameApp

    app = PyFrameApp()
    for plugin_id, options in VARIANTS[variant].items():
        app.plugins.enable(plugin_id, **options)

    @app.get("/")
    async def index(context):
        return {"message": "hello", "items": [1, 2, 3], "ok": True}

    app.run(HOST, port)


# The client side.
def wait_for_port(port: int, proc: subprocess.Popen, timeout: float = 20.0) -> None:
    benchlib.wait_for_port(port, time.perf_counter() + timeout, proc)


def run_wrk(port: int, duration: int) -> tuple[float, str]:
    result = benchlib.run_wrk(f"http://{HOST}:{port}/", duration=duration, headers={"Origin": ORIGIN, "Accept-Encoding": "gzip, deflate, br, zstd"})
    if result.non_2xx or result.socket_errors:
        raise RuntimeError(f"wrk saw errors:\n{result.raw}")
    return result.requests_per_s, f"p99 {result.p99_ms:.2f}ms"


def bench_variant(variant: str, duration: int) -> tuple[float, str]:
    port = benchlib.free_port()
    env = dict(os.environ, PYFRAME_LOGGING__ACCESS_LOG="false", PYFRAME_LOGGING__LEVEL="warning")
    proc = subprocess.Popen(["taskset", "-c", "0", sys.executable, __file__, "--serve", variant,
                             "--port", str(port)], env=env)
    try:
        wait_for_port(port, proc)
        # Check the variant really runs what it claims before measuring it.
        check = subprocess.run(["curl", "-sS", "-D", "-", "-o", "/dev/null",
                                "-H", f"Origin: {ORIGIN}", "-H", "Accept-Encoding: gzip",
                                f"http://{HOST}:{port}/"],
                               capture_output=True, text=True, timeout=10, check=True).stdout
        has_cors = "access-control-allow-origin" in check.lower()
        assert has_cors == ("cors" in variant), check
        assert "content-encoding" not in check.lower(), check  # under minimum_size
        run_wrk(port, 1)  # warm-up
        return run_wrk(port, duration)
    finally:
        benchlib.terminate(proc)


def http_table(rounds: int, duration: int) -> None:
    results: dict[str, list[tuple[float, str]]] = {v: [] for v in VARIANTS}
    for _ in range(rounds):
        for variant in VARIANTS:
            results[variant].append(bench_variant(variant, duration))
    load = os.getloadavg()[0]
    base = statistics.median(r for r, _ in results["none"])
    print(f"\n## Throughput, tiny JSON response (wrk -t1 -c64 -d{duration}s, server on core 0, "
          f"wrk on core 1, median of {rounds}; 1-minute load average at the end: {load:.2f})\n")
    print("| plugins | requests/s | vs none | every round | latency (avg, last round) |")
    print("| --- | ---: | ---: | --- | ---: |")
    for variant, runs in results.items():
        rps = statistics.median(r for r, _ in runs)
        every = ", ".join(f"{r:,.0f}" for r, _ in runs)
        print(f"| {variant} | {rps:,.0f} | {100 * (rps / base - 1):+.1f}% | {every} | "
              f"{runs[-1][1]} |")


def json_body(target: int = 100 * 1024) -> bytes:
    import msgspec

    rng = random.Random(42)
    words = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india",
             "juliet", "kilo", "lima", "mike", "november", "oscar", "papa"]
    rows, size = [], 0
    while size < target:
        row = {"id": len(rows), "name": f"{rng.choice(words)} {rng.choice(words)}",
               "email": f"user{rng.randrange(10**6)}@example.com",
               "score": round(rng.random() * 1000, 3), "active": rng.random() < 0.5,
               "tags": rng.sample(words, 3), "created": f"2024-{rng.randrange(1, 13):02d}-"
                                                        f"{rng.randrange(1, 29):02d}T12:00:00Z"}
        rows.append(row)
        size += len(msgspec.json.encode(row)) + 1
    return msgspec.json.encode(rows)


def time_call(fn, data: bytes) -> float:
    """Seconds per call: the best of 3 repeats of enough calls to last about 0.1 s."""
    start = time.perf_counter()
    fn(data)
    once = max(time.perf_counter() - start, 1e-6)
    number = max(1, int(0.1 / once))
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        for _ in range(number):
            fn(data)
        best = min(best, (time.perf_counter() - start) / number)
    return best


def codec_table() -> None:
    import brotli
    import zstandard

    data = json_body()
    rows = []
    for level in range(1, 10):
        rows.append(("gzip", level, lambda d, lv=level: zlib.compress(d, lv, wbits=31)))
    for quality in range(0, 12):
        rows.append(("br", quality, lambda d, q=quality: brotli.compress(d, quality=q)))
    for level in range(1, 20):
        c = zstandard.ZstdCompressor(level=level)
        rows.append(("zstd", level, c.compress))
    print(f"\n## Compression of a {len(data) / 1024:.0f} KiB JSON body (in-process, one thread; "
          f"default level 6 for every codec)\n")
    print("| codec | level | bytes | ratio | ms | MB/s |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for name, level, fn in rows:
        size = len(fn(data))
        seconds = time_call(fn, data)
        print(f"| {name} | {level} | {size:,} | {len(data) / size:.2f} | {seconds * 1000:.2f} | "
              f"{len(data) / seconds / 1e6:.0f} |")



def overhead_table() -> None:
    """Microseconds each middleware adds per request, called directly (no sockets, no server)."""
    import asyncio
    from types import SimpleNamespace

    from multidict import CIMultiDict, CIMultiDictProxy

    from pyframe import Response
    from pyframe_compression import CompressionMiddleware
    from pyframe_cors import CORSMiddleware

    small = b'{"message":"hello","items":[1,2,3],"ok":true}'
    page = json_body(4 * 1024)

    def context(method: str = "GET", **headers: str) -> SimpleNamespace:
        request = SimpleNamespace(headers=CIMultiDictProxy(CIMultiDict(headers)))
        return SimpleNamespace(request=request, method=method, route=None, app=None,
                               path="/")

    def responder(body: bytes):
        async def call_next(ctx):
            return Response(body, content_type="application/json")
        return call_next

    cors = CORSMiddleware(allow_origins=[ORIGIN], allow_headers=["X-Token"])
    gzip_only = CompressionMiddleware(codecs=["gzip"])
    cases = [
        ("no middleware (baseline: building the Response)", None, context(Origin=ORIGIN),
         responder(small)),
        ("cors, request without Origin", cors, context(), responder(small)),
        ("cors, allowed Origin", cors, context(Origin=ORIGIN), responder(small)),
        ("cors, preflight answered", cors,
         context("OPTIONS", Origin=ORIGIN, **{"Access-Control-Request-Method": "GET",
                                               "Access-Control-Request-Headers": "x-token"}),
         responder(small)),
        ("compression, 46 B body (under minimum_size)", CompressionMiddleware(),
         context(**{"Accept-Encoding": "gzip, br"}), responder(small)),
        (f"compression, {len(page) // 1024} KiB JSON, gzip level 6", gzip_only,
         context(**{"Accept-Encoding": "gzip"}), responder(page)),
    ]

    async def measure(mw, ctx, call_next, n: int) -> float:
        best = float("inf")
        for _ in range(5):
            start = time.perf_counter()
            if mw is None:
                for _ in range(n):
                    await call_next(ctx)
            else:
                for _ in range(n):
                    await mw(ctx, call_next)
            best = min(best, (time.perf_counter() - start) / n)
        return best

    async def run() -> list[tuple[str, float]]:
        out = []
        for label, mw, ctx, call_next in cases:
            n = 200 if "KiB" in label else 20000
            out.append((label, await measure(mw, ctx, call_next, n)))
        return out

    results = asyncio.run(run())
    base = results[0][1]
    print("\n## Per-request cost of the middleware, called in-process (best of 5)\n")
    print("| case | µs per request | added µs |")
    print("| --- | ---: | ---: |")
    for label, seconds in results:
        print(f"| {label} | {seconds * 1e6:.2f} | {(seconds - base) * 1e6:+.2f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--serve", choices=list(VARIANTS))
    parser.add_argument("--port", type=int)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--duration", type=int, default=5)
    parser.add_argument("--skip-http", action="store_true")
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.port)
        return
    try:
        import uvloop  # noqa: F401
        loop = "uvloop"
    except ImportError:
        loop = "asyncio"
    print(f"# cors and compression plugins: {time.strftime('%Y-%m-%d %H:%M %Z')}, "
          f"{benchlib.cpu_model()}, {os.cpu_count()} CPUs, "
          f"Python {platform.python_version()}, {loop}")
    print(f"# command: uv run python bench/plugins_cors_compression.py --rounds {args.rounds} "
          f"--duration {args.duration}")
    if not args.skip_http:
        for tool in ("wrk", "taskset", "curl"):
            if shutil.which(tool) is None:
                sys.exit(f"{tool} is not installed; use --skip-http for the codec table only")
        http_table(args.rounds, args.duration)
    overhead_table()
    codec_table()


if __name__ == "__main__":
    main()
