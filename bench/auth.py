"""Bench for the auth plugin; run by hand, prints three tables.

    uv run python bench/auth.py [--rounds 3] [--duration 5] [--repeat 7] [--skip-http]

1. What one credential costs, called in-process: verifying a bearer JWT (HS256) with and
   without the verified-token cache, reading the signed session cookie with and without its
   cache, writing one, and reading a server-side session from the embedded store.
2. The whole request path in-process (bench/inprocess.py's in-memory transport, one keep-alive
   request at a time, CPU µs per request, best of ``--repeat``): ``GET /json`` with no plugin,
   with the plugin and a bearer token, and with the plugin and a session cookie; and, to show
   where the time goes, the plugin on a route it leaves open (its fixed cost), and no plugin
   but a middleware that only adds ``Vary: Cookie`` (what that header costs the writer).
3. Throughput over HTTP, the target of issue 20 (auth on >= 0.80x of off, for a bearer JWT
   and for a cookie session): bench/apps/pyframe_auth_app.py pinned to core 0, ``wrk -t1 -c64``
   on core 1, the same token (or cookie) on every request, as one client's requests carry it;
   variants interleaved over ``--rounds``, the median kept.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import secrets
import statistics
import sys
import time
from pathlib import Path

import benchlib  # bench/ is the script's own folder, so first on sys.path

sys.path.insert(0, str(Path(__file__).resolve().parent / "apps"))
os.environ.setdefault("PYFRAME_LOGGING__ACCESS_LOG", "false")
os.environ.setdefault("PYFRAME_LOGGING__LEVEL", "warning")

SECRET = secrets.token_urlsafe(32)
VARIANTS = ("none", "bearer", "cookie")
# Over HTTP only: every plugin on at once (issue 20's everything-on budget).
EVERYTHING = "everything"
# In-process only: the parts of the cost.
PARTS = ("open", "vary")


def credentials(secret: str) -> tuple[str, str]:
    """A bearer token and a session cookie value for user 42, valid for an hour."""
    from pyframe_auth import KeyRing, SessionCookieCodec, TokenIssuer, hmac_key

    token = TokenIssuer(KeyRing([hmac_key(secret)])).issue("42", expires_in=3600,
                                                           claims={"roles": ["user"]})
    cookie = SessionCookieCodec(secret).dumps({"_auth": {"id": 42}, "theme": "dark"})
    return token, cookie


def headers_for(variant: str, token: str, cookie: str) -> dict[str, str]:
    if variant in ("bearer", EVERYTHING):
        return {"Authorization": f"Bearer {token}"}
    if variant == "cookie":
        return {"Cookie": f"session={cookie}"}
    return {}


def per_call(fn, n: int, repeat: int = 5) -> float:
    """Seconds per call, best of ``repeat`` runs of ``n`` calls."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(n):
            fn()
        best = min(best, (time.perf_counter() - start) / n)
    return best


def micro_table() -> None:
    from pyframe_auth import KeyRing, SessionCookieCodec, SessionLifetime, TokenVerifier, \
        hmac_key, new_session_id, storage_key
    from pyframe_auth.tokens import CachingVerifier
    from pyframe.backends import MemoryBackend

    token, cookie = credentials(SECRET)
    ring = KeyRing([hmac_key(SECRET)])
    plain = TokenVerifier(ring, required_claims=("sub",))
    cached = CachingVerifier(TokenVerifier(ring, required_claims=("sub",)))
    codec = SessionCookieCodec(SECRET)
    cached_codec = SessionCookieCodec(SECRET, cache_size=1024)
    data = codec.loads(cookie).data
    lifetime = SessionLifetime()

    async def server_side() -> float:
        backend = MemoryBackend()
        await backend.open()
        sid = new_session_id()
        await backend.store.set(storage_key(sid), lifetime.encode(lifetime.new(data)), ttl=3600)

        async def load() -> None:
            lifetime.decode(await backend.store.get(storage_key(sid)))

        best = float("inf")
        for _ in range(5):
            start = time.perf_counter()
            for _ in range(5000):
                await load()
            best = min(best, (time.perf_counter() - start) / 5000)
        await backend.close()
        return best

    rows = [
        ("bearer JWT, HS256: TokenVerifier.verify", per_call(lambda: plain.verify(token), 5000)),
        ("bearer JWT, HS256: the same token again (cache hit)",
         per_call(lambda: cached.verify(token), 20000)),
        ("session cookie: SessionCookieCodec.loads", per_call(lambda: codec.loads(cookie), 5000)),
        ("session cookie: the same cookie again (cache hit)",
         per_call(lambda: cached_codec.loads(cookie), 20000)),
        ("session cookie: writing one (Set-Cookie text, size checked)",
         per_call(lambda: codec.set_cookie(data, tls=True), 5000)),
        ("server-side session: read and decode from memory://", asyncio.run(server_side())),
    ]
    print("\n## 1. One credential, in-process (best of 5)\n")
    print("| operation | µs |")
    print("| --- | ---: |")
    for label, seconds in rows:
        print(f"| {label} | {seconds * 1e6:.2f} |")


def inprocess_table(repeat: int, requests: int) -> dict[str, float]:
    import uvloop

    from inprocess import drive
    from _pyframe_common import build_app
    from pyframe.middleware import AuthMiddleware
    from pyframe.plugin import add_vary

    token, cookie = credentials(SECRET)

    async def add_vary_cookie(context, call_next):
        response = await call_next(context)
        add_vary(response.headers, "Cookie")
        return response

    add_vary_cookie.returns_response = True

    async def make(variant: str):
        app = build_app()
        if variant == "vary":
            app.middleware.append(add_vary_cookie)
        elif variant == "open":
            app.middleware.append(AuthMiddleware(secret_key=SECRET, require_auth=False))
        elif variant != "none":
            app.middleware.append(AuthMiddleware(secret_key=SECRET))
        await app.startup()
        return app, app.make_handler()

    def raw(variant: str) -> bytes:
        extra = "".join(f"{k}: {v}\r\n" for k, v in headers_for(variant, token, cookie).items())
        return (f"GET /json HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept-Encoding: gzip\r\n{extra}\r\n"
                .encode())

    async def run() -> dict[str, float]:
        servers = {v: await make(v) for v in (*VARIANTS, *PARTS)}
        best = {v: float("inf") for v in servers}
        for _ in range(repeat):  # interleaved, so a slow spell hits every variant alike
            for variant, (_, make_protocol) in servers.items():
                seconds = await drive(make_protocol, raw(variant), requests)
                best[variant] = min(best[variant], seconds / requests)
        for app, _ in servers.values():
            await app.shutdown()
        return best

    best = uvloop.run(run())
    base = best["none"]
    print(f"\n## 2. The request path in-process, GET /json (CPU µs per request, best of "
          f"{repeat} x {requests})\n")
    print("| variant | µs per request | added µs | requests/s if CPU-bound | vs none |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for variant, seconds in best.items():
        print(f"| {label(variant)} | {seconds * 1e6:.2f} | {(seconds - base) * 1e6:+.2f} | "
              f"{1 / seconds:,.0f} | {base / seconds:.2f}x |")
    return best


def label(variant: str) -> str:
    return {"none": "no plugin", "bearer": "auth, bearer JWT (HS256)",
            "cookie": "auth, signed session cookie",
            "open": "(part) auth on, a route it leaves open, no credential",
            "vary": "(part) no plugin, a middleware adding only Vary: Cookie",
            EVERYTHING: "everything on: auth (bearer), ratelimit (memory), cors, compression, "
                        "static, metrics"}[variant]


def bench_variant(variant: str, duration: int, token: str, cookie: str) -> benchlib.WrkResult:
    env = {"BENCH_AUTH_VARIANT": variant, "BENCH_AUTH_SECRET": SECRET}
    with benchlib.Server("pyframe_auth_app.py", sys.executable, env=env) as server:
        server.start()
        headers = headers_for(variant, token, cookie)
        status, body = benchlib.fetch(server.port, "GET", "/json", headers=headers)
        if status != 200 or b"Hello, World!" not in body:
            raise RuntimeError(f"{variant}: GET /json answered {status} {body[:200]!r}")
        if variant != "none":
            refused, _ = benchlib.fetch(server.port, "GET", "/json")
            assert refused == 401, "the plugin is not checking credentials"
        url = f"http://{benchlib.HOST}:{server.port}/json"
        benchlib.run_wrk(url, duration=1, headers=headers)  # warm-up
        result = benchlib.run_wrk(url, duration=duration, headers=headers,
                                  server_pid=server.pid)
        if result.non_2xx or result.socket_errors:
            raise RuntimeError(f"wrk saw errors:\n{result.raw}")
        return result


def http_table(rounds: int, duration: int) -> None:
    token, cookie = credentials(SECRET)
    results: dict[str, list[benchlib.WrkResult]] = {v: [] for v in (*VARIANTS, EVERYTHING)}
    for _ in range(rounds):
        for variant in results:
            benchlib.wait_for_quiet()
            results[variant].append(bench_variant(variant, duration, token, cookie))
    base = statistics.median(r.requests_per_s for r in results["none"])
    load = os.getloadavg()[0]
    print(f"\n## 3. Throughput, GET /json (wrk -t1 -c64 -d{duration}s, server on core 0, wrk "
          f"on core 1, median of {rounds}; 1-minute load average at the end: {load:.2f})\n")
    print("| variant | requests/s | vs none | every round | p99 ms (median) | server CPU |")
    print("| --- | ---: | ---: | --- | ---: | ---: |")
    for variant, runs in results.items():
        rps = statistics.median(r.requests_per_s for r in runs)
        every = ", ".join(f"{r.requests_per_s:,.0f}" for r in runs)
        p99 = statistics.median(r.p99_ms for r in runs)
        cpu = statistics.median(r.server_cpu_share for r in runs)
        print(f"| {label(variant)} | {rps:,.0f} | {rps / base:.2f}x | {every} | {p99:.2f} | "
              f"{cpu:.0%} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--skip-http", action="store_true")
    args = parser.parse_args()
    print(f"# auth bench: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
          f"{benchlib.cpu_model()}, nproc {os.cpu_count()}, Python {platform.python_version()}")
    micro_table()
    inprocess_table(args.repeat, args.requests)
    if not args.skip_http:
        http_table(args.rounds, args.duration)


if __name__ == "__main__":
    main()
