"""Reading the session cookie out of a ``Cookie`` header: the one pair asked for, as sent."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pyframe_auth.cookie_header import read_cookie


@pytest.mark.parametrize("header, value", [
    ("session=abc", "abc"),
    ("session=abc ", "abc"),
    ("a=1; session=abc; b=2", "abc"),
    ("a=1;session=abc", "abc"),
    ('session="abc"', "abc"),
    ("session=", ""),
    ("session=first; session=second", "first"),  # browsers send the longer path first
    ("xsession=abc", None),
    ("session_id=abc", None),
    ("sessions=abc; a=1", None),
    ("a=session=abc", None),
    ("", None),
    (None, None),
])
def test_the_named_cookie_or_none(header, value):
    assert read_cookie(header, "session") == value


def test_a_prefixed_name():
    assert read_cookie("session=x; __Host-session=y", "__Host-session") == "y"


names = st.text("abcdefgh_-", min_size=1, max_size=8)
values = st.text("ABCabc0123.-_", max_size=20)


@given(st.lists(st.tuples(names, values), max_size=8), names)
def test_it_agrees_with_splitting_every_pair(pairs, name):
    header = "; ".join(f"{k}={v}" for k, v in pairs)
    expected = next((v for k, v in pairs if k == name), None)
    assert read_cookie(header, name) == expected
