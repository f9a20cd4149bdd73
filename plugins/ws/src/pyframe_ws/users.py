"""The id of the user a connection acts for, read from ``context.user`` as the auth plugin sets
it: an object with ``id``, a claims mapping with ``id`` or ``sub``, or a plain str or int."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["MAX_ID_LENGTH", "check_key", "user_id_of"]

MAX_ID_LENGTH = 256  # user ids and group names become parts of topic names


def user_id_of(user: Any) -> str | None:
    """``context.user`` -> its id as a str, or None for no user."""
    if user is None or isinstance(user, bool):
        return None
    if isinstance(user, (str, int)):
        value: Any = user
    elif isinstance(user, Mapping):
        value = user.get("id", user.get("sub"))
    else:
        value = getattr(user, "id", None)
    if value is None or isinstance(value, bool):
        return None
    return str(value)


def check_key(kind: str, value: Any) -> str:
    """A group name or user id as the str the manager keys it by; TypeError or ValueError."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise TypeError(f"a {kind} is a str (or an int), got {type(value).__name__}")
    text = str(value)
    if not text or len(text) > MAX_ID_LENGTH:
        raise ValueError(f"a {kind} is 1 to {MAX_ID_LENGTH} characters, got {len(text)}")
    return text
