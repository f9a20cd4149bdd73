"""Spoofed forwarding headers at the rate limiter: a client that writes its own
``X-Forwarded-For`` (or ``Forwarded``) cannot pick its own bucket. Raw bytes over a real
socket, one test per case; each ends with a normal request still served."""

from __future__ import annotations

import pytest

from pyframe.testing import TestClient

from .support import assert_still_serving, connect

BURST = 3
HOST = b"Host: hostile.test\r\n"


def limited_app(make_app, **options):
    app = make_app()

    @app.get("/health")
    async def health(context):
        return "ok"

    # One a minute after the burst: nothing refills while a case runs.
    app.plugins.enable("ratelimit", requests_per_minute=1, burst_size=BURST,
                       routes=[{"pattern": "/health", "exempt": True}], **options)
    return app


async def statuses(port: int, *header_lines: bytes, count: int = 1) -> list[int]:
    """``count`` requests on one keep-alive connection, each with these header lines."""
    out = []
    async with await connect(port) as conn:
        for _ in range(count):
            await conn.send(b"GET / HTTP/1.1\r\n" + HOST + b"".join(h + b"\r\n"
                                                                    for h in header_lines)
                            + b"\r\n")
            response = await conn.response()
            assert response is not None, "the server closed the connection"
            out.append(response.status)
    return out


async def spend_then_spoof(port: int, spoofs: list[list[bytes]]) -> None:
    """The peer's bucket spent honestly, then every spoofed header set still lands in it."""
    assert await statuses(port, count=BURST) == [200] * BURST
    for lines in spoofs:
        assert await statuses(port, *lines) == [429], lines
    await assert_still_serving(port, "/health")


@pytest.fixture
async def untrusting(make_app):
    async with TestClient(limited_app(make_app)) as client:
        yield client.port


@pytest.fixture
async def trusting_others(make_app):
    # Proxies are configured, but the peer (127.0.0.1) is not one of them.
    async with TestClient(limited_app(make_app, trusted_proxies=["10.0.0.0/8"])) as client:
        yield client.port


@pytest.fixture
async def behind_proxy(make_app):
    # The peer is the trusted proxy: the right-most hop it did not add is the client.
    async with TestClient(limited_app(make_app, trusted_proxies=["127.0.0.1"])) as client:
        yield client.port


async def test_a_new_x_forwarded_for_per_request_keeps_one_bucket(untrusting):
    await spend_then_spoof(untrusting, [[f"X-Forwarded-For: 198.51.100.{n}".encode()]
                                        for n in range(10)])


async def test_forwarded_is_not_believed_either(untrusting):
    await spend_then_spoof(untrusting, [[b"Forwarded: for=198.51.100.7"],
                                        [b'Forwarded: for="[2001:db8::7]:443";proto=https'],
                                        [b"X-Real-IP: 198.51.100.8"]])


async def test_spoofing_a_trusted_proxy_address_from_an_untrusted_peer(trusting_others):
    # The client claims to be behind the trusted network: the peer is not in it.
    await spend_then_spoof(trusting_others, [[b"X-Forwarded-For: 198.51.100.1, 10.0.0.2"],
                                             [b"X-Forwarded-For: 10.0.0.2"],
                                             [b"X-Forwarded-For: 10.0.0.2",
                                              b"X-Forwarded-For: 198.51.100.1"]])


async def test_hops_written_left_of_the_client_change_nothing(behind_proxy):
    real = b"X-Forwarded-For: 203.0.113.9"
    assert await statuses(behind_proxy, real, count=BURST) == [200] * BURST
    for fake in (b"X-Forwarded-For: 198.51.100.1, 203.0.113.9",
                 b"X-Forwarded-For: unknown, 10.9.9.9, 203.0.113.9",
                 b"X-Forwarded-For: " + b"1.2.3.4, " * 500 + b"203.0.113.9"):
        assert await statuses(behind_proxy, fake) == [429]
    # Another real client behind the same proxy has a bucket of its own.
    assert await statuses(behind_proxy, b"X-Forwarded-For: 203.0.113.10") == [200]
    await assert_still_serving(behind_proxy, "/health")


async def test_unusable_hops_fall_back_to_the_proxy_not_to_a_new_bucket(behind_proxy):
    # Garbage where the client's address should be: the proxy's own bucket, shared, so
    # sending a different one each time buys nothing.
    bad = [b"X-Forwarded-For: not-an-address", b"X-Forwarded-For: _hidden",
           b"X-Forwarded-For: 203.0.113.9:99999", b"X-Forwarded-For: \xff\xfe",
           b"X-Forwarded-For: " + b"9" * 4000]
    assert await statuses(behind_proxy, bad[0], count=BURST) == [200] * BURST
    for line in bad[1:]:
        assert await statuses(behind_proxy, line) == [429], line
    await assert_still_serving(behind_proxy, "/health")
