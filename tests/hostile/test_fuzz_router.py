"""Property tests of the router, directly (``pyframe.routing.Router``) and through a served app.

Whatever the path, matching ends in a route or an HTTP error (404, 405, 426); parameters
built into a URL come back out of it unchanged.
"""

from __future__ import annotations

from urllib.parse import quote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pyframe import HTTPError, PyFrameApp, Route

from .fuzzing import FUZZ, ThreadedServer, http

try:  # an internal module: if the core's reorganisation moves it, the app-level tests remain
    from pyframe.routing import Router
except ImportError:  # pragma: no cover - depends on the core's layout
    Router = None

needs_router = pytest.mark.skipif(Router is None, reason="pyframe.routing.Router moved")


def handler(context):
    return "x"


ROUTES = [("/", ["GET"]), ("/about", ["GET", "POST"]), ("/users/<int:user_id>", ["GET"]),
          ("/users/<int:user_id>/posts/<slug>", ["GET", "DELETE"]), ("/tags/<name>", ["GET"]),
          ("/prices/<float:amount>", ["GET"]), ("/ids/<uuid:ident>", ["PUT"]),
          ("/files/<path:rest>", ["GET"])]
METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


def build_router():
    router = Router()
    for path, methods in ROUTES:
        router.add(Route(path, methods, handler))
    return router


# Raw paths as they come off the wire: any printable ASCII, percent escapes valid or not.
raw_segment = st.lists(st.one_of(
    st.sampled_from(["%", "%2F", "%2f", "%00", "%zz", "%e2%82", "%C3%A9", "..", ".", ""]),
    st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E,
                                   blacklist_characters="/?#"), max_size=8)),
    max_size=4).map("".join)
raw_path = st.lists(raw_segment, max_size=6).map(lambda segs: "/" + "/".join(segs))
segment_text = st.text(min_size=1, max_size=20)


@needs_router
@FUZZ
@given(method=st.sampled_from(METHODS), path=raw_path)
def test_match_ends_in_a_route_or_an_http_error(method, path):
    router = build_router()
    try:
        route, params = router.match(method, path)
    except HTTPError as exc:
        assert exc.status in (404, 405, 426)
        return
    assert method in route.methods or (method == "HEAD" and "GET" in route.methods)
    assert set(params) == set(route.param_names)


@needs_router
@FUZZ
@given(user_id=st.integers(min_value=0, max_value=10 ** 30), slug=segment_text)
def test_parameters_round_trip(user_id, slug):
    router = build_router()
    route, params = router.match("GET", f"/users/{user_id}/posts/{quote(slug, safe='')}")
    assert route.path == "/users/<int:user_id>/posts/<slug>"
    assert params == {"user_id": user_id, "slug": slug}


@needs_router
@FUZZ
@given(segments=st.lists(segment_text.filter(lambda s: "/" not in s), min_size=1, max_size=5))
def test_path_parameter_takes_the_rest(segments):
    router = build_router()
    route, params = router.match("GET", "/files/" + "/".join(quote(s, safe="")
                                                             for s in segments))
    assert route.path == "/files/<path:rest>"
    assert params == {"rest": "/".join(segments)}


@needs_router
@FUZZ
@given(segment=st.text(min_size=1, max_size=12).filter(lambda s: "/" not in s))
def test_int_converter_takes_ascii_digits_only(segment):
    router = build_router()
    try:
        route, params = router.match("GET", "/users/" + quote(segment, safe=""))
    except HTTPError as exc:
        assert exc.status == 404
        assert not (segment.isascii() and segment.isdigit())
        return
    assert segment.isascii() and segment.isdigit() and params == {"user_id": int(segment)}


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    config = tmp_path_factory.mktemp("fuzz") / "pyframe.toml"
    config.write_text("")  # the defaults, whatever the working directory holds
    app = PyFrameApp(config=str(config))
    for path, methods in ROUTES:
        app.add_route(path, lambda context: {"params": {k: str(v) for k, v in
                                                        context.params.items()}},
                      methods, name=path)
    with ThreadedServer(app) as server:
        yield server


@FUZZ
@given(method=st.sampled_from(METHODS), path=raw_path)
def test_served_router_never_fails(served, method, path):
    response = http(served.port, f"{method} {path} HTTP/1.1\r\nHost: fuzz\r\n".encode())
    assert response is not None
    assert response.status in (200, 204, 400, 404, 405, 426), response.body[:200]


@FUZZ
@given(user_id=st.integers(min_value=0, max_value=10 ** 18), slug=segment_text)
def test_served_parameters_round_trip(served, user_id, slug):
    path = f"/users/{user_id}/posts/{quote(slug, safe='')}"
    response = http(served.port, f"GET {path} HTTP/1.1\r\nHost: fuzz\r\n".encode())
    assert response.status == 200
    assert response.json() == {"params": {"user_id": str(user_id), "slug": slug}}
