"""GCRA semantics on an injected clock: bursts, refill, several limits at once, properties."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pyframe_ratelimit import Answer, Limit, Rate, decide, parse_limit

PROPS = settings.get_profile("pyframe-ratelimit")


def test_the_readme_worked_example(tools):
    """60/minute, burst 10: ten at once, then one a second; ten seconds idle refill it all."""
    limiter = tools.Limiter([Limit.per_minute(60, 10)])
    answer = Answer(limiter.limits)
    remaining = [limiter.hit().states[0].remaining for _ in range(10)]
    assert remaining == [9, 8, 7, 6, 5, 4, 3, 2, 1, 0]

    refused = limiter.hit()
    assert not refused.allowed
    assert refused.retry_after_us == 1_000_000
    headers, _ = answer.refused(refused)
    assert headers == {"Retry-After": "1", "RateLimit": '"default";r=0;t=1',
                       "RateLimit-Policy": '"default";q=60;w=60'}

    limiter.clock.advance(0.999999)
    assert not limiter.hit().allowed
    limiter.clock.advance(0.000001)
    admitted = limiter.hit()
    assert admitted.allowed and admitted.states[0].remaining == 0
    assert not limiter.hit().allowed

    # From here on: exactly one request per second gets through.
    for _ in range(30):
        limiter.clock.advance(0.5)
        assert not limiter.hit().allowed
        limiter.clock.advance(0.5)
        assert limiter.hit().allowed

    limiter.clock.advance(10)
    assert [limiter.hit().allowed for _ in range(11)] == [True] * 10 + [False]


def test_readme_at_most_burst_plus_rate_in_a_minute():
    """Hammering every 10 ms for a minute from a fresh bucket: 10 + 60 requests get through."""
    rate = Rate.of(Limit.per_minute(60, 10))
    tats, admitted = [None], 0
    for now in range(0, 60_000_001, 10_000):
        decision, new = decide([rate], tats, now)
        if new is not None:
            tats, admitted = list(new), admitted + 1
    assert admitted == 70


def test_readme_two_limits_example():
    """10 a second against "10/second" and "1000/hour": dry after 1028 requests, 102.8 s."""
    limits = [parse_limit("10/second"), parse_limit("1000/hour")]
    rates = [Rate.of(lim) for lim in limits]
    tats, now, admitted = [None, None], 0, 0
    while True:
        decision, new = decide(rates, tats, now)
        if new is None:
            break
        tats, admitted, now = list(new), admitted + 1, now + 100_000
    assert (admitted, now) == (1028, 102_800_000)
    assert decision.refused_by(1) and not decision.refused_by(0)
    assert decision.states[0].remaining == 10
    assert decision.retry_after == 2  # 1.6 s, rounded up


def test_login_example_five_a_minute(tools):
    """"5/minute": five at once, then one every 12 s; the refusal says r=0;t=12."""
    limiter = tools.Limiter([parse_limit("5/minute", name="login")])
    assert all(limiter.hit().allowed for _ in range(5))
    refused = limiter.hit()
    headers, _ = Answer(limiter.limits).refused(refused)
    assert headers["RateLimit"] == '"login";r=0;t=12'
    assert headers["Retry-After"] == "12"
    assert headers["RateLimit-Policy"] == '"login";q=5;w=60'
    limiter.clock.advance(11.9)
    assert not limiter.hit().allowed
    limiter.clock.advance(0.1)
    assert limiter.hit().allowed


def test_refused_requests_do_not_delay_the_refill(tools):
    limiter = tools.Limiter([Limit(1, 1, 2)])
    assert limiter.hit().allowed and limiter.hit().allowed
    for _ in range(100):
        limiter.clock.advance(0.009)
        assert not limiter.hit().allowed
    limiter.clock.advance(0.1)
    assert limiter.hit().allowed  # 1 s after the burst, as if nobody had knocked


def test_a_client_at_the_steady_rate_is_never_refused(tools):
    limiter = tools.Limiter([parse_limit("10/second burst 1")])
    for _ in range(500):
        assert limiter.hit().allowed
        limiter.clock.advance(0.1)


def test_remaining_and_reset_report_the_bucket(tools):
    limiter = tools.Limiter([Limit(60, 60, 10)])
    first = limiter.hit().states[0]
    assert (first.remaining, first.reset_us, first.full_us) == (9, 1_000_000, 1_000_000)
    limiter.clock.advance(0.25)
    later = limiter.hit().states[0]
    # 1.75 s of debt: 8 left, the next one back in 0.75 s, full again in 1.75 s.
    assert (later.remaining, later.reset_us, later.full_us) == (8, 750_000, 1_750_000)
    limiter.clock.advance(5)
    assert limiter.hit().states[0].remaining == 9


def test_clients_and_scopes_have_their_own_buckets(tools):
    limiter = tools.Limiter([Limit(1, 60)])
    assert limiter.hit("ip:192.0.2.1").allowed
    assert not limiter.hit("ip:192.0.2.1").allowed
    assert limiter.hit("ip:192.0.2.2").allowed
    assert limiter.hit("ip:192.0.2.1", scope="rule:/login").allowed


def test_cost_spends_several_units(tools):
    limiter = tools.Limiter([Limit(10, 1)])
    decision = limiter.hit(cost=4)
    assert decision.allowed and decision.states[0].remaining == 6
    assert limiter.hit(cost=6).allowed
    refused = limiter.hit(cost=3)
    assert not refused.allowed
    assert refused.retry_after_us == 300_000  # three intervals of 0.1 s
    assert refused.states[0].reset_us == 100_000  # the first unit comes back sooner
    assert refused.refused_by(0)


def test_several_limits_decide_together(tools):
    """10 a second and 15 a minute: the second one stops the second burst."""
    per_second, per_minute = Limit(10, 1, name="second"), Limit(15, 60, name="minute")
    limiter = tools.Limiter([per_second, per_minute])
    first = [limiter.hit() for _ in range(11)]
    assert [d.allowed for d in first] == [True] * 10 + [False]
    assert first[-1].refused_by(0) and not first[-1].refused_by(1)
    assert first[-1].states[1].remaining == 5

    limiter.clock.advance(1)
    second = [limiter.hit() for _ in range(10)]
    # Only 5 more fit the minute (plus what 1 s refilled of it: nothing, at 4 s an interval).
    assert [d.allowed for d in second] == [True] * 5 + [False] * 5
    last = second[-1]
    assert not last.refused_by(0) and last.refused_by(1)
    assert last.states[0].remaining == 5  # the per-second limit spent nothing on refusals
    headers, body = Answer(limiter.limits).refused(last)
    assert headers["RateLimit"] == '"minute";r=0;t=3'
    assert headers["Retry-After"] == "3"
    assert b'"violated-policies":["minute"]' in body


def test_a_refusal_by_one_limit_spends_none_of_the_others(tools):
    tight, loose = Limit(1, 60, name="tight"), Limit(100, 60, name="loose")
    limiter = tools.Limiter([tight, loose])
    assert limiter.hit().states[1].remaining == 99
    for _ in range(50):
        decision = limiter.hit()
        assert not decision.allowed
        assert decision.states[1].remaining == 99


def test_retry_after_is_the_longest_wait_of_the_refusing_limits(tools):
    a, b = Limit(1, 2, name="a"), Limit(1, 5, name="b")
    limiter = tools.Limiter([a, b])
    assert limiter.hit().allowed
    refused = limiter.hit()
    assert refused.refused_by(0) and refused.refused_by(1)
    assert refused.retry_after_us == 5_000_000
    limiter.clock.advance(4.999)
    assert not limiter.hit().allowed
    limiter.clock.advance(0.001)
    assert limiter.hit().allowed


def test_a_clock_that_steps_back_only_makes_the_wait_longer():
    rate = Rate.of(Limit(1, 1, 1))
    _, tats = decide([rate], [None], 10_000_000)
    decision, _ = decide([rate], list(tats), 5_000_000)
    assert not decision.allowed
    assert decision.states[0].remaining == 0
    assert decision.retry_after_us == 6_000_000


@pytest.mark.parametrize("args, message", [
    (([], [], 0), "at least one rate"),
    (([Rate(1, 1)], [], 0), "1 rates but 0 stored states"),
    (([Rate(1, 1)], [None], 0, 0), "costs at least 1"),
    (([Rate(10, 20)], [None], 0, 3), "exceeds a burst of 2"),
])
def test_decide_refuses_impossible_questions(args, message):
    with pytest.raises(ValueError, match=message):
        decide(*args)


def test_a_rate_needs_sane_numbers():
    with pytest.raises(ValueError, match="interval_us >= 1"):
        Rate(0, 10)
    with pytest.raises(ValueError, match="tolerance_us >= interval_us"):
        Rate(10, 5)


LIMITS = st.builds(Limit, count=st.integers(1, 20), period=st.integers(1, 30),
                   burst=st.integers(1, 8))
# Gaps between requests in microseconds: mostly bursts, sometimes long pauses.
GAPS = st.lists(st.one_of(st.just(0), st.integers(0, 50_000), st.integers(0, 20_000_000)),
                min_size=1, max_size=120)


def run(rates, gaps, costs=None):
    now, tats, log = 1_000_000_000, [None] * len(rates), []
    for i, gap in enumerate(gaps):
        now += gap
        cost = costs[i] if costs else 1
        decision, new = decide(rates, tats, now, cost)
        log.append((now, decision))
        if new is not None:
            tats = list(new)
    return log


@PROPS
@given(limit=LIMITS, gaps=GAPS)
def test_never_more_than_rate_times_time_plus_burst_in_any_window(limit, gaps):
    admitted = [now for now, d in run([Rate.of(limit)], gaps) if d.allowed]
    period_us = limit.period * 1_000_000
    for i in range(len(admitted)):
        for j in range(i, len(admitted)):
            # Requests i..j fall in a window of admitted[j] - admitted[i] microseconds.
            window = admitted[j] - admitted[i]
            assert (j - i + 1 - limit.burst) * period_us <= window * limit.count


@PROPS
@given(limit=LIMITS, gaps=GAPS)
def test_refusing_consumes_nothing(limit, gaps):
    """Dropping every refused request from the sequence changes no other answer."""
    rate = Rate.of(limit)
    log = run([rate], gaps)
    kept = [(now, d.allowed) for now, d in log if d.allowed]
    tats, replay = [None], []
    for now, _ in kept:
        decision, new = decide([rate], tats, now)
        replay.append((now, decision.allowed))
        tats = list(new) if new is not None else tats
    assert replay == kept


@PROPS
@given(limits=st.lists(LIMITS, min_size=1, max_size=3), gaps=GAPS,
       costs=st.lists(st.integers(1, 3), min_size=120, max_size=120))
def test_all_or_nothing_across_limits(limits, gaps, costs):
    """Admitted exactly when every limit alone would admit; refused leaves every state as it was."""
    limits = [Limit(lim.count, lim.period, max(lim.burst, 3), name=f"l{i}")
              for i, lim in enumerate(limits)]
    rates = [Rate.of(lim) for lim in limits]
    now, tats = 1_000_000_000, [None] * len(rates)
    for gap, cost in zip(gaps, costs):
        now += gap
        alone = [decide([rate], [tat], now, cost)[0].allowed for rate, tat in zip(rates, tats)]
        decision, new = decide(rates, tats, now, cost)
        assert decision.allowed == all(alone)
        assert [decision.refused_by(i) for i in range(len(rates))] == (
            [not a for a in alone] if not decision.allowed else [False] * len(rates))
        if decision.allowed:
            assert decision.retry_after_us == 0
            tats = list(new)
        else:
            assert new is None
            assert decision.retry_after_us > 0
            # Waiting retry_after admits the same request, and not a microsecond less.
            assert decide(rates, tats, now + decision.retry_after_us, cost)[0].allowed
            assert not decide(rates, tats, now + decision.retry_after_us - 1, cost)[0].allowed


@PROPS
@given(limit=LIMITS, gaps=GAPS)
def test_reported_remaining_is_what_would_be_admitted(limit, gaps):
    """``remaining`` more requests right now succeed and the one after fails; ``reset_us``
    later one more fits."""
    rate = Rate.of(limit)
    now, tats = 1_000_000_000, [None]
    for gap in gaps[:30]:
        now += gap
        decision, new = decide([rate], tats, now)
        tats = list(new) if new is not None else tats
        state = decision.states[0]
        probe = list(tats)
        for _ in range(state.remaining):
            d, n = decide([rate], probe, now)
            assert d.allowed
            probe = list(n)
        assert not decide([rate], probe, now)[0].allowed
        if state.remaining < limit.burst:
            assert decide([rate], probe, now + state.reset_us)[0].allowed
            assert not decide([rate], probe, now + state.reset_us - 1)[0].allowed
        else:
            assert state.reset_us == 0 and state.full_us == 0
