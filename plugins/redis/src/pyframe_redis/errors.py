"""redis-py's exceptions turned into the contract's, every call bounded by the backend timeout."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from redis import exceptions as redis_errors

from pyframe.backends import (BackendError, BackendUnavailable, HealthTracker,
                              OperationFailed)

__all__ = ["guarded", "UNAVAILABLE"]

# Errors that mean "not reachable now": the caller may retry later.
UNAVAILABLE = (redis_errors.ConnectionError, redis_errors.TimeoutError,
               redis_errors.ReadOnlyError, OSError, TimeoutError)


@asynccontextmanager
async def guarded(what: str, timeout: float, tracker: HealthTracker) -> AsyncIterator[None]:
    """Run the body within ``timeout`` seconds; raise BackendUnavailable, OperationFailed or
    BackendError instead of redis-py's exceptions, remembering the error in ``tracker``.

    While the backend is down (the pub/sub connection, which reconnects on its own, is the
    probe) a call fails at once: a black-holed server must not make every caller wait.
    """
    if not tracker.up:
        raise BackendUnavailable(f"{what}: the backend is down ({tracker.last_error})")
    try:
        async with asyncio.timeout(timeout):
            yield
    except UNAVAILABLE as exc:
        if isinstance(exc, TimeoutError) and not str(exc):
            message = tracker.record_error(f"no answer within {timeout} s")
        else:
            message = tracker.record_error(exc)
        raise BackendUnavailable(f"{what}: {message}") from exc
    except redis_errors.ResponseError as exc:
        raise OperationFailed(f"{what}: {exc}") from exc
    except redis_errors.RedisError as exc:
        raise BackendError(f"{what}: {tracker.record_error(exc)}") from exc
