"""One backend's visible state: up or down, reconnects, the last error, and the listeners that
are told when the bus is lost and regained."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from .contracts import BusState, StateListener
from .options import redact_text

__all__ = ["HealthTracker", "describe_error"]

# While a backend stays down, one failed-attempt line per this many seconds: visible, not a
# flood (the health counters count every attempt).
REPEAT_LOG_EVERY = 10.0


def describe_error(error: BaseException | str, url: str) -> str:
    text = error if isinstance(error, str) else f"{type(error).__name__}: {error}"
    return redact_text(text, url)


class HealthTracker:
    """Counts and logs state changes; calls each listener with the new BusState, in order,
    synchronously in the event loop. A listener that raises is logged and kept."""

    def __init__(self, url: str, log: Any, *, up: bool = False,
                 clock: Callable[[], float] = time.time) -> None:
        self._url = url
        self._log = log
        self._clock = clock
        self.up = up
        self.reconnects = 0
        self.failed_attempts = 0  # connection attempts that failed since the last success
        self.last_error: str | None = None
        self.down_since: float | None = None if up else clock()
        self._ever_up = up
        self._last_logged = 0.0
        self._listeners: list[StateListener] = []

    @property
    def state(self) -> BusState:
        return BusState.UP if self.up else BusState.DOWN

    def add_listener(self, listener: StateListener) -> None:
        self._listeners.append(listener)

    def remove_listener(self, listener: StateListener) -> None:
        try:
            self._listeners.remove(listener)
        except ValueError:
            pass

    def record_error(self, error: BaseException | str) -> str:
        """Remember ``error`` as the last one (a failed call) without changing the state."""
        self.last_error = describe_error(error, self._url)
        return self.last_error

    def mark_up(self) -> None:
        if self.up:
            return
        now = self._clock()
        down_for = round(now - self.down_since, 3) if self.down_since is not None else None
        self.up, self.down_since, self.failed_attempts = True, None, 0
        if self._ever_up:
            self.reconnects += 1
            self._log.info("backend_reconnected", reconnects=self.reconnects,
                           down_seconds=down_for)
        else:
            self._log.info("backend_connected")
        self._ever_up = True
        self._notify(BusState.UP)

    def mark_down(self, error: BaseException | str) -> None:
        """A connection was lost or an attempt to connect failed."""
        message = self.record_error(error)
        now = self._clock()
        if self.up:
            self.up, self.down_since, self.failed_attempts = False, now, 0
            self._last_logged = now
            self._log.warning("backend_down", error=message)
            self._notify(BusState.DOWN)
            return
        self.failed_attempts += 1
        if self.failed_attempts == 1 or now - self._last_logged >= REPEAT_LOG_EVERY:
            self._last_logged = now
            self._log.warning("backend_connect_failed", error=message,
                              failed_attempts=self.failed_attempts,
                              down_seconds=round(now - (self.down_since or now), 3))

    def _notify(self, state: BusState) -> None:
        for listener in list(self._listeners):
            try:
                listener(state)
            except Exception:
                self._log.exception("backend_state_listener_failed", state=state.value)
