"""Outgoing messages, encoded once: the same bytes object sits in every receiver's queue."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import msgspec
from aiohttp import WSMsgType

__all__ = ["Outgoing", "encode_bytes", "encode_json", "encode_text"]


@dataclass(frozen=True, slots=True)
class Outgoing:
    """A message ready for the wire: its payload and whether it goes as a text frame."""

    payload: bytes
    text: bool

    @property
    def opcode(self) -> WSMsgType:
        return WSMsgType.TEXT if self.text else WSMsgType.BINARY

    def __len__(self) -> int:
        return len(self.payload)


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
