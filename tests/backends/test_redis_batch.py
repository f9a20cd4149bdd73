"""Script calls made together go to Redis in one pipeline the backend writes itself: each call
gets its own reply or its own error, a script Redis lost is loaded again for the whole batch,
and a batch cut short leaves no reply behind for the next one to read as its own."""

from __future__ import annotations

import asyncio

import pytest
import redis.asyncio as redis
from redis.asyncio.connection import Connection

from pyframe.backends import BackendUnavailable, OperationFailed
from pyframe_redis import create
from pyframe_redis.batch import packed

from .ops_for_tests import ECHO, REFUSE

pytestmark = pytest.mark.timeout(60)
FAST = "timeout=0.5&reconnect_min=0.02&reconnect_max=0.2&ping_interval=0.3"


def test_a_call_is_written_as_redis_py_writes_it():
    connection = Connection()
    for keys, argv in (([], []), (["k"], [b"1", b"22"]), (["bäckend:{tag}:ключ", "b"], [b""]),
                       (["x" * 300], [b"\x00\r\n" * 50])):
        sha = "e0e1f9fabfc9d4800c877a703b823ac0578ff831"
        expected = b"".join(connection.pack_command("EVALSHA", sha, len(keys), *keys, *argv))
        assert packed(sha, keys, argv) == expected


@pytest.fixture
async def private(redis_server):
    """A redis-server of the test's own and an open backend on it: (server, store)."""
    server = redis_server()
    backend = create(f"{server.url}?{FAST}")
    await backend.open()
    yield server, backend.store
    await backend.close()


async def test_calls_of_one_loop_turn_share_one_pipeline(private):
    _, store = private
    await store.run(ECHO, ["k"], ["warm"])  # both scripts loaded first
    with pytest.raises(OperationFailed):
        await store.run(REFUSE, ["k"], [])
    before = store.scripts.batches
    calls = [store.run(REFUSE if i % 10 == 3 else ECHO, [f"k{i}"], [str(i), "x"])
             for i in range(100)]
    replies = await asyncio.gather(*calls, return_exceptions=True)
    assert store.scripts.batches - before == 1
    for i, reply in enumerate(replies):
        if i % 10 == 3:
            assert isinstance(reply, OperationFailed) and "refused by the op" in str(reply)
        else:
            assert reply == [str(i).encode(), b"x"]


async def test_a_lost_script_is_loaded_again_for_the_whole_batch(private):
    server, store = private
    assert await store.run(ECHO, [], ["a"]) == [b"a"]
    client = redis.Redis.from_url(server.url)
    await client.script_flush()  # as after a restart or a failover
    await client.aclose()
    replies = await asyncio.gather(*(store.run(ECHO, [], [str(i)]) for i in range(20)))
    assert replies == [[str(i).encode()] for i in range(20)]
    assert store.script_loads == 2


async def test_a_batch_cut_short_leaves_no_reply_for_the_next(private):
    server, store = private
    assert await store.run(ECHO, [], ["before"]) == [b"before"]
    server.pause()  # the calls are written; nothing answers until the batch's timeout
    try:
        results = await asyncio.gather(*(store.run(ECHO, [], [f"lost{i}"]) for i in range(5)),
                                       return_exceptions=True)
        assert all(isinstance(r, BackendUnavailable) for r in results), results
    finally:
        server.resume()
    # Redis answers the lost calls once it wakes; a connection that kept them unread would
    # hand them to the next batch. Every reply from here on must be the caller's own.
    deadline = asyncio.get_running_loop().time() + 10
    while True:
        try:
            reply = await store.run(ECHO, [], ["after"])
            break
        except BackendUnavailable:  # the pub/sub probe has not seen Redis back yet
            if asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(0.02)  # a retry interval, with the deadline above
    assert reply == [b"after"]
    replies = await asyncio.gather(*(store.run(ECHO, [], [f"n{i}"]) for i in range(30)))
    assert replies == [[f"n{i}".encode()] for i in range(30)]

