"""Server-Sent Events for pyframe, with replay, keep-alive and fan-out."""

from .config import SSEConfig
from .encoder import (EVENT_KEYS, InvalidEventError, PreparedEvent, encode_comment, encode_event,
                      encode_id, prepare_event)
from .ids import is_log_id, lost_to_trimming, stream_id_key
from .last_event_id import MAX_LAST_EVENT_ID_LENGTH, last_event_id_from_headers, parse_last_event_id
from .manager import SSEManager
from .middleware import SSEMiddleware
from .parser import EventStreamParser, EventTooLargeError, ReceivedEvent, parse
from .plugin import SSEPlugin
from .replay import MISSED_EVENTS, Entry, MissedEvents, ReplayMerge, ReplayOverflowError
from .subscription import SlowSubscriberError, Subscription

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
    "SSEConfig",
    "SSEManager",
    "SSEMiddleware",
    "SSEPlugin",
    "SlowSubscriberError",
    "Subscription",
    "encode_comment",
    "encode_event",
    "encode_id",
    "is_log_id",
    "last_event_id_from_headers",
    "lost_to_trimming",
    "parse",
    "parse_last_event_id",
    "prepare_event",
    "stream_id_key",
]
