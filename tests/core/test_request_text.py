"""Request text a handler can always encode (pyframe.request.text) and multipart names."""

from __future__ import annotations

import json

import pytest
from multidict import CIMultiDict, CIMultiDictProxy

from pyframe.request.bodies import MAX_FORM_PARTS, decode_multipart
from pyframe.request.text import quotable, readable, readable_headers, request_cookies
from pyframe import BadRequest


def test_readable_keeps_utf8_and_reads_other_bytes_as_latin1():
    assert readable("café ☕") == "café ☕"
    escaped = b"Mozilla\xff".decode("utf-8", "surrogateescape")  # as aiohttp hands it over
    assert readable(escaped) == "Mozilla\u00ff"
    assert readable(escaped).encode("latin-1") == b"Mozilla\xff"
    json.dumps(readable(escaped))  # what failed before: a lone surrogate does not encode


def test_readable_headers_copies_only_when_it_must():
    plain = CIMultiDictProxy(CIMultiDict({"A": "1", "B": "café"}))
    assert readable_headers(plain) is plain
    odd = CIMultiDictProxy(CIMultiDict([("A", "x\udcff"), ("A", "y")]))
    assert readable_headers(odd).getall("A") == ["x\u00ff", "y"]


@pytest.mark.parametrize("header, parsed, expected", [
    ("a=1; b=2", {"a": "1", "b": "2"}, {"a": "1", "b": "2"}),
    ("s=first; s=second", {"s": "second"}, {"s": "first"}),
    ('s="a\\"b"; t=1; s=x', {"s": "x", "t": "1"}, {"s": 'a"b', "t": "1"}),
    ('s="a;b"; s=x', {"s": "x"}, {"s": "a;b"}),
    ("s=\udcff; s=x", {"s": "x"}, {"s": "\u00ff"}),
], ids=["plain", "repeated", "quoted-escape", "quoted-semicolon", "not-utf8"])
def test_request_cookies(header, parsed, expected):
    assert dict(request_cookies(header, parsed)) == expected


@pytest.mark.parametrize("value, media_type, shown", [
    ("text/plain; charset=utf-8", True, "text/plain"), ("text/<b>", True, None),
    ("PUT", False, "PUT"), ("P(T", False, None), ("x" * 65, False, None),
])
def test_quotable(value, media_type, shown):
    assert quotable(value, media_type=media_type) == shown


def part(disposition: bytes, value: bytes = b"v") -> bytes:
    return b"--B\r\nContent-Disposition: " + disposition + b"\r\n\r\n" + value + b"\r\n"


@pytest.mark.parametrize("disposition, name", [
    ('form-data; name="é"'.encode(), "é"), ('form-data; name="日本"'.encode(), "日本"),
    (b'form-data; name="\xe9"', "\u00e9"), (b'form-data; name="a\\"b"', 'a"b'),
    (b'form-data; name=plain', "plain"), (b"form-data; name*=UTF-8''x; name=\"y\"", "y"),
], ids=["latin1", "cjk", "not-utf8", "escaped-quote", "token", "extended-ignored"])
def test_multipart_names(disposition, name):
    fields, _ = decode_multipart(part(disposition) + b"--B--\r\n",
                                 "multipart/form-data; boundary=B")
    assert list(fields) == [name]


def test_multipart_file_names():
    body = part('form-data; name="f"; filename="日本.txt"'.encode(), b"data") + part(
        b'form-data; name="g"; filename="C:\\\\Users\\\\me\\\\a.txt"', b"x") + b"--B--\r\n"
    _, files = decode_multipart(body, "multipart/form-data; boundary=B")
    assert (files["f"].filename, files["f"].content) == ("日本.txt", b"data")
    assert files["g"].filename == "a.txt"  # an old browser's full path: the name only


def test_multipart_part_count_is_capped():
    at_cap = part(b'form-data; name="p"', b"") * MAX_FORM_PARTS + b"--B--\r\n"
    fields, _ = decode_multipart(at_cap, "multipart/form-data; boundary=B")
    assert len(fields.getall("p")) == MAX_FORM_PARTS
    with pytest.raises(BadRequest, match=f"more than {MAX_FORM_PARTS} parts"):
        decode_multipart(part(b'form-data; name="p"', b"") + at_cap,
                         "multipart/form-data; boundary=B")


def test_multipart_boundary_outside_latin1_is_read_as_its_bytes():
    # It raised UnicodeEncodeError (a 500) when the parameters were re-encoded as Latin-1.
    body = part(b'form-data; name="a"').replace(b"--B", "--日".encode()) + "--日--\r\n".encode()
    fields, _ = decode_multipart(body, "multipart/form-data; boundary=日")
    assert dict(fields) == {"a": "v"}
