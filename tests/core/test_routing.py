import random
import uuid

import pytest

from pyframe import PyFrameApp
from pyframe.errors import MethodNotAllowed, NotFound
from pyframe.request.routing import Route, Router, _Miss


def handler(context):
    return "ok"


def make(*specs):
    router = Router()
    for path, methods in specs:
        router.add(Route(path, methods, handler, name=path))
    return router


def test_static_route_matches_exactly():
    router = make(("/a", ["GET"]), ("/a/b", ["GET"]))
    assert router.match("GET", "/a/b")[0].path == "/a/b"
    with pytest.raises(NotFound):
        router.match("GET", "/a/b/c")


@pytest.mark.parametrize("path,expected", [
    ("/n/42", ("/n/<int:id>", {"id": 42})),
    ("/n/4.5", ("/n/<float:x>", {"x": 4.5})),
    ("/n/12345678-1234-5678-1234-567812345678",
     ("/n/<uuid:u>", {"u": uuid.UUID("12345678-1234-5678-1234-567812345678")})),
    ("/n/word", ("/n/<name>", {"name": "word"})),
    ("/files/a/b/c.txt", ("/files/<path:rest>", {"rest": "a/b/c.txt"})),
])
def test_converters_and_priority(path, expected):
    router = make(("/n/<name>", ["GET"]), ("/n/<int:id>", ["GET"]), ("/n/<float:x>", ["GET"]),
                  ("/n/<uuid:u>", ["GET"]), ("/files/<path:rest>", ["GET"]))
    route, params = router.match("GET", path)
    assert (route.path, params) == expected


def test_static_segment_beats_parameter_and_backtracks():
    router = make(("/users/me/settings", ["GET"]), ("/users/<id>/profile", ["GET"]))
    assert router.match("GET", "/users/me/profile")[1] == {"id": "me"}
    assert router.match("GET", "/users/me/settings")[0].path == "/users/me/settings"


def test_percent_encoded_segments_are_decoded_after_splitting():
    router = make(("/files/<name>", ["GET"]))
    assert router.match("GET", "/files/a%2Fb")[1] == {"name": "a/b"}


def test_method_not_allowed_lists_methods_with_head_for_get():
    router = make(("/x/<int:id>", ["GET", "POST"]))
    with pytest.raises(MethodNotAllowed) as info:
        router.match("DELETE", "/x/1")
    assert info.value.headers["Allow"] == "GET, HEAD, POST"


def test_head_is_answered_by_get():
    router = make(("/x", ["GET"]), ("/y/<int:id>", ["GET"]))
    assert router.match("HEAD", "/x")[0].path == "/x"
    assert router.match("HEAD", "/y/1")[0].path == "/y/<int:id>"


def test_remove_route_and_replace():
    router = make(("/x/<int:id>", ["GET", "POST"]))
    router.remove("/x/<int:id>", ["POST"])
    with pytest.raises(MethodNotAllowed):
        router.match("POST", "/x/1")
    router.remove("/x/<int:id>")
    with pytest.raises(NotFound):
        router.match("GET", "/x/1")
    with pytest.raises(KeyError):
        router.remove("/x/<int:id>")


def test_duplicate_route_is_an_error_unless_replaced():
    router = make(("/x", ["GET"]))
    with pytest.raises(ValueError, match="already routed"):
        router.add(Route("/x", ["GET"], handler))
    router.add(Route("/x", ["GET"], handler, name="new"), replace=True)
    assert router.match("GET", "/x")[0].name == "new"


@pytest.mark.parametrize("path,message", [
    ("x", "starts with '/'"),
    ("/a/<bad:x>", "unknown converter"),
    ("/a/<path:p>/b", "last segment"),
    ("/a/pre<x>", "whole path segment"),
    ("/a/<x>/<x>", "twice"),
])
def test_bad_patterns_are_refused(path, message):
    with pytest.raises(ValueError, match=message):
        make((path, ["GET"]))


def test_thousand_dynamic_routes_match_by_segment_walk():
    router = Router()
    for i in range(1000):
        router.add(Route(f"/r{i}/<int:id>", ["GET"], handler))
    route, params = router.match("GET", "/r999/7")
    assert route.path == "/r999/<int:id>" and params == {"id": 7}
    # The trie keys the first segment: the root holds 1 000 static children and no scan list.
    assert len(router._root.static) == 1000 and router._root.params == []


async def test_routes_can_be_added_and_removed_while_serving():
    from pyframe.testing import TestClient

    app = PyFrameApp()
    app.set_route("/a", lambda context: "a")
    async with TestClient(app) as client:
        async with client.get("/b") as resp:
            assert resp.status == 404
        app.set_route("/b", lambda context: "b")
        async with client.post("/b") as resp:
            assert resp.status == 200 and await resp.text() == "b"
        app.remove_route("/a")
        async with client.get("/a") as resp:
            assert resp.status == 404


def test_empty_segments_do_not_match():
    router = make(("/static/<path:p>", ["GET"]), ("/a/<x>", ["GET"]), ("/a/<x>/", ["GET"]))
    with pytest.raises(NotFound):
        router.match("GET", "//static/a")
    with pytest.raises(NotFound):
        router.match("GET", "/a//")
    assert router.match("GET", "/a/b/")[0].path == "/a/<x>/"
    assert router.match("GET", "/a/b")[0].path == "/a/<x>"


def test_the_walk_without_backtracking_agrees_with_the_full_search():
    # match() first walks the trie greedily and only searches when that walk fails; over many
    # route tables and paths, its answers must be the full search's.
    rng = random.Random(7)
    pieces = ["a", "b", "<int:n>", "<str:s>", "<float:f>", "<path:rest>", "1", "x"]
    for _ in range(200):
        specs = {}
        for _ in range(rng.randint(1, 8)):
            segs = [rng.choice(pieces) for _ in range(rng.randint(1, 3))]
            if any(s.startswith("<path") for s in segs[:-1]):
                continue  # a catch-all is always last
            names = [s.split(":")[1].rstrip(">") for s in segs if s.startswith("<")]
            if len(set(names)) != len(names):
                continue
            specs["/" + "/".join(segs)] = rng.sample(["GET", "POST"], rng.randint(1, 2))
        router = make(*specs.items())
        for _ in range(30):
            path = "/" + "/".join(rng.choice(["a", "b", "1", "2.5", "x", "y", ""])
                                  for _ in range(rng.randint(1, 4)))
            method = rng.choice(["GET", "HEAD", "POST"])
            values: list = []
            full = router._search(router._root, path[1:].split("/"), 0, method, values, _Miss())
            try:
                route, params = router.match(method, path)
            except (NotFound, MethodNotAllowed):
                assert full is None or path in router._static, (specs, method, path)
                continue
            if path in router._static:
                continue  # answered by the static table before either walk
            assert route is full, (specs, method, path)
            assert list(params.values()) == values, (specs, method, path)
