"""The change-tracking session dict."""

import pytest

from pyframe_auth import Session, SessionValueError
from pyframe_auth.session import MAX_DEPTH, check_session_data


def loaded(data):
    return Session(data, new=False, created=1)


def test_an_untouched_session_is_unchanged_and_unread():
    session = loaded({"a": 1})
    assert not session.modified and not session.accessed


def test_reading_is_not_a_change():
    session = loaded({"a": [1, {"b": 2}]})
    assert session["a"][1]["b"] == 2 and session.get("x") is None and "a" in session
    assert list(session) == ["a"] and len(session) == 1
    assert session.accessed and not session.modified


def test_writing_the_same_value_is_not_a_change():
    session = loaded({"a": 1})
    session["a"] = 1
    assert not session.modified


def test_top_level_changes():
    for change in (lambda s: s.__setitem__("b", 2), lambda s: s.__delitem__("a"),
                   lambda s: s.clear(), lambda s: s.pop("a"), lambda s: s.update(c=3),
                   lambda s: s.setdefault("d", [])):
        session = loaded({"a": 1})
        change(session)
        assert session.modified


def test_nested_mutation_is_a_change():
    session = loaded({"cart": {"items": [1, 2]}, "seen": []})
    session["cart"]["items"].append(3)
    assert session.modified
    session = loaded({"cart": {"items": [1, 2]}})
    items = session.get("cart")["items"]
    items[0] = 9
    assert session.modified
    session = loaded({"prefs": {"theme": "dark"}})
    session["prefs"]["theme"] = "dark"  # same value again: nothing changed
    assert not session.modified


def test_a_change_undone_is_no_change():
    session = loaded({"a": [1]})
    session["a"].append(2)
    session["a"].pop()
    assert not session.modified


def test_a_new_empty_session_that_was_only_read_sets_nothing():
    session = Session()
    assert session.get("user") is None and session.new and session.created is None
    assert not session.modified


def test_forced_changes_rotation_and_invalidation():
    session = loaded({"user": 1})
    session.mark_modified()
    assert session.modified
    session = loaded({"user": 1})
    session.rotate()
    assert session.rotate_requested and session.modified and session["user"] == 1
    session = loaded({"user": 1})
    session.invalidate()
    assert session.invalidated and session.modified and dict(session) == {}


def test_an_unencodable_value_counts_as_a_change():
    session = loaded({})
    session["x"] = object()
    assert session.modified


def test_keys_are_strings():
    with pytest.raises(SessionValueError):
        Session()[1] = "x"


def test_the_validator_undoes_a_refused_write():
    def at_most_two(data):
        if len(data) > 2:
            raise ValueError("too many")

    session = Session({"a": 1, "b": 2}, validator=at_most_two)
    with pytest.raises(ValueError):
        session["c"] = 3
    assert dict(session) == {"a": 1, "b": 2}
    def not_big(data):
        if data["a"] == "big":
            raise ValueError("too big")

    session = Session({"a": 1}, validator=not_big)
    with pytest.raises(ValueError):
        session["a"] = "big"
    assert session["a"] == 1


def test_repr_shows_keys_not_values():
    text = repr(loaded({"token": "s3cr3t"}))
    assert "token" in text and "s3cr3t" not in text


def test_check_session_data_names_the_bad_path():
    check_session_data({"a": [1, 2.5, "x", None, True, {"b": []}]})
    path = r"session\['a'\]\[1\]\['b'\]"
    with pytest.raises(SessionValueError, match=path + ": a tuple .*use a list"):
        check_session_data({"a": [0, {"b": (1,)}]})
    deep: list = []
    node = deep
    for _ in range(MAX_DEPTH):
        node.append([])
        node = node[0]
    with pytest.raises(SessionValueError, match="deeper"):
        check_session_data({"d": deep})
