"""Outgoing messages, encoded once: the same bytes object sits in every receiver's queue, and the
same ready frame goes to every socket that takes it at once."""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Any

import msgspec
from aiohttp import WSMsgType

__all__ = ["Outgoing", "encode_bytes", "encode_json", "encode_text"]

_TEXT, _BINARY = 0x1, 0x2


def _frame(opcode: int, payload: bytes) -> bytes:
    # RFC 6455 §5.2, as a server sends it: FIN set, no mask, no extension bits.
    size = len(payload)
    if size < 126:
        head = bytes((0x80 | opcode, size))
    elif size < 65536:
        head = struct.pack("!BBH", 0x80 | opcode, 126, size)
    else:
        head = struct.pack("!BBQ", 0x80 | opcode, 127, size)
    return head + payload


class Outgoing:
    """A message ready for the wire: its payload, whether it is text, and the whole frame
    (for connections without compression, which can write it as it is)."""

    __slots__ = ("payload", "text", "frame")

    def __init__(self, payload: bytes, text: bool) -> None:
        self.payload = payload
        self.text = text
        self.frame = _frame(_TEXT if text else _BINARY, payload)

    @property
    def opcode(self) -> WSMsgType:
        return WSMsgType.TEXT if self.text else WSMsgType.BINARY

    def __len__(self) -> int:
        return len(self.payload)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Outgoing) and (self.payload, self.text) == (other.payload,
                                                                             other.text)

    def __hash__(self) -> int:
        return hash((self.payload, self.text))

    def __repr__(self) -> str:
        return f"Outgoing({self.payload[:40]!r}{'...' if len(self.payload) > 40 else ''}, " \
               f"text={self.text})"


def encode_text(data: str) -> Outgoing:
    if not isinstance(data, str):
        raise TypeError(f"a text message must be str, got {type(data).__name__}")
    return Outgoing(data.encode("utf-8"), True)


def encode_bytes(data: bytes | bytearray | memoryview) -> Outgoing:
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"a binary message must be bytes, got {type(data).__name__}")
    return Outgoing(bytes(data), False)


def encode_json(data: Any, encode: Callable[[Any], bytes] = msgspec.json.encode) -> Outgoing:
    """JSON as a text frame; msgspec's output is UTF-8 already, so it is sent as it is."""
    return Outgoing(encode(data), True)
