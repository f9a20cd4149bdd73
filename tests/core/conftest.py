"""Fixtures of the core's tests."""

from __future__ import annotations

import logging as stdlib_logging

import pytest
import structlog

from pyframe import logging as pyframe_logging


@pytest.fixture
def isolated_logging(monkeypatch):
    """configure_logging for one test: structlog, the root logger's handlers and the batcher
    are put back afterwards, and loggers are not cached meanwhile (a module's logger, once
    cached, would keep writing to this test's closed file in the tests after it)."""
    handlers = list(stdlib_logging.root.handlers)
    configure = structlog.configure
    monkeypatch.setattr(structlog, "configure", lambda **options: configure(
        **{**options, "cache_logger_on_first_use": False}))
    yield monkeypatch
    batcher = pyframe_logging._batcher[0]
    if batcher is not None:
        batcher.close()
        pyframe_logging._batcher[0] = None
    structlog.reset_defaults()
    stdlib_logging.root.handlers[:] = handlers
