"""Two apps on one Redis, as two machines would be: broadcasts, group and user messages reach the
connections of both, counts are global, a process follows only the topics it has members for;
and Redis going away (a redis-server of the test's own) keeps local delivery, then resumes."""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack
from pathlib import Path

import pytest

from pyframe.plugin import BusState
from pyframe.testing import TestClient
from pyframe_ws.registry import runtime_of

from .support import (DEADLINE, Peer, delete_prefix, load_module, unique_prefix,
                      wait_until, ws_url)

COMMAND_APP = Path(__file__).with_name("command_app.py")
pytestmark = pytest.mark.timeout(90)


def config(url: str) -> str:
    return (f'[plugins.ws]\nbackend = "{url}"\npresence_interval = 0.1\n'
            f'presence_ttl = 0.5\n')


async def two_machines(stack: AsyncExitStack, tmp_path: Path, url: str):
    (tmp_path / "pyframe.toml").write_text(config(url))
    machines = []
    for _ in range(2):
        module = load_module(COMMAND_APP, "ws_redis_app")
        server = await stack.enter_async_context(TestClient(module.app))
        machines.append((module, server))
    return machines


@pytest.fixture
async def shared_redis(redis_url):
    prefix = unique_prefix()
    yield f"{redis_url}?prefix={prefix}"
    await delete_prefix(redis_url, prefix)


async def test_messages_and_counts_cross_apps(tmp_path, monkeypatch, shared_redis):
    monkeypatch.chdir(tmp_path)
    async with AsyncExitStack() as stack:
        (mod_a, a), (mod_b, b) = await two_machines(stack, tmp_path, shared_redis)
        a1 = await Peer.open(ws_url(a.port, "/ws?as=ada"))
        a2 = await Peer.open(ws_url(a.port, "/ws"))
        b1 = await Peer.open(ws_url(b.port, "/ws?as=bob"))
        b2 = await Peer.open(ws_url(b.port, "/ws?as=ada"))
        everyone = (a1, a2, b1, b2)

        await a1.ask("broadcast", data={"msg": "from a"})
        await b1.ask("broadcast", data={"msg": "from b"})
        for peer in everyone:
            got = [await peer.receive(), await peer.receive()]
            assert sorted(m["msg"] for m in got) == ["from a", "from b"]

        await a2.ask("join", group="red")
        await b1.ask("join", group="red")
        await b2.ask("join", group="blue")
        await a1.ask("group", group="red", data={"msg": "red"})
        assert await a2.receive() == {"msg": "red"} and await b1.receive() == {"msg": "red"}

        await b1.ask("user", user="ada", data={"msg": "for ada"})
        assert await a1.receive() == {"msg": "for ada"} and await b2.receive() == {"msg": "for ada"}

        # A fence: a message to everyone arrives next everywhere, so nobody got an extra one.
        await a1.ask("broadcast", data={"msg": "fence"})
        for peer in everyone:
            assert await peer.receive() == {"msg": "fence"}

        # Global counts, from the presence records (refreshed every 0.1 s).
        for manager in (mod_a.manager, mod_b.manager):
            await wait_until(lambda m=manager: (m.get_connection_count(),
                                                m.get_group_size("red"),
                                                m.get_group_size("blue")) == (4, 2, 1),
                             what="the global counts")
        # Each process follows only the topics it has local members for.
        assert sorted(runtime_of(mod_a.app).hubs["commands"].relay.topics) == [
            "ws:commands", "ws:commands:group:red", "ws:commands:user:ada"]
        assert sorted(runtime_of(mod_b.app).hubs["commands"].relay.topics) == [
            "ws:commands", "ws:commands:group:blue", "ws:commands:group:red",
            "ws:commands:user:ada", "ws:commands:user:bob"]

        await b1.ask("leave", group="red")
        assert "ws:commands:group:red" not in runtime_of(mod_b.app).hubs["commands"].relay.topics
        await b2.close()
        await wait_until(lambda: (mod_a.manager.get_connection_count(),
                                  mod_a.manager.get_group_size("blue")) == (3, 0),
                         what="b2 to stop counting on a")
        for peer in (a1, a2, b1):
            await peer.close()


async def test_losing_redis_keeps_local_delivery_and_then_resumes(tmp_path, monkeypatch,
                                                                   redis_server):
    monkeypatch.chdir(tmp_path)
    redis = redis_server()
    url = f"{redis.url}?timeout=0.5&reconnect_min=0.05&reconnect_max=0.2&ping_interval=0.5"
    try:
        async with AsyncExitStack() as stack:
            (mod_a, a), (mod_b, b) = await two_machines(stack, tmp_path, url)
            a1 = await Peer.open(ws_url(a.port, "/ws"))
            a2 = await Peer.open(ws_url(a.port, "/ws"))
            b1 = await Peer.open(ws_url(b.port, "/ws"))
            await a1.ask("broadcast", data={"msg": "before"})
            for peer in (a1, a2, b1):
                assert await peer.receive() == {"msg": "before"}

            broker_a = runtime_of(mod_a.app).lease.broker
            redis.kill()
            await wait_until(lambda: broker_a.state is BusState.DOWN, what="the bus down")
            # Local delivery does not wait for Redis, nor fail.
            await a1.ask("broadcast", data={"msg": "while down"})
            assert await a1.receive() == {"msg": "while down"}
            assert await a2.receive() == {"msg": "while down"}
            assert runtime_of(mod_a.app).relay_totals()["publish_failed"] >= 1

            redis.start()  # the same port: the backends reconnect and re-subscribe
            broker_b = runtime_of(mod_b.app).lease.broker
            await wait_until(lambda: broker_a.state is BusState.UP
                             and broker_b.state is BusState.UP, what="the bus back")
            # b1 may have missed what was sent while down (pub/sub keeps nothing); it gets
            # what is sent now. Poll: send until one arrives, within a deadline.
            loop = asyncio.get_running_loop()
            deadline = loop.time() + DEADLINE
            while True:
                await a1.ask("broadcast", data={"msg": "after"})
                try:
                    got = await b1.receive(timeout=0.5)
                except TimeoutError:
                    assert loop.time() < deadline, "b1 never heard from a after Redis came back"
                    continue
                assert got == {"msg": "after"}
                break
            for peer in (a1, a2, b1):
                await peer.close()
    finally:
        redis.kill()


async def test_a_message_over_the_backends_limit_is_delivered_here_and_raised(
        tmp_path, monkeypatch, shared_redis):
    from pyframe.plugin import MessageTooLarge

    monkeypatch.chdir(tmp_path)
    async with AsyncExitStack() as stack:
        (mod_a, a), (mod_b, b) = await two_machines(stack, tmp_path,
                                                    f"{shared_redis}&max_message_size=1024")
        a1 = await Peer.open(ws_url(a.port, "/ws"))
        b1 = await Peer.open(ws_url(b.port, "/ws"))
        with pytest.raises(MessageTooLarge):
            await mod_a.manager.broadcast({"msg": "x" * 2000})
        assert await a1.receive() == {"msg": "x" * 2000}  # local delivery came first
        await mod_a.manager.broadcast({"msg": "small"})
        assert await b1.receive() == {"msg": "small"}  # b never got the big one
        for peer in (a1, b1):
            await peer.close()
