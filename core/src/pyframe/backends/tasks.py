"""Owned background loops for backends: capped exponential backoff and a supervisor that logs
a crash and restarts the loop, so no subscriber loop or sweeper ever dies silently."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from typing import Any

__all__ = ["Backoff", "SupervisedTask"]


class Backoff:
    """Delays of ``first * factor**n`` seconds, capped at ``cap``, each shortened by a random
    share of up to ``jitter`` so that many processes do not retry in step."""

    def __init__(self, first: float, cap: float, *, factor: float = 2.0, jitter: float = 0.5,
                 rng: Callable[[], float] = random.random) -> None:
        if not 0 < first <= cap:
            raise ValueError(f"backoff needs 0 < first <= cap, got first={first}, cap={cap}")
        self.first, self.cap, self.factor, self.jitter = first, cap, factor, jitter
        self._rng = rng
        self._attempt = 0

    def next(self) -> float:
        # The exponent stops growing once the cap is reached, so it never overflows.
        delay = self.first * self.factor ** self._attempt
        if delay < self.cap:
            self._attempt += 1
        else:
            delay = self.cap
        return delay * (1 - self.jitter * self._rng())

    def reset(self) -> None:
        self._attempt = 0


class SupervisedTask:
    """Runs ``run()`` in a task; if it raises, logs ``backend_task_crashed`` with the traceback
    and runs it again after a backoff. ``run`` returning means the loop is finished."""

    def __init__(self, name: str, run: Callable[[], Awaitable[None]], log: Any,
                 backoff: Backoff) -> None:
        self.name = name
        self.restarts = 0
        self._run = run
        self._log = log
        self._backoff = backoff
        self._task: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._supervise(),
                                                                name=f"pyframe-{self.name}")

    async def _supervise(self) -> None:
        while True:
            began = time.monotonic()
            try:
                await self._run()
                return
            except asyncio.CancelledError:
                raise
            except Exception:
                self.restarts += 1
                self._log.exception("backend_task_crashed", task=self.name,
                                    restarts=self.restarts)
            if time.monotonic() - began > self._backoff.cap:
                self._backoff.reset()  # it ran fine for a while: not a crash loop
            # A deliberate pause before the restart, not a wait for an event.
            await asyncio.sleep(self._backoff.next())

    async def stop(self, timeout: float) -> None:
        """Cancel the loop and wait for it, at most ``timeout`` seconds."""
        task, self._task = self._task, None
        if task is None or task.done():
            return
        task.cancel()
        done, _ = await asyncio.wait({task}, timeout=timeout)
        if not done:
            self._log.error("backend_task_stuck", task=self.name, timeout=timeout)
        elif not task.cancelled() and task.exception() is not None:
            self._log.error("backend_task_failed_on_stop", task=self.name,
                            error=repr(task.exception()))
