"""The answer's fields per draft-ietf-httpapi-ratelimit-headers, Retry-After, and the 429 body.

``RateLimit-Policy: "default";q=60;w=60`` states each limit (q requests per w seconds);
``RateLimit: "default";r=0;t=12`` reports what is left (r) and the seconds until more is
available (t, left out when the bucket is full). Both are structured-field Lists (RFC 9651)
with the policy names as Strings. Pure: no pyframe import.
"""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

from .gcra import MICROS, Decision, ceil_div
from .limits import Limit, check_names

__all__ = ["Answer", "sf_string", "sf_integer", "policy_field", "ratelimit_field",
           "POLICY_HEADER", "RATELIMIT_HEADER", "RETRY_AFTER", "QUOTA_EXCEEDED",
           "PROBLEM_JSON"]

POLICY_HEADER = "RateLimit-Policy"
RATELIMIT_HEADER = "RateLimit"
RETRY_AFTER = "Retry-After"
# The problem type the draft registers for a client over its quota (RFC 9457 problem details).
QUOTA_EXCEEDED = "https://iana.org/assignments/http-problem-types#quota-exceeded"
PROBLEM_JSON = "application/problem+json"
_MAX_INTEGER = 999_999_999_999_999  # RFC 9651: at most 15 digits


def sf_string(value: str) -> str:
    """A structured-field String: printable ASCII in quotes, with '"' and '\\' escaped."""
    if not all(" " <= ch <= "~" for ch in value):
        raise ValueError(f"a structured-field string is printable ASCII only, got {value!r}")
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def sf_integer(value: int) -> str:
    if not isinstance(value, int) or isinstance(value, bool) or \
            not -_MAX_INTEGER <= value <= _MAX_INTEGER:
        raise ValueError(f"a structured-field integer has at most 15 digits, got {value!r}")
    return str(value)


def policy_field(limits: Sequence[Limit]) -> str:
    """``"name";q=<count>;w=<period>`` for each limit, as one List."""
    return ", ".join(f"{sf_string(limit.name)};q={sf_integer(limit.count)};"
                     f"w={sf_integer(limit.period)}" for limit in limits)


def ratelimit_field(items: Sequence[tuple[str, int, int]]) -> str:
    """``"name";r=<remaining>;t=<seconds>`` for each (name, remaining, reset_us), as one List.

    ``t`` is rounded up to whole seconds, so a client that waits that long finds the quota
    there; with nothing to wait for (a full bucket) it is left out, as the draft allows.
    """
    parts = []
    for name, remaining, reset_us in items:
        part = f"{sf_string(name)};r={sf_integer(remaining)}"
        if reset_us > 0:
            part += f";t={sf_integer(ceil_div(reset_us, MICROS))}"
        parts.append(part)
    return ", ".join(parts)


class Answer:
    """The fields and body for one set of limits, with what does not change worked out once.

    ``admitted(decision)`` -> headers for a response that went through: ``RateLimit`` for
    every limit (and ``RateLimit-Policy``); ``ratelimit_of`` is its ``RateLimit`` value from
    a reply's flat states, for the request path. ``refused(decision)`` -> (headers, body) for the
    429: ``Retry-After``, ``RateLimit`` for the limits that refused only (so ``Retry-After``
    is never earlier than a ``t`` it is sent with, as the draft asks), ``RateLimit-Policy``
    for all, and a problem-details JSON body naming the violated policies.
    """

    __slots__ = ("limits", "policy", "send_policy", "_items")

    def __init__(self, limits: Sequence[Limit], *, send_policy: bool = True) -> None:
        if not limits:
            raise ValueError("an answer needs at least one limit")
        check_names(limits)
        self.limits = tuple(limits)
        self.policy = policy_field(self.limits)
        self.send_policy = send_policy
        # '"name";r=' per limit, quoted once: ratelimit_of() runs on every admitted request.
        self._items = tuple(f"{sf_string(limit.name)};r=" for limit in self.limits)

    def _check(self, decision: Decision) -> None:
        if len(decision.states) != len(self.limits):
            raise ValueError(f"a decision on {len(decision.states)} limits answered with "
                             f"{len(self.limits)}")

    def admitted(self, decision: Decision) -> dict[str, str]:
        self._check(decision)
        flat: list[int] = []
        for state in decision.states:
            flat += state
        headers = {RATELIMIT_HEADER: self.ratelimit_of(flat, 0)}
        if self.send_policy:
            headers[POLICY_HEADER] = self.policy
        return headers

    def ratelimit_of(self, states: Sequence[int], start: int) -> str:
        """The ``RateLimit`` value of an admitted request, read straight from a strategy's
        reply: from ``start`` on, ``remaining, reset_us, full_us`` per limit, as a Decision's
        states hold them (the request path skips building the Decision)."""
        items = self._items
        if len(states) - start != 3 * len(items):
            raise ValueError(f"a decision on {(len(states) - start) // 3} limits answered "
                             f"with {len(items)}")
        # ratelimit_field() for every limit, with the names already quoted; remaining and
        # the seconds are a bucket's, so far below the 15 digits a field integer may have.
        if len(items) == 1:
            remaining, reset_us = states[start], states[start + 1]
            if reset_us > 0:
                return f"{items[0]}{remaining};t={-(-reset_us // MICROS)}"
            return f"{items[0]}{remaining}"
        parts = []
        for i, item in enumerate(items):
            remaining, reset_us = states[start + 3 * i], states[start + 3 * i + 1]
            if reset_us > 0:
                parts.append(f"{item}{remaining};t={-(-reset_us // MICROS)}")
            else:
                parts.append(f"{item}{remaining}")
        return ", ".join(parts)

    def violated(self, decision: Decision) -> list[Limit]:
        return [limit for i, limit in enumerate(self.limits) if decision.refused_by(i)]

    def refused(self, decision: Decision) -> tuple[dict[str, str], bytes]:
        self._check(decision)
        if decision.allowed:
            raise ValueError("refused() needs a refused decision")
        violated = [(limit, state) for i, (limit, state)
                    in enumerate(zip(self.limits, decision.states)) if decision.refused_by(i)]
        retry = max(decision.retry_after, 1)
        headers = {
            RETRY_AFTER: str(retry),
            RATELIMIT_HEADER: ratelimit_field([(limit.name, state.remaining, state.reset_us)
                                               for limit, state in violated]),
        }
        if self.send_policy:
            headers[POLICY_HEADER] = self.policy
        names = [limit.name for limit, _ in violated]
        body = msgspec.json.encode({
            "type": QUOTA_EXCEEDED,
            "title": "Too Many Requests",
            "status": 429,
            # "error" and "detail" are what every other pyframe error body carries.
            "error": "Too Many Requests",
            "detail": f"rate limit exceeded ({', '.join(names)}); retry in {retry} s",
            "violated-policies": names,
            "retry_after": retry,
        })
        return headers, body
