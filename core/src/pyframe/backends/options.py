"""Backend URLs: options from the query string, validated strictly; passwords kept out of sight.

Options are URL query parameters (``redis://host/0?timeout=0.5&queue_size=100``) checked
against a msgspec Struct: an unknown, repeated or malformed parameter is an error naming it.
"""

from __future__ import annotations

import re
import typing
from typing import Annotated, Any, TypeVar
from urllib.parse import SplitResult, parse_qsl, unquote, urlsplit, urlunsplit

import msgspec
from msgspec import Meta

from .contracts import InvalidBackendURL

__all__ = ["BackendOptions", "MiB", "split_url", "parse_options", "redact_url", "redact_text"]

MiB = 1024 * 1024
S = TypeVar("S", bound="BackendOptions")


class BackendOptions(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The options every backend takes. Implementations subclass it with their own."""

    # Seconds any one call (publish, a store call, a log call) may wait before it raises
    # BackendUnavailable.
    timeout: Annotated[float, Meta(gt=0, le=60)] = 2.0
    # Bytes; a bigger message, stored value or log entry raises MessageTooLarge.
    max_message_size: Annotated[int, Meta(ge=1, le=64 * MiB)] = MiB
    # Messages each local subscription buffers; when full the oldest is dropped and counted.
    queue_size: Annotated[int, Meta(ge=1, le=1_000_000)] = 1000
    # Entries each event-log stream keeps, and seconds it keeps them.
    log_maxlen: Annotated[int, Meta(ge=1, le=10_000_000)] = 1000
    log_max_age: Annotated[float, Meta(gt=0, le=30 * 86400)] = 3600.0


def split_url(url: str) -> SplitResult:
    """``urlsplit`` with the scheme checked; InvalidBackendURL names the redacted URL."""
    if not isinstance(url, str):
        raise InvalidBackendURL(f"a backend URL must be a string, got {type(url).__name__}")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - urlsplit parses the port lazily; a bad one raises here
    except ValueError as exc:
        raise InvalidBackendURL(f"{redact_url(url)}: not a valid URL: {exc}") from None
    if not parts.scheme or "://" not in url:
        raise InvalidBackendURL(f"{redact_url(url)!r} is not a backend URL: expected "
                                "scheme://..., e.g. 'memory://' or 'redis://127.0.0.1:6379/0'")
    if parts.fragment:
        raise InvalidBackendURL(f"{redact_url(url)}: a backend URL takes no #fragment")
    return parts


def parse_options(url: str, query: str, options_type: type[S]) -> S:
    """Build ``options_type`` from the query string of ``url``, refusing anything unknown."""
    shown = redact_url(url)
    known = sorted(options_type.__struct_fields__)
    try:
        pairs = parse_qsl(query, keep_blank_values=True, strict_parsing=bool(query))
    except ValueError as exc:
        raise InvalidBackendURL(f"{shown}: malformed query string: {exc}") from None
    raw: dict[str, Any] = {}
    for name, value in pairs:
        if name not in options_type.__struct_fields__:
            raise InvalidBackendURL(f"{shown}: unknown option {name!r}; the options of this "
                                    f"backend are {', '.join(known)}")
        if name in raw:
            raise InvalidBackendURL(f"{shown}: option {name!r} is given twice")
        raw[name] = value
    try:
        # Lax mode is what turns the query's strings into the fields' ints, floats and bools;
        # anything that does not parse as the field's type is still refused.
        return msgspec.convert(raw, options_type, strict=False)
    except msgspec.ValidationError as exc:
        message = str(exc)
        match = re.search(r" - at `\$\.(\w+)`$", message)
        if match:
            name = match.group(1)
            # msgspec describes the string it was given by its type; show the value instead.
            detail = re.sub(r", got `\w+`$", "", message[:match.start()])
            if detail.startswith("Invalid enum value"):
                detail = f"expected one of {_choices(options_type, name)}"
            raise InvalidBackendURL(f"{shown}: option {name!r}: {detail}, got "
                                    f"{raw.get(name)!r}") from None
        raise InvalidBackendURL(f"{shown}: {message}") from None


def _choices(options_type: type, name: str) -> str:
    hint = typing.get_type_hints(options_type).get(name)
    return ", ".join(repr(v) for v in typing.get_args(hint)) or "the allowed values"


def redact_url(url: str) -> str:
    """``url`` with the password replaced by ``***``: the only form to log or display."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        # Not parseable: hide everything between '//' and '@', where a password would be.
        return re.sub(r"//[^/@]*@", "//***@", url)
    if not password:
        return url
    userinfo, _, host = parts.netloc.rpartition("@")
    user = userinfo.partition(":")[0]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))


def redact_text(text: str, url: str) -> str:
    """``text`` (an error message) with the password of ``url``, if any, blanked out."""
    try:
        password = urlsplit(url).password
    except ValueError:
        password = None
    if password:
        # Clients see the password percent-decoded; either spelling may end up in a message.
        for spelling in {password, unquote(password)}:
            text = text.replace(spelling, "***")
    return text
