"""Keeps a remote JWK Set fresh: fetched with aiohttp's client, refreshed on an interval,
retried with capped backoff while it fails, with its state always readable.

The last good keys stay in use while the URL is down; a token with an unknown ``kid`` asks for
an early refresh, at most once per ``min_refresh_interval``.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable, Collection
from typing import Literal
from urllib.parse import urlsplit

import aiohttp
import msgspec
import structlog

from .clock import Clock, system_clock
from .jwks import MAX_JWKS_BYTES, JWKSError, check_jwks_algorithms, parse_jwks
from .keys import KeyRing

__all__ = ["JWKSClient", "JWKSState", "Sleeper"]

log = structlog.get_logger("pyframe.auth", plugin="auth")

Status = Literal["starting", "ready", "stale", "unavailable", "closed"]
# Waits ``delay`` seconds or until ``wake`` is set, whichever comes first.
Sleeper = Callable[[float, asyncio.Event], Awaitable[None]]
_LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})


class JWKSState(msgspec.Struct, frozen=True, kw_only=True):
    """What the client knows: ``ready`` (last fetch worked), ``stale`` (it failed, older keys
    still in use), ``unavailable`` (no keys yet and fetches fail), ``starting``, ``closed``."""

    status: Status
    keys: int = 0
    consecutive_failures: int = 0
    last_error: str | None = None
    last_success_at: float | None = None
    next_attempt_in: float | None = None


async def _wait_or_wake(delay: float, wake: asyncio.Event) -> None:
    try:
        await asyncio.wait_for(wake.wait(), timeout=delay)
    except TimeoutError:
        pass


def _check_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return url
    if parts.scheme == "http" and parts.hostname in _LOOPBACK:
        return url  # tests and sidecars on the same machine
    raise ValueError(f"the JWKS URL must be https:// (plain http only on loopback): {url!r}")


class JWKSClient:
    """A key source for TokenVerifier backed by a JWKS URL.

    ``await client.start()`` launches the owned refresh task; ``await client.aclose()`` cancels
    and awaits it. ``await client.wait_ready(timeout)`` waits for the first good fetch.
    ``sleep`` replaces the wait between attempts (tests use it to see the backoff without
    waiting it out).
    """

    def __init__(self, url: str, *, algorithms: Collection[str],
                 allowed_kids: Collection[str] | None = None, timeout: float = 5.0,
                 refresh_interval: float = 300.0, min_refresh_interval: float = 30.0,
                 retry_initial: float = 0.5, retry_max: float = 60.0, jitter: float = 0.1,
                 max_bytes: int = MAX_JWKS_BYTES, session: aiohttp.ClientSession | None = None,
                 clock: Clock = system_clock, sleep: Sleeper = _wait_or_wake,
                 rng: random.Random | None = None) -> None:
        if not 0 < retry_initial <= retry_max:
            raise ValueError("retry_initial must be positive and at most retry_max")
        if timeout <= 0 or refresh_interval <= 0 or not 0 <= jitter < 1:
            raise ValueError("timeout and refresh_interval are positive; jitter is in [0, 1)")
        self.url = _check_url(url)
        self.algorithms = check_jwks_algorithms(algorithms)
        self.allowed_kids = frozenset(allowed_kids) if allowed_kids is not None else None
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self.refresh_interval = refresh_interval
        self.min_refresh_interval = min_refresh_interval
        self.retry_initial, self.retry_max, self.jitter = retry_initial, retry_max, jitter
        self.max_bytes = max_bytes
        self._session, self._owns_session = session, session is None
        self._clock, self._sleep = clock, sleep
        self._rng = rng or random.Random()
        self._ring: KeyRing | None = None
        self._state = JWKSState(status="starting")
        self._last_attempt = -float("inf")  # monotonic, for the unknown-kid rate limit
        self._wake = asyncio.Event()
        self._changed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        # Where the logs say the keys come from: no user info or query string, either of which
        # may carry a credential.
        parts = urlsplit(url)
        port = f":{parts.port}" if parts.port is not None else ""
        self._where = f"{parts.scheme}://{parts.hostname}{port}{parts.path}"

    # -- the key-source protocol --------------------------------------------------------------
    def current(self) -> KeyRing | None:
        return self._ring

    def note_unknown_kid(self, kid: str) -> None:
        """A token named a key the set lacks (maybe rotated in): refresh early, rate-limited,
        and never while fetches are failing (the backoff stands)."""
        if self._state.consecutive_failures:
            return
        if time.monotonic() - self._last_attempt >= self.min_refresh_interval:
            self._wake.set()

    @property
    def refresh_pending(self) -> bool:
        """Whether an early refresh has been asked for and not yet started."""
        return self._wake.is_set()

    # -- state ------------------------------------------------------------------------------
    @property
    def state(self) -> JWKSState:
        return self._state

    def _set_state(self, state: JWKSState) -> None:
        self._state = state
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    async def wait_for(self, predicate: Callable[[JWKSState], bool],
                       timeout: float) -> JWKSState:
        """Wait until ``predicate(state)`` holds; TimeoutError after ``timeout`` seconds."""
        async with asyncio.timeout(timeout):
            while not predicate(self._state):
                await self._changed.wait()
        return self._state

    async def wait_ready(self, timeout: float) -> bool:
        """True once keys are loaded; False if ``timeout`` passes first (start-up then goes on
        with ``unavailable`` keys: tokens get 503 until the URL answers)."""
        try:
            await self.wait_for(lambda s: s.status in ("ready", "stale", "closed"), timeout)
        except TimeoutError:
            return False
        return self._ring is not None

    # -- lifecycle --------------------------------------------------------------------------
    async def start(self) -> None:
        if self._task is not None:
            return
        if self._session is None:
            self._session = aiohttp.ClientSession()
        self._task = asyncio.create_task(self._run(), name=f"jwks-refresh {self._where}")
        self._task.add_done_callback(self._task_ended)

    def _task_ended(self, task: asyncio.Task[None]) -> None:
        # The loop catches everything per attempt; reaching here with an error means the
        # sleeper itself failed, and the keys would silently stop refreshing.
        if not task.cancelled() and task.exception() is not None:
            log.error("auth_jwks_refresh_stopped", url=self._where, exc_info=task.exception())

    async def aclose(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            # The task's own end (cancelled, or an error already logged) is not ours to raise;
            # a cancellation of aclose() itself still propagates through gather.
            await asyncio.gather(task, return_exceptions=True)
        if self._owns_session and self._session is not None:
            await self._session.close()
            self._session = None
        self._set_state(msgspec.structs.replace(self._state, status="closed",
                                                next_attempt_in=None))

    async def _run(self) -> None:
        while True:
            self._wake.clear()
            try:
                ok = await self.refresh()
            except Exception as exc:  # supervised: a bug here is logged, and the loop goes on
                log.error("auth_jwks_refresh_crashed", url=self._where, exc_info=exc)
                ok = self._failed("internal_error")
            delay = self.refresh_interval if ok else self._backoff()
            self._set_state(msgspec.structs.replace(self._state, next_attempt_in=delay))
            await self._sleep(delay, self._wake)

    def _backoff(self) -> float:
        failures = self._state.consecutive_failures
        delay = min(self.retry_max, self.retry_initial * 2 ** min(failures - 1, 30))
        return delay * (1 - self.jitter * self._rng.random())

    # -- one attempt ------------------------------------------------------------------------
    async def refresh(self) -> bool:
        """One fetch; True when it replaced the keys. Never raises for a remote failure."""
        self._last_attempt = time.monotonic()
        try:
            body = await self._fetch()
            parsed = parse_jwks(body, algorithms=self.algorithms, allowed_kids=self.allowed_kids)
        except TimeoutError:
            return self._failed("timeout")
        except aiohttp.ClientError as exc:
            return self._failed(f"connection_error:{type(exc).__name__}")
        except _HTTPStatus as exc:
            return self._failed(f"http_{exc.status}")
        except JWKSError as exc:
            return self._failed(f"invalid_jwks:{exc}")
        recovered = self._state.consecutive_failures > 0
        self._ring = parsed.keyring
        self._set_state(JWKSState(status="ready", keys=len(parsed.keyring),
                                  last_success_at=self._clock()))
        if parsed.skipped:
            log.info("auth_jwks_keys_skipped", url=self._where,
                     skipped=[f"{kid}: {why}" for kid, why in parsed.skipped])
        if recovered:
            log.info("auth_jwks_recovered", url=self._where, keys=len(parsed.keyring))
        else:
            log.debug("auth_jwks_refreshed", url=self._where, keys=len(parsed.keyring))
        return True

    def _failed(self, error: str) -> bool:
        previous = self._state
        failures = previous.consecutive_failures + 1
        status: Status = "stale" if self._ring is not None else "unavailable"
        self._set_state(JWKSState(status=status, keys=previous.keys,
                                  consecutive_failures=failures, last_error=error,
                                  last_success_at=previous.last_success_at))
        # One line per failed attempt: with the capped backoff that is at most one a minute.
        log.warning("auth_jwks_unavailable", url=self._where, error=error, failures=failures,
                    status=status)
        return False

    async def _fetch(self) -> bytes:
        if self._session is None:  # refresh() called before start()
            self._session = aiohttp.ClientSession()
        async with self._session.get(self.url, timeout=self.timeout, allow_redirects=False,
                                     headers={"Accept": "application/jwk-set+json, "
                                                        "application/json"}) as resp:
            if resp.status != 200:
                raise _HTTPStatus(resp.status)
            if resp.content_length is not None and resp.content_length > self.max_bytes:
                raise JWKSError(f"the JWKS is over {self.max_bytes} bytes")
            chunks: list[bytes] = []
            size = 0
            async for chunk in resp.content.iter_chunked(64 * 1024):
                size += len(chunk)
                if size > self.max_bytes:
                    raise JWKSError(f"the JWKS is over {self.max_bytes} bytes")
                chunks.append(chunk)
            return b"".join(chunks)


class _HTTPStatus(Exception):
    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status
