"""Shared backends: the contracts plugins program against (broker, key-value store, event log),
the embedded ``memory://`` implementation, and the registry that hands them out by URL.

Only the standard library, msgspec, structlog, importlib_metadata and ``pyframe.logging`` are
imported here, so the rest of the core can move around it. Reference: docs/backends.md.
"""

from .checks import check_name, check_payload, checked_keys, encode_args, lua_reply, ttl_ms
from .contracts import (MAX_NAME_LENGTH, AtomicOp, Backend, BackendClosed, BackendError,
                        BackendHealth, BackendProvider, BackendUnavailable, Broker, BusState,
                        DataView, EventLog, InvalidBackendURL, InvalidLogId, KeyValueStore,
                        LogEntry, LogRead, MessageTooLarge, OpArg, OperationFailed,
                        StateListener, SubscriptionClosed, UnknownBackend)
from .health import HealthTracker
from .local import LocalFanout, Subscription
from .logids import MAX_READ, check_limit, format_log_id, parse_log_id
from .memory import MemoryBackend, MemoryOptions
from .ops import INCR
from .options import BackendOptions, parse_options, redact_url, split_url
from .registry import (DEFAULT_URL, ENTRY_POINT_GROUP, BackendLease, BackendRegistry,
                       installed_schemes, validate_url)
from .tasks import Backoff, SupervisedTask

__all__ = [
    # what plugins use
    "BackendRegistry", "BackendLease", "validate_url", "installed_schemes", "DEFAULT_URL",
    "ENTRY_POINT_GROUP", "Backend", "Broker", "Subscription", "KeyValueStore", "EventLog",
    "AtomicOp", "DataView", "OpArg", "LogEntry", "LogRead", "BusState", "StateListener",
    "BackendHealth", "MAX_NAME_LENGTH", "MAX_READ",
    "BackendError", "BackendUnavailable", "BackendClosed", "MessageTooLarge", "OperationFailed",
    "InvalidBackendURL", "UnknownBackend", "InvalidLogId", "SubscriptionClosed",
    "MemoryBackend", "MemoryOptions",
    # what backend implementations use
    "BackendProvider", "BackendOptions", "parse_options", "split_url", "redact_url",
    "LocalFanout", "HealthTracker", "Backoff", "SupervisedTask", "check_name", "checked_keys", "check_payload",
    "encode_args", "lua_reply", "ttl_ms", "format_log_id", "parse_log_id", "check_limit", "INCR",
]
