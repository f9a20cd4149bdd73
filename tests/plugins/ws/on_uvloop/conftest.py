"""The tests in this folder run on uvloop (pytest-asyncio's loop-factory hook, which applies to
this folder alone); the rest of the ws tests run on asyncio's own loop."""

from __future__ import annotations

from typing import Any

import pytest


def pytest_asyncio_loop_factories(config: Any, item: Any) -> Any:
    uvloop = pytest.importorskip("uvloop")
    return {"uvloop": uvloop.new_event_loop}
