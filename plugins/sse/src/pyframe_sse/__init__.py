"""Server-Sent Events for pyframe, with replay, keep-alive and fan-out."""

from .encoder import (EVENT_KEYS, InvalidEventError, PreparedEvent, encode_comment, encode_event,
                      encode_id, prepare_event)
from .ids import lost_to_trimming, stream_id_key
from .last_event_id import MAX_LAST_EVENT_ID_LENGTH, last_event_id_from_headers, parse_last_event_id
from .parser import EventStreamParser, EventTooLargeError, ReceivedEvent, parse
from .replay import MISSED_EVENTS, Entry, MissedEvents, ReplayMerge, ReplayOverflowError

__all__ = [
    "EVENT_KEYS",
    "MAX_LAST_EVENT_ID_LENGTH",
    "MISSED_EVENTS",
    "Entry",
    "EventStreamParser",
    "EventTooLargeError",
    "InvalidEventError",
    "MissedEvents",
    "PreparedEvent",
    "ReceivedEvent",
    "ReplayMerge",
    "ReplayOverflowError",
    "encode_comment",
    "encode_event",
    "encode_id",
    "last_event_id_from_headers",
    "lost_to_trimming",
    "parse",
    "parse_last_event_id",
    "prepare_event",
    "stream_id_key",
]
