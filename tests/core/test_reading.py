"""Reading bodies (pyframe.request.reading): coded bodies decoded in bounded steps, and the
C parser the server insists on (pyframe.http.framing)."""

from __future__ import annotations

import gzip
import zlib

import brotli
import pytest
from aiohttp import web_protocol
from aiohttp.http_parser import HttpRequestParserPy

from pyframe import PyFrameApp
from pyframe.errors import ConfigError
from pyframe.http.framing import require_c_parser
from pyframe.request import reading
from pyframe.testing import TestClient

STEP = 64 * 1024


def decode(decoder, data: bytes, piece: int = 4096) -> list[bytes]:
    """Feed ``data`` in pieces as the wire would; every output step the decoder gives."""
    outputs = []
    for start in range(0, len(data), piece):
        decoder.push(data[start:start + piece])
        while out := decoder.pull():
            outputs.append(out)
    while out := decoder.pull():
        outputs.append(out)
    decoder.end()
    return outputs


@pytest.mark.parametrize("coding, pack", [
    ("gzip", gzip.compress), ("deflate", zlib.compress), ("br", brotli.compress),
])
def test_a_bomb_comes_out_in_bounded_steps(coding, pack):
    plain = b"a" * 3_000_000
    outputs = decode(reading._DECODERS[coding](), pack(plain))
    assert b"".join(outputs) == plain
    # Never the whole expansion at once: read_body refuses it at the limit, one step past.
    assert max(map(len, outputs)) <= 2 * STEP


@pytest.mark.parametrize("coding, pack", [
    ("gzip", gzip.compress), ("deflate", zlib.compress), ("br", brotli.compress),
])
def test_a_coded_body_cut_short_does_not_decode(coding, pack):
    with pytest.raises(reading._Undecodable, match="cut short"):
        decode(reading._DECODERS[coding](), pack(b"x" * 100_000)[:-10])


def test_deflate_with_garbage_after_its_end_does_not_decode():
    with pytest.raises(reading._Undecodable):
        decode(reading._DECODERS["deflate"](), zlib.compress(b"x") + b"junk")


def test_the_pure_python_parser_is_refused(monkeypatch):
    require_c_parser()  # this environment has the C parser
    monkeypatch.setattr(web_protocol, "HttpRequestParser", HttpRequestParserPy)
    with pytest.raises(ConfigError, match="C parser"):
        require_c_parser()


async def test_a_server_will_not_start_on_the_pure_python_parser(monkeypatch):
    monkeypatch.setattr(web_protocol, "HttpRequestParser", HttpRequestParserPy)
    app = PyFrameApp()
    started = []
    app.on_startup(lambda app: started.append(True))
    with pytest.raises(ConfigError, match="AIOHTTP_NO_EXTENSIONS"):
        async with TestClient(app):
            pass
    assert started == []  # refused before the app's start-up hooks ran
