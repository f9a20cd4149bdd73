"""Property tests over real HTTP: query strings, cookies, headers and multipart bodies.

Two kinds of property: what a well-formed client sends comes back out of the request context
unchanged, and whatever bytes a client sends, the answer is never a 500.
"""

from __future__ import annotations

import hashlib
import random
from urllib.parse import quote, urlencode

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from pyframe import PyFrameApp

from .fuzzing import FUZZ, ThreadedServer, http

TOKEN = "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
COOKIE_OCTETS = "".join(chr(c) for c in range(0x21, 0x7F) if chr(c) not in '",;\\')
# Header value bytes a client may send: visible ASCII, space and tab inside, obs-text.
FIELD_BYTES = bytes([9, *range(0x20, 0x7F), *range(0x80, 0x100)])
# Multipart names and file names, with letters outside ASCII (finding 16, fixed).
NAME_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-. éüßØж日本語"


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    config = tmp_path_factory.mktemp("fuzz") / "pyframe.toml"
    config.write_text("")  # the defaults, whatever the working directory holds
    app = PyFrameApp(config=str(config))

    @app.get("/query")
    async def query(context):
        q = context.query_params
        return {"first": dict(q), "all": {k: q.getall(k) for k in q}}

    @app.get("/cookies")
    async def cookies(context):
        return {"cookies": dict(context.cookies)}

    @app.get("/headers")
    async def headers(context):
        return {"values": {k.lower(): context.headers.getall(k) for k in context.headers
                           if k.lower().startswith("x-fuzz-")}}

    @app.route("/count", methods=["GET", "POST"])
    async def count(context):
        return {"headers": len(context.headers), "cookies": len(context.cookies),
                "query": len(context.query_params)}

    @app.get("/echo")
    async def echo(context):
        # Hands back every header value and cookie it was given, whatever their bytes: what
        # a handler is given always encodes (finding 22, fixed).
        return {"headers": [v for k, v in context.headers.items()
                            if k.lower().startswith("x-fuzz-")],
                "cookies": dict(context.cookies), "agent": context.user_agent}

    @app.post("/multipart")
    async def multipart(context):
        return {"fields": {k: context.form.getall(k) for k in context.form},
                "files": {k: [[f.filename, f.size, hashlib.sha256(f.content).hexdigest()]
                              for f in context.files.getall(k)] for k in context.files}}

    with ThreadedServer(app) as server:
        yield server


def get(port: int, target: str, *headers: bytes):
    return http(port, f"GET {target} HTTP/1.1\r\nHost: fuzz\r\n".encode()
                + b"".join(h + b"\r\n" for h in headers))


pairs = st.lists(st.tuples(st.text(min_size=1, max_size=12), st.text(max_size=20)), max_size=8)


@FUZZ
@given(items=pairs)
def test_query_string_round_trips(served, items):
    response = get(served.port, "/query?" + urlencode(items, quote_via=quote))
    assert response.status == 200
    expected_all: dict[str, list[str]] = {}
    for key, value in items:
        expected_all.setdefault(key, []).append(value)
    assert response.json() == {"first": {k: v[0] for k, v in expected_all.items()},
                               "all": expected_all}


raw_query = st.lists(st.one_of(
    st.sampled_from(["&", "=", "&&", "==", "%", "%zz", "%e2%82", "%00", "+", ";", "%2B", "?"]),
    st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E,
                                   blacklist_characters="#"), max_size=10)),
    max_size=12).map("".join)


@FUZZ
@given(query=raw_query)
def test_any_query_string_is_answered(served, query):
    response = get(served.port, "/count?" + query)
    assert response is not None and response.status in (200, 400), response.body[:200]


cookie_jar = st.dictionaries(st.text(alphabet=TOKEN, min_size=1, max_size=10),
                             st.text(alphabet=COOKIE_OCTETS, max_size=20), max_size=6)


@FUZZ
@given(jar=cookie_jar)
def test_cookies_round_trip(served, jar):
    # Attribute names ("path", "expires") and "$" names are cookies like any other here.
    header = "; ".join(f"{k}={v}" for k, v in jar.items())
    response = get(served.port, "/cookies", f"Cookie: {header}".encode())
    assert response.status == 200
    assert response.json() == {"cookies": jar}


@FUZZ
@given(value=st.binary(max_size=200).map(lambda b: bytes(c for c in b if c in FIELD_BYTES)))
def test_any_cookie_header_is_answered(served, value):
    response = get(served.port, "/echo", b"Cookie: " + value)
    assert response is not None and response.status in (200, 400), response.body[:200]


header_value = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E),
                       max_size=40).map(str.strip)


@FUZZ
@given(fields=st.dictionaries(st.text(alphabet=TOKEN, min_size=1, max_size=12).map(
    lambda n: "x-fuzz-" + n.lower()), st.lists(header_value, min_size=1, max_size=3),
    max_size=6))
def test_headers_round_trip(served, fields):
    lines = [f"{name}: {value}".encode() for name, values in fields.items() for value in values]
    response = get(served.port, "/headers", *lines)
    assert response.status == 200
    assert response.json() == {"values": fields}


@FUZZ
@given(name=st.text(alphabet=TOKEN, min_size=1, max_size=20),
       value=st.binary(max_size=300).map(lambda b: bytes(c for c in b if c in FIELD_BYTES)))
def test_any_header_is_answered(served, name, value):
    response = get(served.port, "/echo", b"X-Fuzz-" + name.encode() + b": " + value,
                   b"User-Agent: " + value)
    assert response is not None and response.status in (200, 400, 431), response.body[:200]


def encode_multipart(fields, files, boundary: str) -> bytes:
    out = []
    for name, value in fields:
        out.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
                   .encode() + value.encode() + b"\r\n")
    for name, filename, content in files:
        out.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
                   f'filename="{filename}"\r\nContent-Type: application/octet-stream\r\n\r\n'
                   .encode() + content + b"\r\n")
    out.append(f"--{boundary}--\r\n".encode())
    return b"".join(out)


names = st.text(alphabet=NAME_CHARS, min_size=1, max_size=12).filter(lambda n: n.strip() == n)
form_fields = st.lists(st.tuples(names, st.text(max_size=30)), max_size=5)
form_files = st.lists(st.tuples(names, names, st.binary(max_size=2000)), max_size=3)


def post_multipart(port: int, body: bytes, boundary: str):
    return http(port, b"POST /multipart HTTP/1.1\r\nHost: fuzz\r\n"
                + f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
                  f"Content-Length: {len(body)}\r\n".encode(), body)


@FUZZ
@given(fields=form_fields, files=form_files, seed=st.integers(0, 2 ** 32))
def test_multipart_round_trips(served, fields, files, seed):
    boundary = "fuzz" + "".join(random.Random(seed).choices("0123456789abcdef", k=24))
    body = encode_multipart(fields, files, boundary)
    assume(body.count(boundary.encode()) == len(fields) + len(files) + 1)
    response = post_multipart(served.port, body, boundary)
    assert response.status == 200, response.body[:300]
    expected_fields: dict[str, list[str]] = {}
    for name, value in fields:
        expected_fields.setdefault(name, []).append(value)
    expected_files: dict[str, list[list[object]]] = {}
    for name, filename, content in files:
        expected_files.setdefault(name, []).append(
            [filename, len(content), hashlib.sha256(content).hexdigest()])
    assert response.json() == {"fields": expected_fields, "files": expected_files}


@FUZZ
@given(fields=form_fields, files=form_files, cuts=st.lists(st.tuples(
    st.integers(0, 10 ** 6), st.binary(max_size=8).map(lambda b: bytes(c & 0x7F for c in b))),
    min_size=1, max_size=4))
def test_mangled_multipart_is_answered(served, fields, files, cuts):
    body = bytearray(encode_multipart(fields, files, "B0undary"))
    for where, garbage in cuts:  # overwrite a few spots with ASCII garbage
        at = where % (len(body) + 1)
        body[at:at + len(garbage)] = garbage
    response = post_multipart(served.port, bytes(body), "B0undary")
    assert response is not None and response.status in (200, 400), response.body[:300]
