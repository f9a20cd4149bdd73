"""The three schemes pyframe-redis serves, each against a redis-server of the test's own:
``redis://`` (TCP), ``unix://`` (a socket file) and ``rediss://`` (TLS)."""

from __future__ import annotations

import importlib_metadata

from pyframe.backends import BackendRegistry
from pyframe_redis import create

FAST = "timeout=0.5&reconnect_min=0.02&reconnect_max=0.2"


def with_options(url: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}{FAST}"


def test_the_entry_points_name_the_three_schemes():
    found = {ep.name: ep.value for ep in importlib_metadata.entry_points(group="pyframe.backends")}
    assert {name: found.get(name) for name in ("redis", "rediss", "unix")} == {
        "redis": "pyframe_redis.provider", "rediss": "pyframe_redis.provider",
        "unix": "pyframe_redis.provider"}


async def exercise(url: str) -> None:
    """Through the registry, as a plugin gets it: two processes' worth of backends."""
    first, second = BackendRegistry(), BackendRegistry()
    try:
        a, b = await first.open(url), await second.open(url)
        assert a.health().up and b.health().up
        sub = b.broker.subscribe("t")
        assert await sub.ready()
        await a.broker.publish("t", b"across")
        assert await sub.get(timeout=2) == b"across"
        assert await a.store.incr("n", 2) == 2 and await b.store.incr("n") == 3
        entry = await a.log.append("s", b"e")
        assert (await b.log.read_after("s", None)).entries[0].id == entry
    finally:
        await first.close()
        await second.close()


async def test_a_unix_socket(redis_server):
    server = redis_server(unix=True)
    assert server.url.startswith("unix:///")
    await exercise(with_options(server.url + "?db=1"))


async def test_tls_with_the_servers_ca(redis_server):
    server = redis_server(tls=True)
    assert server.url.startswith("rediss://")
    await exercise(with_options(server.url))


async def test_tls_refuses_a_certificate_it_cannot_verify(redis_server):
    server = redis_server(tls=True)
    untrusted = create(with_options(server.url.split("?")[0]))  # the system CAs only
    await untrusted.open()
    try:
        health = untrusted.health()
        assert not health.up
        assert "certificate" in (health.last_error or "").lower()
    finally:
        await untrusted.close()


async def test_a_plain_text_url_does_not_talk_to_a_tls_port(redis_server):
    server = redis_server(tls=True)
    plain = create(with_options(f"redis://127.0.0.1:{server.port}/0"))
    await plain.open()
    try:
        assert not plain.health().up and plain.health().last_error
    finally:
        await plain.close()


async def test_plugins_naming_one_url_share_one_bounded_pool(redis_server):
    import asyncio

    import redis.asyncio as redis

    server = redis_server()
    url = with_options(server.url) + "&max_connections=2"
    registry = BackendRegistry()
    try:
        ratelimit, sessions = await registry.open(url), await registry.open(url)
        assert ratelimit.backend is sessions.backend
        sub = ratelimit.broker.subscribe("t")
        assert await sub.ready()
        results = await asyncio.gather(*(lease.store.incr("n") for lease in
                                         [ratelimit, sessions] * 50))
        assert sorted(results) == list(range(1, 101))
        admin = redis.Redis.from_url(server.url)
        try:
            clients = await admin.client_list()
        finally:
            await admin.aclose()
        ours = [c for c in clients if c.get("name") == "pyframe"]
        assert 1 < len(ours) <= 3  # at most 2 in the pool, 1 for pub/sub: for both plugins
        assert sum(1 for c in ours if int(c.get("sub", 0)) > 0) == 1
    finally:
        await registry.close()
