"""The registered-claim checks of a verified token (RFC 7519 §4.1), against an injected clock."""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from typing import Any

from .errors import AuthError, Reason

__all__ = ["check_claims"]


def _number(claims: Mapping[str, Any], name: str) -> float | None:
    value = claims.get(name)
    if value is None:
        return None
    # bool is an int subclass, and NaN compares false with everything: both would slip by.
    if type(value) not in (int, float) or not math.isfinite(value):
        raise AuthError(Reason.INVALID_CLAIM, f"{name} is not a NumericDate")
    return float(value)


def check_claims(claims: Mapping[str, Any], *, now: float, leeway: float,
                 issuer: str | None, audience: str | None,
                 required: Collection[str] = ()) -> None:
    """Raise AuthError unless the claims hold at ``now``.

    ``exp`` is required; ``nbf`` and ``iat`` are checked when present; ``leeway`` covers clock
    skew between the issuer and this server. ``iss`` must equal ``issuer`` when one is set, and
    the token's ``aud`` must contain ``audience`` (exact string match). A token that names an
    audience is refused when none is configured (RFC 7519 §4.1.3: it is meant for someone else).
    """
    exp = _number(claims, "exp")
    if exp is None:
        raise AuthError(Reason.MISSING_CLAIM, "exp")
    if exp <= now - leeway:
        raise AuthError(Reason.EXPIRED)
    nbf = _number(claims, "nbf")
    if nbf is not None and nbf > now + leeway:
        raise AuthError(Reason.NOT_YET_VALID)
    iat = _number(claims, "iat")
    if iat is not None and iat > now + leeway:
        raise AuthError(Reason.ISSUED_IN_FUTURE)
    for name in required:
        if name not in claims:
            raise AuthError(Reason.MISSING_CLAIM, name)
    sub = claims.get("sub")
    if sub is not None and not isinstance(sub, str):
        raise AuthError(Reason.INVALID_CLAIM, "sub is not a string")
    if issuer is not None:
        iss = claims.get("iss")
        if iss is None:
            raise AuthError(Reason.MISSING_CLAIM, "iss")
        if not isinstance(iss, str) or iss != issuer:
            raise AuthError(Reason.WRONG_ISSUER)
    _check_audience(claims, audience)


def _check_audience(claims: Mapping[str, Any], audience: str | None) -> None:
    if "aud" not in claims:
        if audience is not None:
            raise AuthError(Reason.MISSING_CLAIM, "aud")
        return
    aud = claims["aud"]
    values = [aud] if isinstance(aud, str) else aud
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise AuthError(Reason.INVALID_CLAIM, "aud is not a string or a list of strings")
    if audience is None or audience not in values:
        raise AuthError(Reason.WRONG_AUDIENCE)
