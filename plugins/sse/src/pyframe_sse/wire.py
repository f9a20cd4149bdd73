"""How an event travels through the shared backend: its fields as JSON in the channel's log,
and the new entry's id on the broker as a wake-up; plus the names of channels there."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import msgspec

from .encoder import InvalidEventError, PreparedEvent, prepare_event
from .replay import MissedEvents

__all__ = ["MAX_CHANNEL_LENGTH", "check_channel", "check_namespace", "decode_entry",
           "encode_entry", "missed_notice", "prepare_outgoing", "topic_of"]

# Channel names end up in Redis keys and channels next to a prefix and the namespace; the
# backends take names of up to 1024 characters.
MAX_CHANNEL_LENGTH = 512
_NAMESPACE = re.compile(r"[A-Za-z0-9_.\-]{1,64}")
_json = msgspec.json.Encoder()
_decode_fields = msgspec.json.Decoder(dict[str, Any])


def check_namespace(namespace: str) -> str:
    # No ":" in a namespace, so "sse:<namespace>:<channel>" splits one way only.
    if not isinstance(namespace, str) or not _NAMESPACE.fullmatch(namespace):
        raise ValueError(f"an SSEManager namespace is 1 to 64 letters, digits, '_', '.' or "
                         f"'-', got {namespace!r}")
    return namespace


def check_channel(channel: str) -> str:
    if not isinstance(channel, str):
        raise TypeError(f"a channel name is a str, got {type(channel).__name__}")
    if not channel or len(channel) > MAX_CHANNEL_LENGTH:
        raise ValueError(f"a channel name has 1 to {MAX_CHANNEL_LENGTH} characters, "
                         f"got {len(channel)}")
    if not channel.isprintable():
        raise ValueError("a channel name must not contain control characters")
    return channel


def topic_of(namespace: str, channel: str) -> str:
    """The broker topic and the log stream of a channel (one name for both)."""
    return f"sse:{namespace}:{channel}"


def prepare_outgoing(event: Mapping[str, Any]) -> PreparedEvent:
    """Validate an event given to ``send_event``; its id is the log's to assign."""
    prepared = prepare_event(event)
    if prepared.id is not None:
        raise InvalidEventError("'id' is assigned by the channel's event log (it is what "
                                "Last-Event-ID replays from); leave it out")
    return prepared


def encode_entry(event: PreparedEvent) -> bytes:
    """The log entry of a validated event: its fields as one JSON object."""
    return _json.encode(dict(event))


def decode_entry(entry_id: str, data: bytes) -> PreparedEvent:
    """The event a log entry holds, with the entry's id. Raises ValueError for an entry that
    is not one (something else wrote to the stream)."""
    try:
        fields = _decode_fields.decode(data)
    except msgspec.DecodeError as exc:
        raise ValueError(f"log entry {entry_id} is not an event: {exc}") from None
    if "id" in fields:
        raise ValueError(f"log entry {entry_id} carries an id of its own")
    return prepare_event(fields).with_id(entry_id)


def missed_notice(reason: str, last_event_id: str) -> PreparedEvent:
    """The ``missed_events`` event (no id: the client's last event id stays where it is)."""
    return prepare_event(MissedEvents(reason=reason, last_event_id=last_event_id).event())
