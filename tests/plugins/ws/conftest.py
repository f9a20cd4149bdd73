"""Fixtures for the ws tests: a hub served by a bare aiohttp server."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack
from typing import Any

import pytest

from .support import Hub, bare_server


@pytest.fixture
async def serve_hub() -> AsyncIterator[Callable[..., Any]]:
    """``port = await serve_hub(hub)``: the hub's handler on a free port until the test ends."""
    async with AsyncExitStack() as stack:
        async def serve(hub: Hub) -> int:
            return await stack.enter_async_context(bare_server(hub.handler))
        yield serve
