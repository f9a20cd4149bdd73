"""The pieces every backend uses for faults: the health tracker with its state listeners,
the capped exponential backoff, and the supervisor of background loops."""

from __future__ import annotations

import asyncio

from structlog.testing import capture_logs

from pyframe.backends import Backoff, BusState, HealthTracker, SupervisedTask
from pyframe.logging import get_logger

from .support import FakeClock, eventually


def test_state_changes_are_counted_logged_and_told(clock: FakeClock):
    seen: list[BusState] = []

    def broken_listener(state: BusState) -> None:
        raise RuntimeError("a plugin's bug")

    with capture_logs() as logs:
        tracker = HealthTracker("redis://:pw@h/0", get_logger("test"), clock=clock)
        tracker.add_listener(broken_listener)
        tracker.add_listener(seen.append)
        assert tracker.state is BusState.DOWN and not tracker.up
        tracker.mark_down(ConnectionError("refused, password pw"))  # a first attempt fails
        clock.advance(5)
        tracker.mark_down(ConnectionError("refused"))  # within 10 s: counted, not logged
        clock.advance(6)
        tracker.mark_down(ConnectionError("refused"))
        assert tracker.failed_attempts == 3
        tracker.mark_up()
        assert tracker.reconnects == 0  # the first connection is not a reconnect
        clock.advance(1)
        tracker.mark_down(OSError("reset"))
        assert tracker.down_since == clock.now
        clock.advance(2.5)
        tracker.mark_up()
        tracker.mark_up()  # already up: nothing happens
    assert seen == [BusState.UP, BusState.DOWN, BusState.UP]
    assert tracker.reconnects == 1 and tracker.down_since is None
    assert tracker.last_error == "OSError: reset"
    events = [(e["event"], e.get("failed_attempts")) for e in logs
              if e["event"] != "backend_state_listener_failed"]
    assert events == [("backend_connect_failed", 1), ("backend_connect_failed", 3),
                      ("backend_connected", None), ("backend_down", None),
                      ("backend_reconnected", None)]
    assert [e["down_seconds"] for e in logs if e["event"] == "backend_reconnected"] == [2.5]
    assert sum(e["event"] == "backend_state_listener_failed" for e in logs) == 3
    assert "pw" not in repr(logs).replace("password ***", "")


def test_listeners_can_be_removed(clock: FakeClock):
    tracker = HealthTracker("memory://", get_logger("test"), up=True, clock=clock)
    seen: list[BusState] = []
    tracker.add_listener(seen.append)
    tracker.remove_listener(seen.append)
    tracker.remove_listener(seen.append)
    tracker.mark_down("gone")
    assert seen == [] and tracker.last_error == "gone"


def test_backoff_doubles_up_to_the_cap_with_jitter():
    plain = Backoff(0.1, 1.0, rng=lambda: 0.0)
    assert [round(plain.next(), 3) for _ in range(7)] == [0.1, 0.2, 0.4, 0.8, 1.0, 1.0, 1.0]
    plain.reset()
    assert plain.next() == 0.1
    jittered = Backoff(0.1, 1.0, rng=lambda: 1.0)  # the most jitter: half the delay
    assert jittered.next() == 0.05
    many = Backoff(0.01, 0.02)
    assert all(0.005 <= many.next() <= 0.02 for _ in range(1000))


async def test_a_supervised_loop_restarts_after_a_crash_and_stops_on_request():
    runs = {"n": 0}
    third_run = asyncio.Event()

    async def loop() -> None:
        runs["n"] += 1
        if runs["n"] < 3:
            raise ValueError(f"crash {runs['n']}")
        third_run.set()
        await asyncio.Event().wait()  # runs until cancelled

    with capture_logs() as logs:
        task = SupervisedTask("test-loop", loop, get_logger("test"), Backoff(0.001, 0.01))
        task.start()
        task.start()  # starting twice is one task
        await asyncio.wait_for(third_run.wait(), 5)
        assert task.running and task.restarts == 2
        await task.stop(timeout=2)
    assert not task.running
    crashes = [e for e in logs if e["event"] == "backend_task_crashed"]
    assert [e["restarts"] for e in crashes] == [1, 2]
    assert all(e["task"] == "test-loop" and e["exc_info"] for e in crashes)


async def test_a_loop_that_ignores_cancellation_is_reported_not_waited_for():
    release = asyncio.Event()

    async def stubborn() -> None:
        while not release.is_set():
            try:
                await release.wait()
            except asyncio.CancelledError:
                continue  # a bug: swallowing the cancellation

    with capture_logs() as logs:
        task = SupervisedTask("stubborn", stubborn, get_logger("test"), Backoff(0.01, 0.1))
        task.start()
        await asyncio.sleep(0)
        inner = task._task
        await asyncio.wait_for(task.stop(timeout=0.05), 2)
    assert [e["event"] for e in logs] == ["backend_task_stuck"]
    release.set()
    await eventually(lambda: _done(inner), what="the stubborn task ending")


async def _done(task) -> bool:
    return task.done()
