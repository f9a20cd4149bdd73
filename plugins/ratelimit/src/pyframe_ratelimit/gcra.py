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

from .limits import Limit

__all__ = ["Rate", "LimitState", "Decision", "decide", "ceil_div", "MICROS"]

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


@dataclass(frozen=True, slots=True)
class LimitState:
    """One limit's standing after a decision.

    ``remaining``: requests this limit alone would still admit right now.
    ``reset_us``: until it admits one more than that (0 when its bucket is full).
    ``full_us``: until its bucket is full again; also how long its state must be kept.
    """

    remaining: int
    reset_us: int
    full_us: int


@dataclass(frozen=True, slots=True)
class Decision:
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


def _standing(rate: Rate, tat: int, now_us: int) -> LimitState:
    used = tat - now_us
    avail = rate.tolerance_us - used
    # avail < 0 only if the clock stepped back since the TAT was written.
    remaining = avail // rate.interval_us if avail >= 0 else 0
    if remaining < rate.burst:
        # Time until the debt shrinks enough for one more interval to fit in the tolerance.
        reset = used - rate.tolerance_us + (remaining + 1) * rate.interval_us
    else:
        reset = 0
    return LimitState(remaining, reset, used)


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
    bases = [now_us if tat is None or tat < now_us else tat for tat in tats]
    allowed = True
    retry = 0
    for rate, base in zip(rates, bases):
        over = base + cost * rate.interval_us - now_us - rate.tolerance_us
        if over > 0:
            allowed = False
            retry = max(retry, over)
    if allowed:
        new = tuple(base + cost * rate.interval_us for rate, base in zip(rates, bases))
        states = tuple(_standing(rate, tat, now_us) for rate, tat in zip(rates, new))
        return Decision(True, 0, now_us, cost, states), new
    states = tuple(_standing(rate, base, now_us) for rate, base in zip(rates, bases))
    return Decision(False, retry, now_us, cost, states), None
