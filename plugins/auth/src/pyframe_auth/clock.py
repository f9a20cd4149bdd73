"""The clock type the time-dependent parts take, so tests can drive time instead of waiting."""

from __future__ import annotations

import time
from collections.abc import Callable

__all__ = ["Clock", "system_clock"]

# Seconds since the epoch, like time.time(). Wall-clock time, because token claims and cookie
# timestamps are wall-clock values shared between machines.
Clock = Callable[[], float]
system_clock: Clock = time.time
