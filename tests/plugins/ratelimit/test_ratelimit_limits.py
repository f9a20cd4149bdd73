"""Limit strings and Limit objects: what parses, what does not and why, the derived numbers."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pyframe_ratelimit import Limit, LimitSyntaxError, parse_limit, parse_limits

PROPS = settings.get_profile("pyframe-ratelimit")


@pytest.mark.parametrize("text, count, period, burst, name", [
    ("10/second", 10, 1, 10, "10-per-second"),
    ("100/hour", 100, 3600, 100, "100-per-hour"),
    ("60/minute", 60, 60, 60, "60-per-minute"),
    ("1000/day", 1000, 86400, 1000, "1000-per-day"),
    (" 5 / minute ", 5, 60, 5, "5-per-minute"),
    ("5/minutes", 5, 60, 5, "5-per-minute"),
    ("5/Minute", 5, 60, 5, "5-per-minute"),
    ("60/minute burst 10", 60, 60, 10, "60-per-minute"),
    ("60/minute BURST 120", 60, 60, 120, "60-per-minute"),
])
def test_limit_strings_parse(text, count, period, burst, name):
    limit = parse_limit(text)
    assert (limit.count, limit.period, limit.burst, limit.name) == (count, period, burst, name)


@pytest.mark.parametrize("text, reason", [
    ("", "expected one '/'"),
    ("10", "expected one '/'"),
    ("10/second/x", "expected one '/'"),
    ("ten/second", "the count 'ten' is not a whole number"),
    ("-1/second", "the count '-1' is not a whole number"),
    ("1.5/second", "the count '1.5' is not a whole number"),
    ("1_000/second", "the count '1_000' is not a whole number"),
    ("²/second", "the count '²' is not a whole number"),
    ("/second", "the count '' is not a whole number"),
    ("0/second", "the count must be at least 1"),
    ("10/", "the unit is missing"),
    ("10/secnd", "unknown unit 'secnd'"),
    ("10/s", "unknown unit 's'"),
    ("10/week", "unknown unit 'week'"),
    ("10/second burst", "only 'burst <n>' may follow"),
    ("10/second burst ten", "only 'burst <n>' may follow"),
    ("10/second burst 5 extra", "only 'burst <n>' may follow"),
    ("10/second extra", "only 'burst <n>' may follow"),
    ("10/second burst 0", "must be at least 1"),
    ("2000000/second", "more than one request per microsecond"),
])
def test_bad_limit_strings_say_what_is_wrong(text, reason):
    with pytest.raises(LimitSyntaxError) as info:
        parse_limit(text)
    message = str(info.value)
    assert reason in message
    assert repr(text) in message
    assert isinstance(info.value, ValueError)


def test_error_messages_show_how_to_write_a_limit():
    with pytest.raises(LimitSyntaxError, match=r"'10/second', '100/hour'"):
        parse_limit("10 per second")


def test_a_non_string_is_a_type_error():
    with pytest.raises(TypeError, match="a limit is a string"):
        parse_limit(10)  # type: ignore[arg-type]


def test_reference_arguments_make_the_default_limit():
    limit = Limit.per_minute(60, 10)
    assert (limit.count, limit.period, limit.burst, limit.name) == (60, 60, 10, "default")
    assert limit.interval_us == 1_000_000
    assert limit.tolerance_us == 10_000_000
    assert str(limit) == "60/minute burst 10"
    assert Limit.per_minute(60).burst == 60


def test_burst_zero_is_refused_not_defaulted():
    with pytest.raises(ValueError, match="how many requests may arrive at once"):
        Limit.per_minute(60, 0)


def test_interval_rounds_up_so_the_limit_is_never_looser():
    limit = Limit(7, 3600)
    assert limit.interval_us * 7 >= 3600 * 1_000_000
    assert (limit.interval_us - 1) * 7 < 3600 * 1_000_000


@pytest.mark.parametrize("kwargs, message", [
    ({"count": 0, "period": 1}, "count must be at least 1"),
    ({"count": 1, "period": 0}, "period is a whole number of seconds"),
    ({"count": 1, "period": 400 * 86400}, "period is a whole number of seconds"),
    ({"count": 1, "period": 1, "burst": -1}, "between 1 and"),
    ({"count": 1, "period": 86400, "burst": 400}, "more than 366 days to refill"),
    ({"count": 10**16, "period": 86400 * 300}, "count must be at most"),
    ({"count": 1, "period": 1, "name": "has space"}, "a limit's name"),
    ({"count": 1, "period": 1, "name": "a:b"}, "a limit's name"),
    ({"count": 1, "period": 1, "name": "-x"}, "a limit's name"),
])
def test_bad_limits_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Limit(**kwargs)


@pytest.mark.parametrize("kwargs", [{"count": 1.5, "period": 1}, {"count": True, "period": 1},
                                    {"count": 1, "period": "60"}])
def test_numbers_must_be_ints(kwargs):
    with pytest.raises(TypeError, match="must be an int"):
        Limit(**kwargs)


def test_names_default_from_the_numbers_and_can_be_given():
    assert Limit(100, 10).name == "100-per-10s"
    assert str(Limit(100, 10)) == "100 per 10 seconds"
    assert parse_limit("5/minute", name="login").name == "login"


def test_parse_limits_takes_strings_and_limits_and_refuses_duplicate_names():
    limits = parse_limits(["10/second", Limit(1000, 3600, name="hourly")])
    assert [limit.name for limit in limits] == ["10-per-second", "hourly"]
    assert parse_limits("10/second") == (parse_limit("10/second"),)
    with pytest.raises(ValueError, match="two limits are named '10-per-second'"):
        parse_limits(["10/second", "10/second burst 2"])


@PROPS
@given(count=st.integers(1, 10**6), unit=st.sampled_from(["second", "minute", "hour", "day"]),
       burst=st.one_of(st.none(), st.integers(1, 1000)))
def test_a_limit_prints_as_the_string_that_parses_back_to_it(count, unit, burst):
    try:
        limit = Limit(count, {"second": 1, "minute": 60, "hour": 3600, "day": 86400}[unit],
                      burst)
    except ValueError:
        return  # out of bounds: covered above
    assert parse_limit(str(limit)) == limit


@PROPS
@given(st.text(max_size=30))
def test_any_string_parses_or_raises_limit_syntax_error(text):
    try:
        limit = parse_limit(text)
    except LimitSyntaxError:
        return
    assert limit.count >= 1 and limit.burst >= 1 and limit.period in (1, 60, 3600, 86400)
