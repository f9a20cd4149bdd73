"""The RateLimit and RateLimit-Policy fields, Retry-After and the 429 body."""

from __future__ import annotations

import re

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pyframe_ratelimit import Answer, Decision, Limit, LimitState, policy_field, ratelimit_field
from pyframe_ratelimit.headers import QUOTA_EXCEEDED, sf_integer, sf_string

PROPS = settings.get_profile("pyframe-ratelimit")
DEFAULT = Limit.per_minute(60, 10)


def test_the_issue_examples():
    assert policy_field([Limit(60, 60, name="default")]) == '"default";q=60;w=60'
    assert ratelimit_field([("default", 0, 12_000_000)]) == '"default";r=0;t=12'


def test_several_policies_form_one_list():
    limits = [Limit(10, 1, name="burst"), Limit(1000, 3600, name="hourly")]
    assert policy_field(limits) == '"burst";q=10;w=1, "hourly";q=1000;w=3600'
    assert ratelimit_field([("burst", 3, 400_000), ("hourly", 990, 3_600_000)]) == \
        '"burst";r=3;t=1, "hourly";r=990;t=4'


def test_t_rounds_up_and_is_left_out_when_nothing_is_owed():
    assert ratelimit_field([("a", 1, 1)]) == '"a";r=1;t=1'
    assert ratelimit_field([("a", 1, 1_000_000)]) == '"a";r=1;t=1'
    assert ratelimit_field([("a", 1, 1_000_001)]) == '"a";r=1;t=2'
    assert ratelimit_field([("a", 10, 0)]) == '"a";r=10'


def test_structured_field_strings_and_integers():
    assert sf_string("default") == '"default"'
    assert sf_string('a"b\\c') == '"a\\"b\\\\c"'
    for bad in ("é", "a\nb", "\x7f"):
        with pytest.raises(ValueError, match="printable ASCII"):
            sf_string(bad)
    assert sf_integer(999_999_999_999_999) == "999999999999999"
    for bad in (10**15, True, 1.0):
        with pytest.raises(ValueError, match="15 digits"):
            sf_integer(bad)  # type: ignore[arg-type]


def decision(allowed, retry_us, *states):
    return Decision(allowed, retry_us, 0, 1, tuple(LimitState(*s) for s in states))


def test_admitted_answer_reports_every_limit():
    answer = Answer([DEFAULT])
    assert answer.admitted(decision(True, 0, (9, 1_000_000, 1_000_000))) == {
        "RateLimit": '"default";r=9;t=1', "RateLimit-Policy": '"default";q=60;w=60'}
    quiet = Answer([DEFAULT], send_policy=False)
    assert quiet.admitted(decision(True, 0, (10, 0, 0))) == {"RateLimit": '"default";r=10'}



@PROPS
@given(st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 10**10), st.integers(0, 10**10)),
                min_size=1, max_size=3))
def test_the_request_paths_field_is_the_admitted_answers(states):
    # The limiter formats RateLimit from the strategy's flat reply, without a Decision: the
    # same value admitted() gives for that decision.
    limits = [Limit(10 + i, 1, name=f"l{i}") for i in range(len(states))]
    answer = Answer(limits)
    reply = [1, 0, 123]
    for state in states:
        reply += state
    expected = answer.admitted(decision(True, 0, *states))["RateLimit"]
    assert answer.ratelimit_of(reply, 3) == expected
    with pytest.raises(ValueError, match="a decision on"):
        answer.ratelimit_of(reply + [0, 0, 0], 3)

def test_refused_answer():
    limits = [Limit(10, 1, name="second"), Limit(100, 3600, name="hour")]
    refused = decision(False, 2_500_000, (0, 2_500_000, 3_000_000), (50, 36_000_000, 10**9))
    headers, body = Answer(limits).refused(refused)
    # Only the limit that refused is in RateLimit, so Retry-After is never before its t.
    assert headers == {"Retry-After": "3", "RateLimit": '"second";r=0;t=3',
                       "RateLimit-Policy": '"second";q=10;w=1, "hour";q=100;w=3600'}
    assert msgspec.json.decode(body) == {
        "type": QUOTA_EXCEEDED, "title": "Too Many Requests", "status": 429,
        "error": "Too Many Requests", "detail": "rate limit exceeded (second); retry in 3 s",
        "violated-policies": ["second"], "retry_after": 3}
    assert Answer(limits).violated(refused) == [limits[0]]


def test_retry_after_is_at_least_one_second():
    headers, _ = Answer([DEFAULT]).refused(decision(False, 1, (0, 1, 10_000_000)))
    assert headers["Retry-After"] == "1"


def test_answers_check_what_they_are_given():
    with pytest.raises(ValueError, match="at least one limit"):
        Answer([])
    with pytest.raises(ValueError, match="distinct names"):
        Answer([DEFAULT, DEFAULT])
    answer = Answer([DEFAULT])
    with pytest.raises(ValueError, match="a decision on 2 limits"):
        answer.admitted(decision(True, 0, (1, 0, 0), (1, 0, 0)))
    with pytest.raises(ValueError, match="needs a refused decision"):
        answer.refused(decision(True, 0, (1, 0, 0)))


SF_LIST_MEMBER = r'"[!#-\[\]-~ ]*"(;[a-z][a-z0-9_.*-]*=[0-9]{1,15})+'


@PROPS
@given(st.lists(st.tuples(st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,20}", fullmatch=True),
                          st.integers(0, 10**9), st.integers(0, 10**12)),
                min_size=1, max_size=4))
def test_fields_are_lists_of_parameterised_strings(items):
    value = ratelimit_field(items)
    members = value.split(", ")
    assert len(members) == len(items)
    for member, (name, remaining, reset_us) in zip(members, items):
        assert re.fullmatch(SF_LIST_MEMBER, member)
        assert member.startswith(f'"{name}";r={remaining}')
        assert (";t=" in member) == (reset_us > 0)
