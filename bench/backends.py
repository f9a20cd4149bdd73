"""Bench for the shared backends; run by hand, prints one table.

    uv run python bench/backends.py [--rounds 5] [--number 2000] [--redis-url URL] [--uvloop]

In one process and one run, on the memory backend and on Redis (127.0.0.1 only):

- publish-to-receive round trip: ``await publish(topic, 64 bytes)`` then ``await get()`` on a
  subscription, one message in flight. Memory: a local subscriber. Redis, local: the same
  process's subscriber (delivered directly; the time is the PUBLISH round trip). Redis,
  across: a second backend instance (its own pool, pub/sub connection and origin id, as
  another process has) receives it through Redis.
- one atomic store call: ``store.run(op)`` of a GCRA rate-limit op (GET, TIME, SET PX), and
  ``store.incr(key)`` for comparison.

Cases are interleaved over rounds (A B C ... A B C ...); each cell is the median over rounds
of the per-call median, with the worst round's p99. Redis keys go under a fresh prefix and
are deleted at the end. Without a reachable Redis the Redis rows are skipped, and say so.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import platform
import statistics
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence

import benchlib  # bench/ is the script's own folder, so first on sys.path

from pyframe.backends import AtomicOp, BackendRegistry, DataView
from pyframe.logging import configure_logging

PAYLOAD = b"x" * 64


def _gcra(data: DataView, keys: Sequence[str], args: Sequence[bytes]) -> list[int]:
    seconds, micros = data.time()
    now = seconds * 1_000_000 + micros
    interval, tolerance = int(args[0]), int(args[1])
    stored = data.get(keys[0])
    tat = max(int(stored) if stored is not None else now, now)
    if tat + interval - tolerance > now:
        return [0, math.ceil((tat + interval - tolerance - now) / 1000)]
    data.set(keys[0], str(tat + interval), px=math.ceil((tat + interval - now) / 1000))
    return [1, 0]


GCRA: AtomicOp[list[int]] = AtomicOp("bench-gcra", """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval, tolerance = tonumber(ARGV[1]), tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
if tat + interval - tolerance > now then
  return {0, math.ceil((tat + interval - tolerance - now) / 1000)}
end
redis.call('SET', KEYS[1], string.format('%d', tat + interval),
           'PX', math.ceil((tat + interval - now) / 1000))
return {1, 0}
""", _gcra)
# 1000 requests a second with a burst of 10 000: every call takes the whole path, allowed.
GCRA_ARGS = (1000, 10_000_000)


async def timed(call: Callable[[], Awaitable[object]], number: int) -> list[float]:
    """Microseconds of each of ``number`` calls, after a warm-up of a tenth as many."""
    for _ in range(max(1, number // 10)):
        await call()
    samples = []
    clock = time.perf_counter_ns
    for _ in range(number):
        start = clock()
        await call()
        samples.append((clock() - start) / 1000)
    return samples


def p99(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


async def build_cases(registry: BackendRegistry, other: BackendRegistry,
                      redis_url: str | None) -> dict[str, Callable[[], Awaitable[object]]]:
    cases: dict[str, Callable[[], Awaitable[object]]] = {}
    memory = await registry.open("memory://")
    mem_sub = memory.broker.subscribe("bench")

    async def mem_round_trip() -> None:
        await memory.broker.publish("bench", PAYLOAD)
        await mem_sub.get(timeout=5)

    cases["memory: publish -> receive"] = mem_round_trip
    cases["memory: store.run(GCRA op)"] = lambda: memory.store.run(GCRA, ["rl:bench"],
                                                                 GCRA_ARGS)
    cases["memory: store.incr"] = lambda: memory.store.incr("n")
    if redis_url is None:
        return cases
    here = await registry.open(redis_url)
    there = await other.open(redis_url)
    if not (here.health().up and there.health().up):
        print(f"Redis rows skipped: {here.health().last_error}", file=sys.stderr)
        return cases
    local_sub = here.broker.subscribe("bench")
    far_sub = there.broker.subscribe("bench-across")
    assert await local_sub.ready() and await far_sub.ready()

    async def redis_local() -> None:
        await here.broker.publish("bench", PAYLOAD)
        await local_sub.get(timeout=5)

    async def redis_across() -> None:
        await here.broker.publish("bench-across", PAYLOAD)
        await far_sub.get(timeout=5)

    cases["redis: publish -> receive, same process"] = redis_local
    cases["redis: publish -> receive, across"] = redis_across
    cases["redis: store.run(GCRA op)"] = lambda: here.store.run(GCRA, ["rl:bench"], GCRA_ARGS)
    cases["redis: store.incr"] = lambda: here.store.incr("n")
    return cases


async def cleanup(redis_url: str, prefix: str) -> None:
    import redis.asyncio as redis

    client = redis.Redis.from_url(redis_url.split("?")[0])
    try:
        keys = [key async for key in client.scan_iter(match=prefix + "*", count=1000)]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


async def run(args: argparse.Namespace) -> None:
    prefix = f"bench-{uuid.uuid4().hex[:8]}:"
    redis_url = None if args.no_redis else f"{args.redis_url}?prefix={prefix}"
    registry, other = BackendRegistry(), BackendRegistry()
    try:
        cases = await build_cases(registry, other, redis_url)
        results: dict[str, list[list[float]]] = {name: [] for name in cases}
        for _ in range(args.rounds):
            for name, call in cases.items():
                number = args.number * (10 if name.startswith("memory") else 1)
                results[name].append(await timed(call, number))
    finally:
        await registry.close()
        await other.close()
        if redis_url is not None:
            await cleanup(args.redis_url, prefix)
    loop = type(asyncio.get_running_loop()).__module__.split(".")[0]
    print(f"Shared backends, {args.rounds} rounds; Python {platform.python_version()}, "
          f"event loop {loop}, {benchlib.cpu_model()}")
    print("| case | calls per round | median µs | p99 µs (worst round) | calls/s |")
    print("|---|---:|---:|---:|---:|")
    for name, rounds in results.items():
        median = statistics.median(statistics.median(r) for r in rounds)
        worst = max(p99(r) for r in rounds)
        print(f"| {name} | {len(rounds[0]):,} | {median:.1f} | {worst:.1f} | "
              f"{1e6 / median:,.0f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--number", type=int, default=2000,
                        help="calls per round on Redis (memory: ten times as many)")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--no-redis", action="store_true", help="memory rows only")
    parser.add_argument("--uvloop", action="store_true", help="run on uvloop")
    args = parser.parse_args()
    configure_logging("warning", stream=sys.stderr)
    if not args.redis_url.startswith(("redis://127.0.0.1", "redis://localhost",
                                      "unix://")):
        parser.error("load goes to this machine only: use a 127.0.0.1 or unix:// URL")
    if args.uvloop:
        import uvloop

        uvloop.run(run(args))
    else:
        asyncio.run(run(args))


if __name__ == "__main__":
    main()
