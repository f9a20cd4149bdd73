"""The GCRA decision for several limits at once, all or nothing, in integer microseconds.

Pure: no pyframe import, no clock of its own (the caller passes ``now_us``), no I/O. gcra.lua
is the same function for Redis, step by step; keep the two in step.

State per limit is one integer, the theoretical arrival time (TAT): the moment the bucket
would be full again if nothing more arrived. A TAT at or before ``now`` is a full bucket, the
same as no state at all, which is why idle buckets can simply expire.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

from .limits import Limit

__all__ = ["Rate", "LimitState", "Decision", "decide", "decide_reply", "decide_one", "decision_of",
           "ceil_div", "MICROS"]

MICROS = 1_000_000


def ceil_div(a: int, b: int) -> int:
    """``ceil(a / b)`` for integers, without going through floats."""
    return -(-a // b)


@dataclass(frozen=True, slots=True)
class Rate:
    """A limit as the algorithm sees it: the interval between requests and the burst's span."""

    interval_us: int
    tolerance_us: int

    def __post_init__(self) -> None:
        if self.interval_us < 1 or self.tolerance_us < self.interval_us:
            raise ValueError(f"a rate needs interval_us >= 1 and tolerance_us >= interval_us, "
                             f"got {self.interval_us} and {self.tolerance_us}")

    @classmethod
    def of(cls, limit: Limit) -> Rate:
        return cls(limit.interval_us, limit.tolerance_us)

    @property
    def burst(self) -> int:
        return self.tolerance_us // self.interval_us


# Tuples, not dataclasses: one of each is built per request, and a tuple is built in C.
class LimitState(NamedTuple):
    """One limit's standing after a decision.

    ``remaining``: requests this limit alone would still admit right now.
    ``reset_us``: until it admits one more than that (0 when its bucket is full).
    ``full_us``: until its bucket is full again; also how long its state must be kept.
    """

    remaining: int
    reset_us: int
    full_us: int


class Decision(NamedTuple):
    """The answer for one request: admitted or not, when to retry, each limit's standing.

    ``states`` follows the order of the limits passed in. A refused request consumed nothing.
    """

    allowed: bool
    retry_after_us: int
    now_us: int
    cost: int
    states: tuple[LimitState, ...]

    @property
    def retry_after(self) -> int:
        """Whole seconds to wait before a retry can be admitted (0 when admitted)."""
        return ceil_div(self.retry_after_us, MICROS)

    def refused_by(self, index: int) -> bool:
        """Whether limit ``index`` is one that refused this request."""
        return not self.allowed and self.states[index].remaining < self.cost


def _standing(interval: int, tolerance: int, tat: int, now_us: int, out: list[int]) -> None:
    # Appends (remaining, reset_us, full_us) for one limit whose TAT is ``tat``.
    used = tat - now_us
    avail = tolerance - used
    # avail < 0 only if the clock stepped back since the TAT was written.
    remaining = avail // interval if avail >= 0 else 0
    if remaining < tolerance // interval:
        # Time until the debt shrinks enough for one more interval to fit in the tolerance.
        reset = used - tolerance + (remaining + 1) * interval
    else:
        reset = 0
    out += (remaining, reset, used)


def decide_reply(rates: Sequence[Rate], tats: Sequence[int | None], now_us: int,
                 cost: int = 1) -> tuple[list[int], list[int] | None]:
    """decide() as flat integers, unchecked: the reply gcra.lua gives and the TATs to store.

    The reply is ``[allowed (0/1), retry_after_us, now_us]`` then ``remaining, reset_us,
    full_us`` per limit. The caller has checked the arguments (as decide() does).
    """
    allowed = 1
    retry = 0
    bases = []
    for rate, tat in zip(rates, tats):
        base = now_us if tat is None or tat < now_us else tat
        bases.append(base)
        over = base + cost * rate.interval_us - now_us - rate.tolerance_us
        if over > 0:
            allowed = 0
            if over > retry:
                retry = over
    reply = [allowed, retry, now_us]
    new = None
    if allowed:
        new = [base + cost * rate.interval_us for rate, base in zip(rates, bases)]
        for rate, tat in zip(rates, new):
            _standing(rate.interval_us, rate.tolerance_us, tat, now_us, reply)
    else:
        for rate, base in zip(rates, bases):
            _standing(rate.interval_us, rate.tolerance_us, base, now_us, reply)
    return reply, new


def decide_one(interval_us: int, tolerance_us: int, tat: int | None, now_us: int,
               cost: int = 1) -> tuple[list[int], int | None]:
    """decide_reply() for a single limit, written out for the request path's common case:
    the same reply, and the TAT to store (None when refused)."""
    base = now_us if tat is None or tat < now_us else tat
    over = base + cost * interval_us - now_us - tolerance_us
    if over > 0:
        reply = [0, over, now_us]
        _standing(interval_us, tolerance_us, base, now_us, reply)
        return reply, None
    new = base + cost * interval_us
    reply = [1, 0, now_us]
    _standing(interval_us, tolerance_us, new, now_us, reply)
    return reply, new


def decision_of(reply: Sequence[int], cost: int = 1) -> Decision:
    """A reply of decide_reply() (or of gcra.lua) as a Decision."""
    if len(reply) == 6:  # one limit, the common case: no generator
        states: tuple[LimitState, ...] = (LimitState(reply[3], reply[4], reply[5]),)
    else:
        states = tuple(LimitState(reply[i], reply[i + 1], reply[i + 2])
                       for i in range(3, len(reply), 3))
    return Decision(reply[0] == 1, reply[1], reply[2], cost, states)


def decide(rates: Sequence[Rate], tats: Sequence[int | None], now_us: int,
           cost: int = 1) -> tuple[Decision, tuple[int, ...] | None]:
    """Decide one request of ``cost`` units against every rate at once.

    ``tats`` holds each limit's stored TAT in microseconds, or None where there is none.
    Returns the decision and the TATs to store (with a TTL of ``states[i].full_us``), or None
    when the request is refused: then nothing is stored, and no limit spent anything.
    """
    if len(rates) != len(tats):
        raise ValueError(f"{len(rates)} rates but {len(tats)} stored states")
    if not rates:
        raise ValueError("a decision needs at least one rate")
    if cost < 1:
        raise ValueError(f"a request costs at least 1, got {cost}")
    for rate in rates:
        if cost * rate.interval_us > rate.tolerance_us:
            # It could never be admitted: saying "retry later" would be a lie.
            raise ValueError(f"a request of cost {cost} exceeds a burst of {rate.burst}")
    reply, new = decide_reply(rates, tats, now_us, cost)
    return decision_of(reply, cost), (tuple(new) if new is not None else None)
