"""pyframe.logging: the processors render what structlog's would, lines leave in batches, and
no line is lost at exit, after a crash, or in a process that goes quiet."""

from __future__ import annotations

import contextvars
import datetime
import io
import json
import os
import subprocess
import sys
import textwrap
import time

import pytest
import structlog

import pyframe.logging as pyframe_logging
from pyframe.logging import (
    LineBatcher,
    Stamp,
    configure_logging,
    flush_logs,
    get_logger,
    per_request_line,
    render_console,
    render_json,
)


class Sink(io.RawIOBase):
    """A binary file that records each write."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self.writes.append(bytes(data))
        return len(data)

    def lines(self) -> list[bytes]:
        return b"".join(self.writes).splitlines()


# -- Processors ---------------------------------------------------------------------------

class Thing:
    def __repr__(self) -> str:
        return "<Thing>"


EVENTS = [
    {"event": "request_finished", "level": "info", "timestamp": "2026-12-01T22:17:54.195387Z",
     "status": 200, "path": "/plaintext", "remote": "127.0.0.1", "duration_ms": 0.123},
    {"event": "a much longer event name than thirty characters", "level": "warning",
     "note": "two words", "quote": "it's", "eq": "a=b", "empty": "", "none": None,
     "items": ["x", 1], "thing": Thing(), "nested": {"k": "v"}},
    {"event": "plugin_ready", "level": "critical", "logger": "pyframe", "plugin": "cors"},
    {"event": "no_level_or_time", "z": 1, "a": 2},
    {"level": "debug", "timestamp": "t", "only": "fields"},
    {"event": "tab\tand\nnewline", "level": "exception", "value": "tab\tinside"},
]


@pytest.mark.parametrize("event_dict", EVENTS)
def test_console_lines_are_structlogs_console_renderer_lines(event_dict):
    expected = structlog.dev.ConsoleRenderer(colors=False)(None, "info", dict(event_dict))
    assert render_console(None, "info", dict(event_dict)) == expected


def test_console_lines_with_a_traceback_go_to_structlogs_renderer():
    try:
        raise ValueError("boom")
    except ValueError:
        line = render_console(None, "error", {"event": "failed", "level": "error",
                                               "exc_info": True})
    assert line.startswith("[error    ] failed")
    assert "ValueError: boom" in line and "Traceback" in line


def test_stamp_adds_the_level_and_an_iso_utc_timestamp():
    moment = datetime.datetime(2026, 12, 1, 22, 17, 54, 195387, tzinfo=datetime.timezone.utc)
    stamp = Stamp(clock=moment.timestamp)
    event = stamp(None, "info", {"event": "x"})
    assert event == {"event": "x", "level": "info",
                     "timestamp": "2026-12-01T22:17:54.195387Z"}
    # The format structlog's own TimeStamper writes for the same moment.
    ours = datetime.datetime.strptime(event["timestamp"], "%Y-%m-%dT%H:%M:%S.%fZ")
    assert ours.replace(tzinfo=datetime.timezone.utc) == moment
    assert stamp(None, "warn", {})["level"] == "warning"
    assert stamp(None, "exception", {})["level"] == "error"


def test_stamp_formats_each_second_once_and_keeps_whole_seconds_exact():
    now = [1_000_000_000.0]
    stamp = Stamp(clock=lambda: now[0])
    assert stamp(None, "info", {})["timestamp"] == "2001-09-09T01:46:40.000000Z"
    now[0] += 1.5
    assert stamp(None, "info", {})["timestamp"] == "2001-09-09T01:46:41.500000Z"


def test_a_late_rendered_line_carries_the_time_it_was_logged_at():
    stamp = Stamp(clock=lambda: 2_000_000_000.0)
    event = stamp(None, "info", {"event": "x", "_pyframe_logged_at": 1_000_000_000.25})
    assert event["timestamp"] == "2001-09-09T01:46:40.250000Z"
    assert "_pyframe_logged_at" not in event


def test_json_lines_are_bytes_in_key_order_with_unknown_objects_as_str():
    line = render_json(None, "info", {"event": "e", "b": 1, "a": Thing(), "when": 0.5})
    assert isinstance(line, bytes)
    assert line == b'{"event":"e","b":1,"a":"<Thing>","when":0.5}'


def test_json_lines_turn_exc_info_into_structlogs_exception_list():
    try:
        raise KeyError("missing")
    except KeyError:
        line = render_json(None, "error", {"event": "failed", "exc_info": True})
    record = json.loads(line)
    assert "exc_info" not in record
    assert record["exception"][0]["exc_type"] == "KeyError"


def test_json_tracebacks_leave_the_frames_local_variables_out():
    def login(password):
        raise ValueError("bad login")

    try:
        login("hunter2-secret")
    except ValueError:
        line = render_json(None, "error", {"event": "failed", "exc_info": True})
    record = json.loads(line)
    assert record["exception"][0]["frames"][-1]["name"] == "login"
    assert b"hunter2-secret" not in line
    assert all("locals" not in frame for frame in record["exception"][0]["frames"])


# -- Batches --------------------------------------------------------------------------------

def test_lines_leave_in_one_write_per_batch_in_order():
    sink = Sink()
    batcher = LineBatcher(sink, interval=60)
    try:
        for i in range(100):
            batcher.add(b"line %d" % i)
        assert sink.writes == []  # nothing yet: the interval is a minute away
        batcher.flush()
        assert len(sink.writes) == 1 and batcher.batches == 1
        assert sink.lines() == [b"line %d" % i for i in range(100)]
        batcher.flush()  # nothing queued: no empty write
        assert len(sink.writes) == 1
    finally:
        batcher.close()


def test_a_large_batch_leaves_in_writes_a_pipe_keeps_whole():
    sink = Sink()
    batcher = LineBatcher(sink, interval=60)
    lines = [b"%05d " % i + b"x" * 90 for i in range(200)] + [b"long " + b"y" * 9000, b"last"]
    try:
        for line in lines:
            batcher.add(line)
        batcher.flush()
    finally:
        batcher.close()
    assert sink.lines() == lines
    assert len(sink.writes) > 1 and all(w.endswith(b"\n") for w in sink.writes)
    # Each write at most PIPE_BUF bytes, but for the one line longer than that, written alone.
    assert [w for w in sink.writes if len(w) > pyframe_logging.ATOMIC_WRITE] == [lines[-2] + b"\n"]


def test_a_full_queue_is_written_by_the_thread_that_logs():
    sink = Sink()
    batcher = LineBatcher(sink, interval=60, max_lines=10)
    try:
        for i in range(25):
            batcher.add(b"%d" % i)
        assert [len(w.splitlines()) for w in sink.writes] == [10, 10]
    finally:
        batcher.close()
    assert sink.lines() == [b"%d" % i for i in range(25)]  # close wrote the last five


def test_a_batch_leaves_within_the_interval_without_a_flush():
    sink = Sink()
    batcher = LineBatcher(sink, interval=0.02)
    try:
        batcher.add(b"first")
        deadline = time.monotonic() + 10
        while not sink.writes and time.monotonic() < deadline:
            time.sleep(0.005)  # polling the writer thread's result, with a deadline
        assert sink.lines() == [b"first"]
        batcher.add(b"second")  # the next batch gets a timer of its own
        deadline = time.monotonic() + 10
        while len(sink.writes) < 2 and time.monotonic() < deadline:
            time.sleep(0.005)
        assert sink.lines() == [b"first", b"second"]
    finally:
        batcher.close()


CALLER = contextvars.ContextVar("caller")


def test_deferred_lines_render_with_their_batch_in_the_callers_context():
    sink = Sink()
    batcher = LineBatcher(sink, interval=60)
    rendered = []

    def render(logged_at, item):
        rendered.append(item)
        return f"{item} by {CALLER.get()} at {logged_at:.0f}".encode()

    def log_as(name, item):
        CALLER.set(name)
        batcher.defer(render, item)

    try:
        batcher.add(b"plain")
        contextvars.copy_context().run(log_as, "alice", "one")
        contextvars.copy_context().run(log_as, "bob", "two")
        assert rendered == []  # nothing rendered before its batch is written
        batcher.flush()
    finally:
        batcher.close()
    now = f"{time.time():.0f}"[:-1]
    lines = sink.lines()
    assert lines[0] == b"plain"
    assert lines[1].startswith(b"one by alice at " + now.encode())
    assert lines[2].startswith(b"two by bob at ")


def test_a_line_that_cannot_be_rendered_does_not_take_its_batch_down():
    sink = Sink()
    batcher = LineBatcher(sink, interval=60)

    def broken(logged_at, item):
        raise RuntimeError("no")

    def dropped(logged_at, item):
        raise structlog.DropEvent

    batcher.add(b"before")
    batcher.defer(broken, None)
    batcher.defer(dropped, None)
    batcher.add(b"after")
    batcher.close()
    lines = sink.lines()
    assert lines[0] == b"before" and lines[-1] == b"after" and len(lines) == 3
    assert json.loads(lines[1])["event"] == "log_line_unrendered"


# -- configure_logging, end to end --------------------------------------------------------

def read_records(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.startswith("{")]


def test_info_lines_wait_for_their_batch_and_a_warning_brings_them_out(tmp_path,
                                                                      isolated_logging):
    isolated_logging.setattr(pyframe_logging, "FLUSH_INTERVAL", 60.0)
    path = tmp_path / "app.log"
    with path.open("w") as out:
        configure_logging("info", "json", stream=out)
        log = get_logger("pyframe", plugin="test")
        log.info("first", n=1)
        log.debug("hidden")  # below the level
        assert path.read_text() == ""
        log.warning("second", n=2)
        records = read_records(path)
    assert [(r["event"], r["level"], r["plugin"]) for r in records] == [
        ("first", "info", "test"), ("second", "warning", "test")]


def test_the_line_per_request_is_the_line_log_info_would_write(tmp_path, isolated_logging):
    isolated_logging.setattr(pyframe_logging, "FLUSH_INTERVAL", 60.0)
    path = tmp_path / "app.log"
    fields_of = lambda item: {"request_id": item, "status": 200, "duration_ms": 0.5}  # noqa: E731
    with path.open("w") as out:
        configure_logging("info", "json", stream=out)
        log = get_logger("pyframe")
        per_request = per_request_line(log, "request_finished", fields_of)
        structlog.contextvars.bind_contextvars(worker=3)
        try:
            per_request("r-1")
            log.info("request_finished", **fields_of("r-2"))
        finally:
            structlog.contextvars.clear_contextvars()
        assert path.read_text() == ""  # both wait for the batch
        flush_logs()
        deferred, direct = read_records(path)
    assert list(deferred) == list(direct) == ["request_id", "status", "duration_ms", "event",
                                              "worker", "level", "timestamp"]
    assert deferred["request_id"] == "r-1" and direct["request_id"] == "r-2"
    del deferred["request_id"], direct["request_id"]
    assert deferred.pop("timestamp") <= direct.pop("timestamp")
    assert deferred == direct == {"status": 200, "duration_ms": 0.5, "event": "request_finished",
                                  "worker": 3, "level": "info"}


def test_the_line_per_request_follows_other_structlog_setups_at_once():
    fields_of = lambda item: {"request_id": item}  # noqa: E731
    with structlog.testing.capture_logs() as logs:
        per_request_line(get_logger("pyframe"), "request_finished", fields_of)("r-9")
    assert logs == [{"event": "request_finished", "request_id": "r-9", "log_level": "info"}]


def test_a_logger_made_before_a_configuration_writes_through_the_later_one():
    # As a module-level logger is made at import: used under one setup, then under another.
    log = get_logger("pyframe.somewhere", plugin="x")
    line = per_request_line(log, "request_finished", lambda item: {"n": item})
    with structlog.testing.capture_logs() as first:
        log.info("one")
        line(1)
    with structlog.testing.capture_logs() as second:
        log.bind(more=2).warning("two")
        line(2)
    assert first == [{"plugin": "x", "event": "one", "log_level": "info"},
                     {"plugin": "x", "n": 1, "event": "request_finished", "log_level": "info"}]
    assert second == [{"plugin": "x", "more": 2, "event": "two", "log_level": "warning"},
                      {"plugin": "x", "n": 2, "event": "request_finished",
                       "log_level": "info"}]


def test_configure_logging_again_moves_existing_loggers_to_the_new_stream(isolated_logging):
    log = get_logger("pyframe")
    first, second = io.StringIO(), io.StringIO()
    configure_logging("info", "console", stream=first)
    log.info("to_first")
    configure_logging("warning", "json", stream=second)
    log.info("dropped_below_warning")
    log.warning("to_second")
    assert "to_first" in first.getvalue() and "to_second" not in first.getvalue()
    assert [json.loads(x)["event"] for x in second.getvalue().splitlines()] == ["to_second"]


def test_a_stream_without_a_file_gets_each_line_as_it_is_logged(isolated_logging):
    stream = io.StringIO()
    configure_logging("info", "console", stream=stream)
    log = get_logger("pyframe")
    log.info("now", n=1)
    per_request_line(log, "per_request", lambda item: {"item": item})(7)
    lines = stream.getvalue().splitlines()
    assert "now" in lines[0] and "n=1" in lines[0] and "[info     ]" in lines[0]
    assert "per_request" in lines[1] and "item=7" in lines[1]


SCRIPT = textwrap.dedent("""
    import sys

    from pyframe.logging import configure_logging, get_logger, per_request_line

    configure_logging("info", "json")  # stderr: a pipe here, so lines are batched
    log = get_logger("pyframe")
    line = per_request_line(log, "request_finished", lambda i: {"n": i})
    for i in range(600):
        line(i)
    log.info("last_info")
    if sys.argv[1] == "crash":
        raise RuntimeError("the app's code failed")
    if sys.argv[1] == "quiet":
        log.info("waiting")
        sys.stdin.read()  # until the test closes stdin
""")


@pytest.mark.parametrize("how", ["exit", "crash"])
def test_no_line_is_lost_at_exit_or_when_the_apps_code_crashes(how):
    done = subprocess.run([sys.executable, "-c", SCRIPT, how], capture_output=True,
                          text=True, timeout=60, check=False)
    assert done.returncode == (1 if how == "crash" else 0), done.stderr
    records = [json.loads(line) for line in done.stderr.splitlines() if line.startswith("{")]
    assert [r["n"] for r in records if r["event"] == "request_finished"] == list(range(600))
    assert records[-1]["event"] == "last_info"
    if how == "crash":
        assert "RuntimeError: the app's code failed" in done.stderr


def test_a_process_that_goes_quiet_writes_its_lines_within_the_interval():
    proc = subprocess.Popen([sys.executable, "-c", SCRIPT, "quiet"], stdin=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        seen = []
        while not seen or '"waiting"' not in seen[-1]:
            # readline blocks until the child writes; the test's timeout bounds it.
            line = proc.stderr.readline()
            assert line, "the child exited without writing"
            seen.append(line)
        assert proc.poll() is None  # still running: the batch left on its own timer
        assert sum('"request_finished"' in line for line in seen) == 600
    finally:
        proc.stdin.close()
        proc.wait(30)
        proc.stderr.close()


FORK_SCRIPT = textwrap.dedent("""
    import os, sys
    import pyframe.logging as pl
    from pyframe.logging import configure_logging, get_logger

    pl.FLUSH_INTERVAL = 60.0
    configure_logging("info", "json")
    log = get_logger("pyframe")
    log.info("parent_before_fork")
    pid = os.fork()
    if pid == 0:
        log.info("child")
        pl.flush_logs()
        os._exit(0)
    os.waitpid(pid, 0)
""")


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_writes_its_own_lines_and_not_its_parents():
    done = subprocess.run([sys.executable, "-c", FORK_SCRIPT], capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    events = [json.loads(line)["event"] for line in done.stderr.splitlines()
              if line.startswith("{")]
    assert sorted(events) == ["child", "parent_before_fork"]
