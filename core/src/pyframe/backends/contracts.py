"""The shared-backend contracts plugins program against: broker, key-value store, event log.

Every implementation (the embedded one, ``pyframe-redis``) satisfies these Protocols and raises
only the exceptions defined here; docs/backends.md is the reference that goes with them.
"""

from __future__ import annotations

import enum
import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, NamedTuple, Protocol, TypeVar

import msgspec

if TYPE_CHECKING:
    from .local import Subscription

__all__ = [
    "BackendError", "BackendUnavailable", "BackendClosed", "MessageTooLarge", "OperationFailed",
    "InvalidBackendURL", "UnknownBackend", "InvalidLogId", "SubscriptionClosed",
    "BusState", "StateListener", "Broker", "KeyValueStore", "EventLog", "Backend",
    "BackendProvider", "DataView", "AtomicOp", "OpArg", "BackendHealth", "LogEntry", "LogRead",
    "MAX_NAME_LENGTH",
]

# Topics, keys and stream names are short identifiers, never payloads; the bound keeps a flood
# of distinct names from costing more than the key-count caps promise.
MAX_NAME_LENGTH = 1024

T = TypeVar("T")


class BackendError(Exception):
    """Base of every error a backend raises."""


class BackendUnavailable(BackendError):
    """The backend did not answer within the bounded wait (down, unreachable, or too slow)."""


class BackendClosed(BackendError):
    """The backend (or the lease on it) was closed; open a new one through the registry."""


class MessageTooLarge(BackendError, ValueError):
    """A payload is over the backend's ``max_message_size``; nothing was sent or stored."""


class OperationFailed(BackendError):
    """The server refused the operation: a wrong type, a script error, a non-integer to incr."""


class InvalidBackendURL(BackendError, ValueError):
    """A backend URL is malformed or has an unknown or invalid option (the message names it)."""


class UnknownBackend(InvalidBackendURL):
    """No installed distribution serves the URL's scheme."""


class InvalidLogId(BackendError, ValueError):
    """A string given as an event-log id is not one the log hands out."""


class SubscriptionClosed(BackendError):
    """``Subscription.get`` on a closed subscription."""


class BusState(enum.Enum):
    """Whether the broker reaches other processes. Local delivery works in both states."""

    UP = "up"
    DOWN = "down"


StateListener = Callable[[BusState], None]


class Broker(Protocol):
    """Publish bytes to a topic; subscribe to a topic. Delivery is at most once, in order per
    publisher; a process's own subscribers get its messages directly, even while it is down."""

    @property
    def state(self) -> BusState: ...

    async def publish(self, topic: str, data: bytes) -> None:
        """Deliver to this process's subscribers, then to other processes'.

        Raises MessageTooLarge (before any delivery), BackendUnavailable after the bounded
        wait (local subscribers have the message by then), BackendClosed."""

    def subscribe(self, topic: str) -> Subscription:
        """A new local subscription, receiving from now on. Raises BackendClosed."""

    def add_state_listener(self, listener: StateListener) -> None:
        """Call ``listener(state)`` on every change of ``state``, in the event loop."""

    def remove_state_listener(self, listener: StateListener) -> None: ...


class KeyValueStore(Protocol):
    """Bytes under string keys, with optional TTLs in seconds, and one atomic op per call."""

    async def get(self, key: str) -> bytes | None: ...

    async def set(self, key: str, value: bytes, ttl: float | None = None) -> None: ...

    async def delete(self, key: str) -> bool:
        """True if the key existed."""

    async def incr(self, key: str, amount: int = 1, ttl: float | None = None) -> int:
        """Add ``amount`` (may be negative) and return the new value; a missing key counts as
        0. ``ttl`` is applied only when this call creates the key. Raises OperationFailed if
        the value is not a 64-bit integer."""

    async def run(self, op: AtomicOp[T], keys: Sequence[str] = (),
                  args: Sequence[OpArg] = ()) -> T:
        """Run ``op`` atomically on ``keys`` (every key the op touches) with ``args``."""


class EventLog(Protocol):
    """Bounded append-only streams of bytes with ordered string ids, for replay."""

    async def append(self, stream: str, data: bytes) -> str:
        """Append and return the new entry's id, greater than every earlier id of the stream."""

    async def read_after(self, stream: str, after: str | None, limit: int = 100) -> LogRead:
        """Entries with an id greater than ``after`` (all retained entries for None), oldest
        first, at most ``limit``; ``missed`` says entries after ``after`` were trimmed."""


class DataView(Protocol):
    """What an AtomicOp's Python half may touch: the memory store's data, with Redis's
    semantics for the same commands (TTLs in milliseconds, values and fields as bytes)."""

    def time(self) -> tuple[int, int]:
        """(seconds, microseconds) of the store's clock, as ``redis.call('TIME')``."""

    def get(self, key: str) -> bytes | None: ...

    def set(self, key: str, value: bytes | str | int, px: int | None = None) -> None: ...

    def delete(self, key: str) -> int: ...

    def exists(self, key: str) -> int: ...

    def incrby(self, key: str, amount: int) -> int: ...

    def pexpire(self, key: str, ms: int) -> int: ...

    def pttl(self, key: str) -> int:
        """-2 if the key is missing, -1 if it has no expiry, else the milliseconds left."""

    def hget(self, key: str, field: bytes | str) -> bytes | None: ...

    def hset(self, key: str, field: bytes | str, value: bytes | str | int) -> int: ...

    def hdel(self, key: str, field: bytes | str) -> int: ...

    def hgetall(self, key: str) -> dict[bytes, bytes]: ...

    def hincrby(self, key: str, field: bytes | str, amount: int) -> int: ...


OpArg = bytes | str | int | float


@dataclass(frozen=True, eq=False)
class AtomicOp(Generic[T]):
    """One atomic operation, written twice: ``lua`` for Redis (``KEYS``, ``ARGV``), ``python``
    for the memory store, called as ``python(data, keys, args)`` inside one event-loop step.

    Both halves receive the args as bytes and must return the same shape: an int, bytes, None,
    or a list of those (Redis turns a Lua number into an integer, so return fractions as
    strings, and ``false`` becomes None). Raise OperationFailed in Python where Lua errors.
    """

    name: str
    lua: str
    python: Callable[[DataView, Sequence[str], Sequence[bytes]], Any]
    sha: str = field(init=False, repr=False)

    def __post_init__(self) -> None:
        # Redis names a loaded script by the SHA1 of its text: EVALSHA needs nothing else.
        object.__setattr__(self, "sha", hashlib.sha1(self.lua.encode()).hexdigest())


class LogEntry(NamedTuple):
    id: str
    data: bytes


class LogRead(NamedTuple):
    entries: list[LogEntry]
    # True when the log dropped (trimmed by length or age, or expired) an entry newer than
    # ``after``: the reader must resync instead of trusting the replay to be complete.
    missed: bool


class BackendHealth(msgspec.Struct, frozen=True, kw_only=True):
    """A snapshot for ``pyframe plugins --json`` and the metrics plugin."""

    url: str  # the password, if any, is redacted
    scheme: str
    up: bool
    reconnects: int = 0
    last_error: str | None = None
    down_since: float | None = None  # time.time() when it went down, while it is down
    topics: int = 0  # topics this process is subscribed to
    subscriptions: int = 0  # local subscriptions over all topics
    dropped: int = 0  # messages dropped from full subscription queues
    users: int = 0  # leases the registry holds on this backend
    counters: dict[str, int] = {}  # implementation-specific counts (keys, evicted, ...)


class Backend(Protocol):
    """A broker, a store and a log on one connection pool, shared by every plugin naming the
    same URL. Built without I/O by a provider; opened and closed by the registry."""

    @property
    def url(self) -> str:
        """The URL for display: the password, if any, redacted."""

    @property
    def scheme(self) -> str: ...

    @property
    def broker(self) -> Broker: ...

    @property
    def store(self) -> KeyValueStore: ...

    @property
    def log(self) -> EventLog: ...

    async def open(self) -> None:
        """Start background tasks and try to connect, within the backend's timeout. An
        unreachable server is not an error here: the backend starts down and keeps trying."""

    async def close(self) -> None:
        """Stop background tasks, end every subscription, release connections. Idempotent."""

    def health(self) -> BackendHealth: ...


class BackendProvider(Protocol):
    """What an entry point in the group ``pyframe.backends`` loads (a module or an object);
    the entry point's name is the URL scheme it serves."""

    def check_url(self, url: str) -> None:
        """Validate ``url`` and its options without I/O; raise InvalidBackendURL."""

    def create(self, url: str) -> Backend:
        """A new, unopened backend for ``url`` (already checked). No I/O."""
