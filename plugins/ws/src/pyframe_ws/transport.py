"""The TCP side of a connection: how much we wrote that the peer has not taken, and cutting it.

Duck-typed: uvloop's transports (which ``pyframe run`` uses when installed) have asyncio's
methods but are not subclasses of asyncio's transport classes.
"""

from __future__ import annotations

from typing import Any

__all__ = ["buffered", "cut", "writable"]


def writable(transport: Any) -> bool:
    """Whether ``transport`` is a stream transport we can write to and measure."""
    return transport is not None and hasattr(transport, "write") \
        and hasattr(transport, "get_write_buffer_size") and hasattr(transport, "abort")


def buffered(transport: Any) -> int:
    """Bytes written to ``transport`` that the peer has not read yet (0 if unknown)."""
    return transport.get_write_buffer_size() if writable(transport) else 0  # type: ignore[no-any-return]


def cut(transport: Any) -> None:
    """End the TCP connection now: abort when data is still buffered (a plain close would
    wait for a peer that stopped reading, maybe for ever), close otherwise."""
    if not writable(transport):
        return
    if transport.get_write_buffer_size():
        transport.abort()
    elif not transport.is_closing():
        transport.close()
