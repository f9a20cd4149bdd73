"""exclude_paths: prefixes and route patterns, matched so no spelling of a path slips through."""

import posixpath
from urllib.parse import unquote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pyframe_auth import PathMatcher, normalize_path

PUBLIC = PathMatcher(["/public", "/login"])


@pytest.mark.parametrize("path", ["/public", "/public/", "/public/x", "/public/x/y.css",
                                  "/public//x", "/public/x/../y", "/login", "/public?next=/a",
                                  "/public/caf%C3%A9"])
def test_a_prefix_covers_itself_and_below(path):
    assert PUBLIC.matches(path)


@pytest.mark.parametrize("path", ["/publicity", "/publi", "/", "", "/PUBLIC", "//public",
                                  "/admin", "/x/public", "/loginx", "/login.php"])
def test_a_prefix_ends_at_a_segment_boundary(path):
    assert not PUBLIC.matches(path)


@pytest.mark.parametrize("path", [
    "/public/../admin", "/public/./../admin", "/public/x/../../admin",
    "/public/%2e%2e/admin", "/public/%2E%2E/admin", "/public/.%2e/admin", "/public/%2e./admin",
    "/public/%252e%252e/admin", "/public/%25252e%25252e/admin",
    "/public/..%2fadmin", "/public/%2e%2e%2fadmin", "/public%2f..%2fadmin",
    "/public\\..\\admin", "/public/..\\admin", "/public/%5c..%5cadmin",
    "/public/%00/../../admin", "/admin/../public", "/admin/%2e%2e/public",
    "/public/%25252525252e%25252525252e/admin",  # more layers than are ever decoded
])
def test_traversal_never_reaches_outside_an_excluded_prefix(path):
    assert not PUBLIC.matches(path)


ROUTES = PathMatcher(["/users/<int:id>", "/static/<path:p>", "/items/<uuid:item>",
                      "/v/<float:x>", "/<name>/profile"])


@pytest.mark.parametrize("path", ["/users/5", "/users/0042", "/static/a.css", "/static/a/b/c.js",
                                  "/items/12345678-1234-5678-1234-567812345678",
                                  "/items/12345678123456781234567812345678", "/v/1", "/v/1.5",
                                  "/ann/profile", "/users%2Fx/profile"])
def test_route_patterns_match_whole_paths(path):
    if path == "/users%2Fx/profile":
        # The router reads "users/x" as one segment, the normaliser as two: not excluded.
        assert not ROUTES.matches(path)
    else:
        assert ROUTES.matches(path)


@pytest.mark.parametrize("path", ["/users/x", "/users/-1", "/users/５", "/users/5/edit",
                                  "/users/", "/users", "/users/5/", "/static", "/static/",
                                  "/static//a", "/static/../admin", "/static/a/../../admin",
                                  "/items/nope", "/v/1e5", "/v/.5", "/profile", "//profile",
                                  "/a/b/profile", "/users/5/../6"])
def test_route_patterns_refuse_everything_else(path):
    assert not ROUTES.matches(path)


def test_an_empty_list_matches_nothing_and_slash_only_the_root():
    assert not PathMatcher([]).matches("/")
    root = PathMatcher(["/"])
    assert root.matches("/") and root.matches("/?page=2")
    # Excluding the home page must not open the app.
    for path in ("/anything/at/all", "/admin", "//", "/%2e%2e/admin", "/./admin"):
        assert not root.matches(path), path


@pytest.mark.parametrize("entry, message", [
    ("public", "must start with '/'"), ("/a/../b", "not a normalised path"),
    ("/a/%2e", "not a normalised path"), ("/a\\b", "not a normalised path"),
    ("/users/<id", "fills a whole segment"), ("/users/x<id>", "fills a whole segment"),
    ("/f/<path:p>/x", "must be last"), ("/u/<hex:x>", "unknown converter"),
])
def test_bad_entries_are_refused(entry, message):
    with pytest.raises(ValueError, match=message):
        PathMatcher([entry])


def test_a_lone_string_is_not_a_list_of_paths():
    with pytest.raises(TypeError, match="list of paths"):
        PathMatcher("/public")


@pytest.mark.parametrize("raw, normal", [
    ("/a/b/../c", "/a/c"), ("/a/./b/", "/a/b/"), ("//a///b", "/a/b"), ("/../../a", "/a"),
    ("/a/%2e%2e/b", "/b"), ("/a%2Fb", "/a/b"), ("/a\\b", "/a/b"), ("", "/"), ("/", "/"),
    ("/caf%C3%A9", "/café"), ("/a/..", "/"), ("/%252e%252e/x", "/x"),
])
def test_normalize_path(raw, normal):
    assert normalize_path(raw) == normal


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.text())
def test_normalised_paths_are_clean(raw):
    normal = normalize_path(raw)
    assert normal.startswith("/") and "//" not in normal
    assert not {".", ".."} & set(normal.split("/"))
    if "%" not in raw:
        assert normalize_path(normal) == normal


PIECES = ["public", "admin", "x", "..", ".", "", "%2e", "%2E%2e", ".%2e", "%2f", "%2F", "%5c",
          "\\", "%252e", "%25252e", "%00", "%", "%zz", "%C3%A9"]


def _strictest_reading(path: str) -> str:
    # An independent reading: decode fully, treat \ and NUL as /, let posixpath resolve dots.
    for _ in range(10):
        path = unquote(path)
    path = path.replace("\\", "/").replace("\x00", "/")
    return posixpath.normpath("/" + path.lstrip("/"))


@settings(max_examples=500, deadline=None, derandomize=True)
@given(st.lists(st.sampled_from(PIECES), min_size=1, max_size=8), st.sampled_from(["/", "//"]))
def test_no_excluded_path_resolves_outside_its_prefix(pieces, sep):
    path = "/" + sep.join(pieces)
    if PUBLIC.matches(path):
        resolved = _strictest_reading(path).split("/")[1:2]
        assert resolved in (["public"], ["login"])


@settings(max_examples=200, deadline=None, derandomize=True)
@given(st.lists(st.text("abcXYZ019-_~", min_size=1, max_size=6), max_size=5))
def test_plain_paths_under_a_prefix_always_match(segments):
    path = "/public" + "".join("/" + s for s in segments)
    assert PUBLIC.matches(path)
    assert PUBLIC.matches(path + "/")
    assert not PUBLIC.matches("/publicx" + "".join("/" + s for s in segments))
