"""Logging through structlog, configured in one place: human-readable or JSON lines."""

from __future__ import annotations

import logging as stdlib_logging
import sys
from typing import Any

import msgspec
import structlog

__all__ = ["configure_logging", "get_logger"]

_LEVELS = {"debug": 10, "info": 20, "warning": 30, "error": 40, "critical": 50}


def _json_dumps(obj: Any, **_: Any) -> str:
    # structlog hands the serializer keyword arguments msgspec does not take.
    return msgspec.json.encode(obj, enc_hook=str).decode()


def configure_logging(level: str = "info", fmt: str = "console", stream: Any = None) -> None:
    """Set up structlog for the whole process. Only the application's entry point calls this."""
    if level not in _LEVELS:
        raise ValueError(f"log level must be one of {sorted(_LEVELS)}, got {level!r}")
    processors: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    if fmt == "json":
        processors += [structlog.processors.dict_tracebacks,
                       structlog.processors.JSONRenderer(serializer=_json_dumps)]
    elif fmt == "console":
        processors.append(structlog.dev.ConsoleRenderer(colors=False))
    else:
        raise ValueError(f"log format must be 'console' or 'json', got {fmt!r}")
    structlog.configure(
        processors=processors,
        wrapper_class=structlog.make_filtering_bound_logger(_LEVELS[level]),
        logger_factory=structlog.PrintLoggerFactory(stream or sys.stderr),
        cache_logger_on_first_use=True,
    )
    # aiohttp and asyncio report through the standard library; keep their warnings visible.
    stdlib_logging.basicConfig(level=max(_LEVELS[level], stdlib_logging.WARNING),
                               stream=stream or sys.stderr)


def get_logger(name: str = "pyframe", **bound: Any) -> Any:
    return structlog.get_logger(name, **bound)
