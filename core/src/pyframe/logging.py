"""Logging through structlog, configured in one place: human-readable or JSON lines.

Built for the pace of the access log (a line per request): structlog's production recipe —
cached loggers, msgspec rendering to bytes — with lines to a file or pipe leaving in batches
(a write per PIPE_BUF bytes of whole lines), at most ``FLUSH_INTERVAL`` seconds after they
were logged, at once with any warning or error, and at exit. A line logged for every request
(``per_request_line``) is even rendered with its batch, where the same code runs for hundreds
of lines in a row.
"""

from __future__ import annotations

import atexit
import contextvars
import io
import logging as stdlib_logging
import os
import select
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, MutableMapping
from typing import Any

import msgspec
import structlog

try:  # structlog's live configuration, read on every call (get_config() builds a copy)
    from structlog._config import _CONFIG as _STRUCTLOG
except ImportError:  # pragma: no cover - a structlog that moved it: the public copy, slower
    class _PublicConfig:
        @property
        def default_processors(self) -> Any:
            return structlog.get_config()["processors"]

        @property
        def default_wrapper_class(self) -> Any:
            return structlog.get_config()["wrapper_class"]

        @property
        def logger_factory(self) -> Any:
            return structlog.get_config()["logger_factory"]

    _STRUCTLOG = _PublicConfig()

__all__ = ["configure_logging", "get_logger", "per_request_line", "flush_logs", "LineBatcher",
           "Stamp", "render_json", "render_console", "FLUSH_INTERVAL", "MAX_BATCH_LINES"]

_LEVELS = {"debug": 10, "info": 20, "warning": 30, "error": 40, "critical": 50}
# At most this long between a line being logged and its write (the promise to anyone tailing
# the log, and all that a crash skipping the exit handlers can lose).
FLUSH_INTERVAL = 0.1
# A batch this long is written at once by the thread that logs: the bound on queued lines.
MAX_BATCH_LINES = 256
# The most bytes one write carries: what a pipe keeps whole among several writers' writes.
ATOMIC_WRITE = getattr(select, "PIPE_BUF", 4096)
EventDict = MutableMapping[str, Any]
# Where a line rendered late carries the time it was logged at, for Stamp.
_LOGGED_AT = "_pyframe_logged_at"


# -- Processors -----------------------------------------------------------------------------

# structlog's add_log_level: the names some methods log under.
_LEVEL_OF = {"warn": "warning", "exception": "error", "err": "error", "failure": "error",
             "fatal": "critical", "msg": "info"}


class Stamp:
    """``level`` and ``timestamp`` in one processor: structlog's ``add_log_level`` and
    ``TimeStamper(fmt="iso", utc=True)`` (ISO 8601 in UTC, always with six digits of
    microseconds), with the date and time of day formatted once a second instead of on every
    line. ``clock`` gives Unix time; a line rendered after it was logged brings its own."""

    __slots__ = ("clock", "_second")

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self._second: tuple[int, str] = (-1, "")  # one tuple: threads never see half of it

    def __call__(self, logger: Any, name: str, event_dict: EventDict) -> EventDict:
        now = event_dict.pop(_LOGGED_AT, None)
        if now is None:
            now = self.clock()
        event_dict["level"] = _LEVEL_OF.get(name, name)
        whole, micros = divmod(round(now * 1_000_000), 1_000_000)  # rounded, as datetime does
        second = self._second
        if second[0] != whole:
            second = self._second = (whole, time.strftime("%Y-%m-%dT%H:%M:%S",
                                                          time.gmtime(whole)))
        event_dict["timestamp"] = f"{second[1]}.{micros:06d}Z"
        return event_dict


_json = msgspec.json.Encoder(enc_hook=str)
# structlog's dict_tracebacks without the frames' local variables: those hold request bodies,
# tokens and passwords, which a production log must never carry.
_dict_tracebacks = structlog.processors.ExceptionRenderer(
    structlog.tracebacks.ExceptionDictTransformer(show_locals=False))


def render_json(logger: Any, name: str, event_dict: EventDict) -> bytes:
    """The final processor of ``format = "json"``: the event as one JSON object, in bytes.

    msgspec in place of structlog's JSONRenderer (whose serializer must return str); keys keep
    their order, anything msgspec cannot encode is written as its ``str()``, and ``exc_info``
    becomes structlog's ``exception`` list (``dict_tracebacks``, without local variables).
    """
    if "exc_info" in event_dict:
        event_dict = _dict_tracebacks(logger, name, event_dict)
    try:
        return _json.encode(event_dict)
    except (TypeError, ValueError, OverflowError):  # a key that is not a str, a huge int
        return _json.encode({str(k): v if isinstance(v, (str, int, float, bool)) or v is None
                             else str(v) for k, v in event_dict.items()})


_console = structlog.dev.ConsoleRenderer(colors=False)
_NEEDS_STRUCTLOG = ("exc_info", "exception", "stack")
_QUOTE = frozenset(" \t=\r\n\"'")


def render_console(logger: Any, name: str, event_dict: EventDict) -> str:
    """The line structlog's ConsoleRenderer (no colours) writes, built directly; an event with
    a traceback or a stack goes to structlog's renderer itself."""
    for key in _NEEDS_STRUCTLOG:
        if key in event_dict:
            return _console(logger, name, event_dict)
    parts = []
    value = event_dict.pop("timestamp", None)
    if value is not None:
        parts.append(str(value))
    value = event_dict.pop("level", None)
    if value is not None:
        parts.append(f"[{value:<9}]")  # padded to the longest level name, "exception"
    value = event_dict.pop("event", None)
    if value is not None:
        parts.append(f"{value!s:<30}")
    for key in ("logger", "logger_name"):
        value = event_dict.pop(key, None)
        if value is not None:
            parts.append(f"[{value}]")
    for key in sorted(event_dict):
        value = event_dict[key]
        if type(value) is not str or not _QUOTE.isdisjoint(value):
            value = repr(value)
        parts.append(f"{key}={value}")
    return " ".join(part for part in parts if part).rstrip(" ")


def _console_bytes(logger: Any, name: str, event_dict: EventDict) -> bytes:
    # The final processor of ``format = "console"``.
    return render_console(logger, name, event_dict).encode("utf-8", "replace")


# -- Where lines go -------------------------------------------------------------------------

Deferred = tuple[contextvars.Context, float, Callable[[float, Any], bytes | None], Any]


class LineBatcher:
    """Queues lines and writes them to a binary file, a batch per write.

    ``add`` (any thread) queues a rendered line, ``defer`` one to render when its batch is
    written: a deque append, no lock. A daemon thread writes the queue ``interval`` seconds
    after the first line of a batch arrived, so no line waits longer, and an idle process does
    not wake up at all. At ``max_lines`` queued, the thread that logs writes them at once: the
    queue's bound, and its policy when full (that thread waits for the write; nothing is
    dropped). ``flush`` writes everything now; it runs at exit and with every warning or error.
    """

    def __init__(self, out: Any, *, interval: float | None = None,
                 max_lines: int | None = None, before_write: Callable[[], None] | None = None
                 ) -> None:
        self.out = out
        self.interval = FLUSH_INTERVAL if interval is None else interval
        self.max_lines = MAX_BATCH_LINES if max_lines is None else max_lines
        self.before_write = before_write
        self.batches = 0  # writes made, for tests and the bench
        self._lines: deque[bytes | Deferred] = deque()
        # One batch on its way at a time, in order; reentrant, for a line logged by a signal
        # handler that interrupts a flush.
        self._write_lock = threading.RLock()
        self._pending = threading.Event()  # set by the first line of a batch
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def add(self, line: bytes) -> None:
        lines = self._lines
        lines.append(line)
        queued = len(lines)
        if queued == 1:
            self._first()
        elif queued >= self.max_lines:
            self.flush()

    def defer(self, render: Callable[[float, Any], bytes | None], item: Any) -> None:
        """Queue the line ``render(logged_at, item)`` gives, rendered with its batch in a copy
        of the caller's context (so structlog's context variables are the caller's)."""
        lines = self._lines
        lines.append((contextvars.copy_context(), time.time(), render, item))
        queued = len(lines)
        if queued == 1:
            self._first()
        elif queued >= self.max_lines:
            self.flush()

    def flush(self) -> None:
        """Write every queued line now (one write), in the order they were queued."""
        with self._write_lock:
            lines = self._lines
            batch: list[bytes] = []
            # Until empty: a line queued meanwhile goes with this batch (its add saw more
            # than one line queued, so it did not ask for a flush of its own).
            while lines:
                line = lines.popleft()
                if type(line) is not bytes:
                    line = _render(line)  # type: ignore[arg-type]
                    if line is None:
                        continue
                batch.append(line)  # type: ignore[arg-type]
            if not batch:
                return
            try:
                if self.before_write is not None:
                    self.before_write()
                out = self.out
                for data in _whole_line_chunks(batch):
                    out.write(data)
                    out.flush()
                self.batches += 1
            except (OSError, ValueError):
                pass  # the stream is gone (closed at exit, a broken pipe): nowhere to log to

    def close(self) -> None:
        """Flush, and stop the thread (a daemon: a forgotten batcher never holds up exit)."""
        self._stopping.set()
        self._pending.set()
        self.flush()

    def after_fork(self) -> None:
        """In a forked child: the parent's queued lines are the parent's to write."""
        self._lines = deque()
        self._write_lock = threading.RLock()
        self._pending, self._thread = threading.Event(), None

    def _first(self) -> None:
        if self._thread is None:
            with self._write_lock:
                if self._thread is None:
                    self._thread = threading.Thread(target=self._run, daemon=True,
                                                    name="pyframe-log-flush")
                    self._thread.start()
        self._pending.set()

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._pending.wait()
            # A batch's first line is in: give the rest the interval to join it. Cleared
            # before the flush empties the queue, so a line queued after that sets it again.
            self._stopping.wait(self.interval)
            self._pending.clear()
            self.flush()


def _whole_line_chunks(lines: list[bytes]) -> list[bytes]:
    """``lines`` joined, each followed by a newline, in writes of at most ``ATOMIC_WRITE``
    bytes that end at a line's end (a longer line is a write of its own). Workers share the
    server's stderr, usually a pipe, and the system keeps a write to a pipe whole only up to
    PIPE_BUF bytes: a larger one can be split by another process's write, in mid-line."""
    data = b"\n".join(lines) + b"\n"
    if len(data) <= ATOMIC_WRITE:
        return [data]
    chunks, current, size = [], [], 0
    for line in lines:
        if current and size + len(line) + 1 > ATOMIC_WRITE:
            chunks.append(b"\n".join(current) + b"\n")
            current, size = [], 0
        current.append(line)
        size += len(line) + 1
    if current:
        chunks.append(b"\n".join(current) + b"\n")
    return chunks


def _render(deferred: Deferred) -> bytes | None:
    context, logged_at, render, item = deferred
    try:
        return context.run(render, logged_at, item)
    except structlog.DropEvent:
        return None
    except Exception as exc:  # a line that cannot be rendered must not take the batch down
        return _json.encode({"event": "log_line_unrendered", "error": repr(exc),
                             "level": "error"})


class _BatchedLogger:
    """structlog's wrapped logger: info and debug lines join the batch (``add`` itself, no
    call of its own in between); warnings and errors flush it with them, since they are what
    a crash must not lose and what someone watching waits for."""

    __slots__ = ("batcher", "msg", "info", "debug")

    def __init__(self, batcher: LineBatcher) -> None:
        self.batcher = batcher
        self.msg = self.info = self.debug = batcher.add

    def warning(self, message: bytes) -> None:
        self.batcher.add(message)
        self.batcher.flush()

    warn = error = err = critical = fatal = exception = failure = warning


class _StreamLogger:
    """For streams without a file underneath (StringIO, a test's capture): a line at a time,
    as text, written when logged, since there is no system call to save."""

    __slots__ = ("stream",)

    def __init__(self, stream: Any) -> None:
        self.stream = stream

    def msg(self, message: bytes) -> None:
        self.stream.write(message.decode("utf-8", "replace") + "\n")
        self.stream.flush()

    info = debug = warning = warn = error = err = critical = fatal = exception = failure = msg


def _binary_of(stream: Any) -> tuple[Any, Callable[[], None] | None] | None:
    """The binary file under ``stream`` and what to flush before writing to it, or None when
    the stream has no real file (batching would only delay the lines)."""
    try:
        stream.fileno()
    except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
        return None
    if isinstance(stream, io.TextIOBase):
        buffer = getattr(stream, "buffer", None)
        if buffer is None:
            return None
        # Text someone else wrote to the same stream (the standard library's logging) goes
        # out first, so lines keep their order.
        return buffer, stream.flush
    return stream, None


# -- The line per request -------------------------------------------------------------------

def per_request_line(logger: Any, event: str,
                     fields: Callable[[Any], dict[str, Any]]) -> Callable[[Any], None]:
    """``log(item)``: ``event`` at info level with the fields ``fields(item)`` gives, through
    ``logger`` (a ``get_logger()``) — the access log's line for each finished request.

    ``fields(item)`` runs at once (nothing of ``item`` is kept); with configure_logging's
    batched output the line itself is rendered when its batch is written, possibly on the
    flush thread, where the same processors run for a batch of lines in a row. It is the line
    ``logger.info(event, **fields(item))`` would have logged, with the time and the context
    variables of the call. With any other structlog setup (a test's, an app's own) that call
    is made at once. The logger is bound at the first line, as structlog binds a cached
    logger on first use.
    """
    emit: Callable[[Any], None] | None = None
    made_for: Any = None  # the processors the emitter was made with

    def log(item: Any) -> None:
        nonlocal emit, made_for
        if made_for is not _STRUCTLOG.default_processors:  # first line, or configured since
            made_for = _STRUCTLOG.default_processors
            emit = _emitter(logger, event, fields)
        emit(item)  # type: ignore[misc]

    return log


def _emitter(logger: Any, event: str,
             fields: Callable[[Any], dict[str, Any]]) -> Callable[[Any], None]:
    bound = logger.current() if isinstance(logger, _Logger) else logger.bind()
    wrapped = getattr(bound, "_logger", None)
    if not isinstance(wrapped, _BatchedLogger) or not getattr(bound, "pyframe_logger", False):
        return lambda item: logger.info(event, **fields(item))
    if not bound.info_enabled:
        return lambda item: None
    # structlog leaves _process_event to custom wrapper classes (this is one): the processors
    # as ``info`` runs them, minus its layers of keyword arguments.
    process = bound._process_event
    defer = wrapped.batcher.defer

    def render(logged_at: float, event_dict: dict[str, Any]) -> bytes | None:
        event_dict[_LOGGED_AT] = logged_at
        return process("info", event, event_dict)[0][0]

    return lambda item: defer(render, fields(item))


def _wrapper_class(min_level: int) -> type:
    """structlog's filtering bound logger for ``min_level``, marked as configure_logging's."""
    base: Any = structlog.make_filtering_bound_logger(min_level)
    return type("PyframeLogger", (base,), {"pyframe_logger": True,
                                           "info_enabled": min_level <= _LEVELS["info"]})


# -- Configuration --------------------------------------------------------------------------

_batcher: list[LineBatcher | None] = [None]


def flush_logs() -> None:
    """Write every queued log line now (also done at exit)."""
    batcher = _batcher[0]
    if batcher is not None:
        batcher.flush()


def _after_fork() -> None:
    batcher = _batcher[0]
    if batcher is not None:
        batcher.after_fork()


atexit.register(flush_logs)
os.register_at_fork(after_in_child=_after_fork)


def configure_logging(level: str = "info", fmt: str = "console", stream: Any = None) -> None:
    """Set up structlog for the whole process. Only the application's entry point calls this."""
    if level not in _LEVELS:
        raise ValueError(f"log level must be one of {sorted(_LEVELS)}, got {level!r}")
    processors: list[Any] = [structlog.contextvars.merge_contextvars, Stamp()]
    if fmt == "json":
        processors.append(render_json)
    elif fmt == "console":
        processors.append(_console_bytes)
    else:
        raise ValueError(f"log format must be 'console' or 'json', got {fmt!r}")
    out = stream or sys.stderr
    previous = _batcher[0]
    if previous is not None:
        previous.close()
        _batcher[0] = None
    binary = _binary_of(out)
    if binary is None:
        logger: Any = _StreamLogger(out)
    else:
        batcher = _batcher[0] = LineBatcher(binary[0], before_write=binary[1])
        logger = _BatchedLogger(batcher)
    structlog.configure(
        processors=processors,
        wrapper_class=_wrapper_class(_LEVELS[level]),
        logger_factory=lambda *args: logger,
        cache_logger_on_first_use=True,
    )
    # aiohttp and asyncio report through the standard library; keep their warnings visible.
    stdlib_logging.basicConfig(level=max(_LEVELS[level], stdlib_logging.WARNING), stream=out)


class _Logger:
    """What ``get_logger`` returns: structlog's bound logger for a name and bound values,
    assembled on first use and kept (as ``cache_logger_on_first_use`` does), and assembled
    again whenever structlog has been configured since: by ``configure_logging`` with another
    level, format or stream, by an app's own ``structlog.configure``, by a test's
    ``structlog.testing.capture_logs``. A module-level logger made at import thus always writes
    through the configuration in force, never through the one it first met. ``bind`` gives
    another such logger; every other attribute is the bound logger's.
    """

    __slots__ = ("_name", "_values", "_bound", "_processors", "_wrapper", "_factory")

    def __init__(self, name: str, values: dict[str, Any]) -> None:
        self._name = name
        self._values = values
        self._bound: Any = None
        self._processors: Any = None
        self._wrapper: Any = None
        self._factory: Any = None

    def current(self) -> Any:
        """structlog's bound logger under the configuration in force now."""
        config = _STRUCTLOG
        if (self._processors is not config.default_processors
                or self._wrapper is not config.default_wrapper_class
                or self._factory is not config.logger_factory):
            self._processors = config.default_processors
            self._wrapper = config.default_wrapper_class
            self._factory = config.logger_factory
            self._bound = structlog.get_logger(self._name, **self._values).bind()
        return self._bound

    def bind(self, **values: Any) -> _Logger:
        return _Logger(self._name, {**self._values, **values})

    def __getattr__(self, attr: str) -> Any:
        return getattr(self.current(), attr)

    def __repr__(self) -> str:
        return f"<pyframe logger {self._name!r} {self._values!r}>"


def get_logger(name: str = "pyframe", **bound: Any) -> Any:
    """A structlog logger named ``name`` with ``bound`` values on every line; safe to make at
    import time (it follows later configuration: see ``_Logger``)."""
    return _Logger(name, bound)
