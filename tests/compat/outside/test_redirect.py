"""``OutsideHTTP_Redirect``: every request redirected to the destination, path and query kept."""

from __future__ import annotations

import threading

import aiohttp
import pytest

from pyframe.compat.outside import OutsideHTTP_Redirect

from .support import DEADLINE, Running, exchange, running, split_response


@pytest.mark.parametrize("destination", ["https://example.com", "https://example.com/"])
async def test_every_request_is_redirected_with_path_and_query(destination):
    redirect = OutsideHTTP_Redirect(("127.0.0.1", 0), destination)
    with running(redirect) as r:
        async with aiohttp.ClientSession() as session:
            for method in ("GET", "POST", "HEAD"):
                async with session.request(method, r.base + "/a/b%20c?x=1&y=2",
                                           allow_redirects=False) as resp:
                    assert resp.status == 301  # outside's status
                    assert resp.headers["Location"] == "https://example.com/a/b%20c?x=1&y=2"
            async with session.get(r.base + "/", allow_redirects=False) as resp:
                assert resp.headers["Location"] == "https://example.com/"


def test_the_status_can_keep_the_method():
    redirect = OutsideHTTP_Redirect(("127.0.0.1", 0), "https://example.com/app", status=308)
    with running(redirect) as r:
        raw = exchange(r.server.port, b"POST /login?next=%2F HTTP/1.1\r\nHost: h\r\n"
                                      b"Content-Length: 0\r\nConnection: close\r\n\r\n")
    status, headers, _ = split_response(raw)
    assert status == "HTTP/1.1 308 Permanent Redirect"
    assert dict(headers)["Location"] == "https://example.com/app/login?next=%2F"


def test_terminate_before_and_after_listening():
    redirect = OutsideHTTP_Redirect(("127.0.0.1", 0), "https://example.com")
    handle = Running(redirect)
    handle.thread.start()
    redirect.terminate()
    handle.thread.join(DEADLINE)
    assert not handle.thread.is_alive()
    with running(redirect):  # and it runs again afterwards
        stopper = threading.Thread(target=redirect.terminate)
        stopper.start()
        stopper.join(DEADLINE)


def test_a_destination_that_cannot_be_redirected_to_is_refused():
    with pytest.raises(ValueError, match="absolute http"):
        OutsideHTTP_Redirect(("127.0.0.1", 0), "example.com")
