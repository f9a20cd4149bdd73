"""Memory under attack (findings 1, 3 and 5): the server runs in its own process and its RSS,
read from /proc, must stay under a bound while clients misbehave.

The client's work is bounded by counts, and each watch by a few seconds; a watch ends early
once the bound is passed, so a failing server is not fed further.
"""

from __future__ import annotations

import asyncio

import pytest

from .processes import open_sockets, peak_rss_growth, rss_kib
from .support import assert_still_serving, connect, wait_until

MiB = 1024  # in KiB, the unit of /proc's VmRSS
HOST = b"Host: hostile.test\r\n"


async def test_pipelined_requests_from_a_client_that_never_reads(spawn):
    server = spawn("[server]\nkeepalive_timeout = 30\n")
    port = await server.port()
    await assert_still_serving(port)
    base = rss_kib(server.pid)
    pipelined = 1500
    clients = [await connect(port, reading=False) for _ in range(3)]
    try:
        for client in clients:
            # Not drained: a server that stops reading leaves the rest in our own buffers.
            client.writer.write((b"GET /big HTTP/1.1\r\n" + HOST + b"\r\n") * pipelined)
        total = 1 + pipelined * len(clients)
        growth = await peak_rss_growth(
            server.pid, base, bound_kib=64 * MiB, window=4.0,
            done=lambda: server.count("request_finished") >= total)
        assert growth < 64 * MiB, f"RSS grew by {growth // MiB} MiB"
        await assert_still_serving(port)
    finally:
        for client in clients:
            client.close()


async def test_pipelined_small_responses_to_a_reading_client_stay_bounded(spawn):
    # The control case: a client that reads gets every response, in order, and the
    # server's memory does not grow with the number of requests.
    server = spawn()
    port = await server.port()
    await assert_still_serving(port)
    base = rss_kib(server.pid)
    pipelined = 5000
    async with await connect(port) as conn:
        conn.writer.write((b"GET /tiny HTTP/1.1\r\n" + HOST + b"\r\n") * pipelined)
        for _ in range(pipelined):
            response = await conn.response()
            assert (response.status, response.body) == (200, b"tiny!")
    assert rss_kib(server.pid) - base < 32 * MiB
    await assert_still_serving(port)


async def test_many_huge_request_heads(spawn):
    server = spawn("[server]\nheader_timeout = 10\n")
    port = await server.port()
    await assert_still_serving(port)
    base = rss_kib(server.pid)
    head = b"GET / HTTP/1.1\r\n" + HOST + b"".join(
        b"X-Filler-%03d: %s\r\n" % (i, b"v" * 7980) for i in range(125))  # never ended
    clients = [await connect(port) for _ in range(60)]
    answers = []
    try:
        for client in clients:
            client.writer.write(head)
            answers.append(asyncio.ensure_future(client.response(timeout=15)))
        growth = await peak_rss_growth(server.pid, base, bound_kib=48 * MiB, window=4.0,
                                       done=lambda: all(a.done() for a in answers))
        assert growth < 48 * MiB, f"RSS grew by {growth // MiB} MiB"
        statuses = {a.result().status if a.result() else None for a in answers if a.done()
                    and not a.exception()}
        assert 200 not in statuses
        await assert_still_serving(port)
    finally:
        for answer in answers:
            answer.cancel()
        await asyncio.gather(*answers, return_exceptions=True)
        for client in clients:
            client.close()


async def wait_for_cut(server, clients: int, baseline: int) -> None:
    """Every one of ``clients`` connections was accepted, then the server closed them all."""
    await wait_until(lambda: open_sockets(server.pid) >= baseline + clients,
                     what="the server to accept every connection")
    await wait_until(lambda: open_sockets(server.pid) <= baseline, timeout=10,
                     what="the server to cut the connections that make no progress")


async def test_responses_to_clients_that_never_read_are_cut(spawn):
    server = spawn("[server]\nsend_timeout = 1\nkeepalive_timeout = 30\n")
    port = await server.port()
    sockets = open_sockets(server.pid)  # before any client: the listener and the loop's own
    await assert_still_serving(port)
    base = rss_kib(server.pid)
    clients = [await connect(port, reading=False) for _ in range(20)]
    try:
        for client in clients:
            await client.send(b"GET /huge HTTP/1.1\r\n" + HOST + b"\r\n")
        await wait_for_cut(server, len(clients), sockets)
        assert rss_kib(server.pid) - base < 32 * MiB
        await assert_still_serving(port)
    finally:
        for client in clients:
            client.close()


async def test_streams_to_clients_that_never_read_are_cut(spawn):
    server = spawn("[server]\nsend_timeout = 1\nkeepalive_timeout = 30\n")
    port = await server.port()
    sockets = open_sockets(server.pid)  # before any client: the listener and the loop's own
    await assert_still_serving(port)
    base = rss_kib(server.pid)
    clients = [await connect(port, reading=False) for _ in range(10)]
    try:
        for client in clients:
            await client.send(b"GET /firehose HTTP/1.1\r\n" + HOST + b"\r\n")
        await server.wait_for("firehose_started", count=len(clients))
        await wait_for_cut(server, len(clients), sockets)
        assert rss_kib(server.pid) - base < 32 * MiB
        await assert_still_serving(port)
    finally:
        for client in clients:
            client.close()
