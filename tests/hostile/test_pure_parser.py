"""aiohttp's pure-Python HTTP parser (``AIOHTTP_NO_EXTENSIONS=1``, or a platform without the
C extension), finding 11: it accepts what the C parser refuses.

The fix may refuse to start without the C parser, or close these cases in pyframe; either
passes here. A server that refuses must say why and exit non-zero.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator

import pytest

from .processes import ServerProcess, served_project
from .support import DEADLINE, assert_still_serving, connect
from .test_framing import HOST, REFUSED, SMUGGLED, post

FINDING_11 = "finding 11: with the pure-Python parser, "


@pytest.fixture(scope="module")
def pure(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    project = served_project(tmp_path_factory.mktemp("pure"), "[server]\nkeepalive_timeout = 2\n")
    server = ServerProcess.start(project, "served_app:app", env={"AIOHTTP_NO_EXTENSIONS": "1"})
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def port(pure: ServerProcess) -> int | None:
    """The pure-parser server's port, or None when it refused to start (and said why)."""
    try:
        return pure.port_sync()
    except AssertionError:
        try:
            # Its output can end a moment before the process does.
            pure.proc.wait(timeout=DEADLINE)
        except subprocess.TimeoutExpired:
            raise AssertionError("the server neither listened nor exited") from None
    assert pure.proc.returncode != 0
    text = pure.output(200).lower()
    assert "parser" in text or "aiohttp_no_extensions" in text, "refused without saying why"
    return None


async def first_answer(port: int, data: bytes):
    async with await connect(port) as conn:
        response, _ = await conn.send_until_answered([data])
        # An error closes the connection; after a 413 the rest of the declared body is
        # body, which may linger unread.
        closing = response is not None and response.status >= 400 and response.status != 413
        return response, await conn.rest() if closing else b""


async def test_normal_requests_are_served(port):
    if port is not None:
        await assert_still_serving(port)


PARITY = {k: v for k, v in REFUSED.items()
          if k not in ("http-1.2", "lower-case-method", "chunk-size-overflow")}


@pytest.mark.parametrize("data", PARITY.values(), ids=PARITY.keys())
async def test_ambiguous_message_is_refused_and_closed(port, data):
    if port is None:
        return
    response, rest = await first_answer(port, data)
    assert response is not None
    # A 30-digit Content-Length is a number to this parser: refused as too large.
    assert response.status == 400 or (response.status == 413 and b"9" * 30 in data)
    assert b"HTTP/1." not in rest
    await assert_still_serving(port)


async def test_http_1_2_is_refused(port):
    if port is None:
        return
    response, _ = await first_answer(port, b"GET / HTTP/1.2\r\n" + HOST + b"\r\n")
    assert response is not None and response.status in (400, 505)
    await assert_still_serving(port)


async def test_overflowing_chunk_size_is_400(port):
    if port is None:
        return
    async with await connect(port) as conn:
        await conn.send(post(b"Transfer-Encoding: chunked\r\n",
                             b"F" * 17 + b"1\r\nabc\r\n0\r\n\r\n"))
        response = await conn.response(timeout=3)
        assert response is not None and response.status == 400
    await assert_still_serving(port)


async def test_request_after_an_h2c_upgrade_is_not_served(port):
    if port is None:
        return
    async with await connect(port) as conn:
        await conn.send(b"GET / HTTP/1.1\r\n" + HOST + b"Upgrade: h2c\r\nConnection: Upgrade, "
                        b"HTTP2-Settings\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n\r\n" + SMUGGLED)
        first = await conn.response()
        assert (first.status, first.body) == (200, b"ok")
        assert b"HTTP/1." not in await conn.rest(timeout=10)
    await assert_still_serving(port)


async def test_lower_case_method_is_refused(port):
    if port is None:
        return
    response, _ = await first_answer(port, b"get / HTTP/1.1\r\n" + HOST + b"\r\n")
    assert response is not None and response.status == 400
    await assert_still_serving(port)
