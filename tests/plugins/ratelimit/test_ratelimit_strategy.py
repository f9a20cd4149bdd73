"""The GCRA strategy's Python half: storage keys, arguments, stored values and TTLs, replies."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pyframe_ratelimit import GCRA_LUA, GcraStrategy, Limit, Rate, RateLimitStrategy, decide
from pyframe_ratelimit.strategy import ScriptError, encode_reply

PROPS = settings.get_profile("pyframe-ratelimit")
STRATEGY = GcraStrategy()


def test_gcra_has_what_the_plugin_needs_from_a_strategy():
    members = [name for name in dir(RateLimitStrategy) if not name.startswith("_")]
    members += list(RateLimitStrategy.__annotations__)
    for name in members:
        assert hasattr(STRATEGY, name), name
    assert STRATEGY.name == "gcra"
    assert "redis.call('TIME')" in STRATEGY.lua and STRATEGY.lua == GCRA_LUA


def test_keys_hold_a_digest_of_the_client_in_one_hash_slot():
    limits = [Limit(10, 1, name="second"), Limit(100, 3600, name="hour")]
    keys = STRATEGY.keys("pyframe:rl:", "apikey:secret-value", "rule:/api/<path:rest>", limits)
    tag = re.fullmatch(r"pyframe:rl:\{([0-9a-f]{32})\}:rule:/api/<path:rest>:second", keys[0])
    assert tag is not None
    assert keys[1] == f"pyframe:rl:{{{tag.group(1)}}}:rule:/api/<path:rest>:hour"
    assert "secret-value" not in "".join(keys)
    other = STRATEGY.keys("pyframe:rl:", "apikey:other", "rule:/api/<path:rest>", limits)
    assert other[0] != keys[0]
    huge = STRATEGY.keys("", "user:" + "x" * 100_000, "default", limits[:1])
    assert len(huge[0]) < 80


@pytest.mark.parametrize("prefix", ["a{b", "a}", "x" * 65, "sp ace"])
def test_a_prefix_that_could_break_the_hash_slot_is_refused(prefix):
    with pytest.raises(ValueError, match="a key prefix"):
        STRATEGY.keys(prefix, "ip:192.0.2.1", "default", [Limit(1, 1)])


def test_arguments_carry_the_cost_and_each_rate():
    limits = [Limit(60, 60, 10), Limit(7, 3600, name="h")]
    assert STRATEGY.arguments(limits) == ["1", "1000000", "10000000", "514285715",
                                          "3600000005"]
    assert STRATEGY.arguments(limits, 3)[0] == "3"


@pytest.mark.parametrize("limits, cost, message", [
    ([], 1, "at least one limit"),
    ([Limit(5, 1)], 0, "a whole number >= 1"),
    ([Limit(5, 1)], True, "a whole number >= 1"),
    ([Limit(5, 1)], 6, "can never fit the burst of 5"),
    ([Limit(5, 1), Limit(9, 1, name="5-per-second")], 1, "two limits are named"),
])
def test_arguments_refuse_what_could_never_be_answered(limits, cost, message):
    with pytest.raises(ValueError, match=message):
        STRATEGY.arguments(limits, cost)


def test_apply_stores_the_tat_with_a_ttl_ending_when_the_bucket_is_full(tools):
    limiter = tools.Limiter([Limit(60, 60, 10)])
    start = limiter.clock.now_us
    limiter.hit()
    limiter.hit()
    [(key, (value, expires))] = limiter.store.data.items()
    assert value == str(start + 2_000_000).encode()
    assert limiter.store.ttls[key] == 2000
    assert expires == start + 2_000_000


def test_the_ttl_rounds_up_so_state_never_expires_early(tools):
    limiter = tools.Limiter([Limit(3, 1)])  # 333334 us an interval
    limiter.hit()
    [ttl] = limiter.store.ttls.values()
    assert ttl == 334
    limiter.clock.advance(0.333)
    # The key outlived the 333 ms, so the second request builds on the first one's debt.
    assert limiter.hit().states[0].full_us == 333_334 * 2 - 333_000


def test_an_expired_bucket_is_a_full_one(tools):
    limiter = tools.Limiter([Limit(1, 60)])
    assert limiter.hit().allowed
    limiter.clock.advance(60)
    assert limiter.store.get(next(iter(limiter.store.data))) is None
    assert limiter.hit().allowed


def test_a_refusal_writes_nothing(tools):
    limiter = tools.Limiter([Limit(1, 60, name="a"), Limit(100, 60, name="b")])
    limiter.hit()
    before = dict(limiter.store.data)
    assert not limiter.hit().allowed
    assert limiter.store.data == before


@pytest.mark.parametrize("stored", [b"garbage", b"-5", b"1e15", b" 12", b"1" * 17, b"\xff",
                                    b"12.5", b"0x10"])
def test_a_stored_value_it_did_not_write_counts_as_no_state(tools, stored):
    limiter = tools.Limiter([Limit(1, 60)])
    [key] = STRATEGY.keys("rl:", "ip:192.0.2.1", "default", limiter.limits)
    limiter.store.set(key, stored, px=60_000)
    assert limiter.hit().allowed
    assert limiter.store.data[key][0] == str(limiter.clock.now_us + 60_000_000).encode()


@pytest.mark.parametrize("keys, args, message", [
    ([], ["1"], "expected 1 \\+ 2 x 0 arguments"),
    (["k"], ["1", "10"], "expected 1 \\+ 2 x 1 arguments"),
    (["k"], ["0", "10", "10"], "bad cost"),
    (["k"], ["x", "10", "10"], "bad cost"),
    (["k"], ["1", "0", "10"], "bad rate for key 1"),
    (["k"], ["2", "10", "15"], "bad rate for key 1"),
    (["k", "j"], ["1", "10", "10", "10", "-1"], "bad rate for key 2"),
])
def test_apply_refuses_the_arguments_the_script_refuses(tools, keys, args, message):
    store = tools.DictStore(tools.Clock())
    with pytest.raises(ScriptError, match=message):
        STRATEGY.apply(store, keys, args, 0)
    assert store.data == {}


def test_arguments_may_be_bytes_as_redis_hands_them(tools):
    store = tools.DictStore(tools.Clock())
    reply = STRATEGY.apply(store, ["k"], [b"1", b"1000", b"5000"], 7)
    assert reply == [1, 0, 7, 4, 1000, 1000]


def test_decode_reads_a_reply_and_refuses_a_malformed_one():
    decision = STRATEGY.decode([0, 1500, 9, 0, 1500, 10_000, 3, 0, 100])
    assert not decision.allowed and decision.retry_after_us == 1500 and decision.now_us == 9
    assert decision.retry_after == 1
    assert [s.remaining for s in decision.states] == [0, 3]
    assert decision.refused_by(0) and not decision.refused_by(1)
    for bad in ([], [1, 0, 0], [1, 0, 0, 1, 2]):
        with pytest.raises(ValueError, match="3 \\+ 3 x n"):
            STRATEGY.decode(bad)


@PROPS
@given(limits=st.lists(st.builds(Limit, count=st.integers(1, 50), period=st.integers(1, 20),
                                 burst=st.integers(2, 6)), min_size=1, max_size=3),
       steps=st.lists(st.tuples(st.integers(0, 3_000_000), st.integers(1, 2)), max_size=60))
def test_apply_is_decide_over_the_store(tools, limits, steps):
    limits = [Limit(lim.count, lim.period, lim.burst, f"l{i}") for i, lim in enumerate(limits)]
    rates = [Rate.of(lim) for lim in limits]
    clock = tools.Clock()
    store = tools.DictStore(clock)
    keys = STRATEGY.keys("rl:", "ip:192.0.2.1", "default", limits)
    tats = [None] * len(limits)
    for gap, cost in steps:
        clock.now_us += gap
        reply = STRATEGY.apply(store, keys, STRATEGY.arguments(limits, cost), clock.now_us)
        expected, new = decide(rates, tats, clock.now_us, cost)
        assert reply == encode_reply(expected)
        assert STRATEGY.decode(reply, cost) == expected
        if new is not None:
            tats = list(new)
