"""One rate limit (a steady rate and a burst), and the strict parser of strings like "10/second".

Pure: no pyframe import. See the package README, "How the numbers work", for what the numbers mean.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["Limit", "LimitSyntaxError", "parse_limit", "parse_limits", "UNITS", "check_names"]

# Seconds per unit of a limit string. Plurals are accepted too ("100/hours").
UNITS: dict[str, int] = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}
_UNIT_OF_PERIOD = {seconds: unit for unit, seconds in UNITS.items()}
_MICROS = 1_000_000
# A name goes into a structured-field string, a storage key and log lines: keep it plain.
# No ':' so that "<scope>:<name>" in a storage key splits one way only.
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
# Structured-field integers have at most 15 digits (RFC 9651); q carries the count.
_MAX_COUNT = 999_999_999_999_999
_MAX_BURST = 1_000_000_000
# A bucket never spans more than this: keeps every sum of microseconds far below 2**53, where
# Lua's doubles stop being exact integers, and an idle key's TTL below a year.
_MAX_SPAN_US = 366 * 86400 * _MICROS
_USAGE = ("write a limit as '<count>/<unit>' with unit second, minute, hour or day, "
          "optionally followed by 'burst <n>': '10/second', '100/hour', '60/minute burst 10'")


class LimitSyntaxError(ValueError):
    """A limit string that does not parse; the message says what is wrong and how to write it."""


def _digits(text: str) -> bool:
    # str.isdigit alone also takes "²" and other Unicode digits; int() takes "1_000" and " 5".
    return bool(text) and text.isascii() and text.isdigit()


@dataclass(frozen=True, slots=True)
class Limit:
    """``count`` requests per ``period`` seconds, at most ``burst`` of them at once.

    The bucket holds ``burst`` requests and refills one request every ``period / count``
    seconds. A client that has been idle long enough may send ``burst`` requests at once, then
    one per interval; over any window of ``w`` seconds at most ``burst + w * count / period``
    requests are admitted. ``burst`` defaults to ``count``. ``name`` is the policy's name in
    the ``RateLimit`` fields and part of the bucket's storage key.
    """

    count: int
    period: int
    burst: int | None = None
    name: str = ""

    def __post_init__(self) -> None:
        if self.burst is None:
            object.__setattr__(self, "burst", self.count)
        for attr in ("count", "period", "burst"):
            value = getattr(self, attr)
            if not isinstance(value, int) or isinstance(value, bool):
                raise TypeError(f"Limit.{attr} must be an int, got {type(value).__name__}")
        if self.count < 1:
            raise ValueError(f"a limit's count must be at least 1, got {self.count}")
        if self.count > _MAX_COUNT:
            raise ValueError(f"a limit's count must be at most {_MAX_COUNT}, got {self.count}")
        if not 1 <= self.period <= _MAX_SPAN_US // _MICROS:
            raise ValueError(f"a limit's period is a whole number of seconds from 1 to "
                             f"{_MAX_SPAN_US // _MICROS} (366 days), got {self.period}")
        if self.count > self.period * _MICROS:
            raise ValueError(f"{self.count} per {self.period} s is more than one request per "
                             f"microsecond, the finest interval the limiter keeps")
        if not 1 <= self.burst <= _MAX_BURST:
            raise ValueError(f"burst_size is how many requests may arrive at once: it must be "
                             f"between 1 and {_MAX_BURST}, got {self.burst}")
        if self.burst * self.interval_us > _MAX_SPAN_US:
            raise ValueError(f"burst {self.burst} at one request every {self.interval_us} us "
                             f"takes more than 366 days to refill; lower the burst")
        if not self.name:
            unit = _UNIT_OF_PERIOD.get(self.period)
            default = f"{self.count}-per-{unit}" if unit else f"{self.count}-per-{self.period}s"
            object.__setattr__(self, "name", default)
        elif not isinstance(self.name, str) or not _NAME.match(self.name):
            raise ValueError(f"a limit's name is 1-64 letters, digits, '_', '.' or '-', "
                             f"starting with a letter or digit; got {self.name!r}")

    @classmethod
    def per_minute(cls, requests_per_minute: int, burst_size: int | None = None,
                   name: str = "default") -> Limit:
        """The reference's ``RateLimitMiddleware(requests_per_minute=60, burst_size=10)``."""
        return cls(requests_per_minute, 60, burst_size, name)

    @property
    def interval_us(self) -> int:
        """Microseconds between two requests at the steady rate, rounded up.

        Rounding up makes the limit at most a microsecond per request stricter, never looser.
        """
        return -(-self.period * _MICROS // self.count)

    @property
    def tolerance_us(self) -> int:
        """How far ahead of the steady rate a client may get: the whole burst, in microseconds."""
        return self.burst * self.interval_us

    def __str__(self) -> str:
        unit = _UNIT_OF_PERIOD.get(self.period)
        text = f"{self.count}/{unit}" if unit else f"{self.count} per {self.period} seconds"
        return text if self.burst == self.count else f"{text} burst {self.burst}"


def parse_limit(text: str, *, name: str = "") -> Limit:
    """Parse ``"10/second"``, ``"100/hour"``, ``"60/minute burst 10"`` into a Limit.

    Raises LimitSyntaxError (a ValueError) naming what is wrong, TypeError for a non-string.
    """
    if not isinstance(text, str):
        raise TypeError(f"a limit is a string like '10/second', got {type(text).__name__}")
    if text.count("/") != 1:
        raise LimitSyntaxError(f"invalid limit {text!r}: expected one '/' between the count and "
                               f"the unit; {_USAGE}")
    count_text, rest = (part.strip() for part in text.split("/"))
    if not _digits(count_text):
        raise LimitSyntaxError(f"invalid limit {text!r}: the count {count_text!r} is not a "
                               f"whole number; {_USAGE}")
    words = rest.split()
    if not words:
        raise LimitSyntaxError(f"invalid limit {text!r}: the unit is missing; {_USAGE}")
    unit = words[0].lower()
    seconds = UNITS.get(unit) or (UNITS.get(unit[:-1]) if unit.endswith("s") else None)
    if seconds is None:
        raise LimitSyntaxError(f"invalid limit {text!r}: unknown unit {words[0]!r}; {_USAGE}")
    burst = None
    if len(words) > 1:
        if len(words) != 3 or words[1].lower() != "burst" or not _digits(words[2]):
            raise LimitSyntaxError(f"invalid limit {text!r}: after the unit only 'burst <n>' may "
                                   f"follow; {_USAGE}")
        burst = int(words[2])
        if burst == 0:
            raise LimitSyntaxError(f"invalid limit {text!r}: the burst is how many requests may "
                                   f"arrive at once and must be at least 1")
    count = int(count_text)
    if count == 0:
        raise LimitSyntaxError(f"invalid limit {text!r}: the count must be at least 1 (to refuse "
                               f"every request, do not route it)")
    try:
        return Limit(count, seconds, burst, name)
    except ValueError as exc:
        raise LimitSyntaxError(f"invalid limit {text!r}: {exc}") from None


def parse_limits(specs: Iterable[str | Limit]) -> tuple[Limit, ...]:
    """Limits from strings or Limit objects, checked to have distinct names."""
    if isinstance(specs, str):
        # A lone string would iterate as characters.
        specs = (specs,)
    limits = tuple(s if isinstance(s, Limit) else parse_limit(s) for s in specs)
    check_names(limits)
    return limits


def check_names(limits: Iterable[Limit]) -> None:
    """Raise ValueError when two limits decided together share a name (and so a bucket)."""
    seen: set[str] = set()
    for limit in limits:
        if limit.name in seen:
            raise ValueError(f"two limits are named {limit.name!r}: limits decided together need "
                             f"distinct names (give one a name, or drop the duplicate)")
        seen.add(limit.name)
