"""Request body decoders: JSON, urlencoded forms and multipart forms with uploaded files.

Each decoder takes the raw body and the content-type header value. Plugins add decoders for
other media types through the ``pyframe_add_body_decoders`` hook.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qsl

import msgspec
from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import (
    MultipartParser,
    MultipartState,
    parse_options_header,
)

from ..errors import BadRequest

__all__ = ["MultiValueDict", "UploadedFile", "decode_json", "decode_urlencoded",
           "decode_multipart", "BodyDecoder", "BUILTIN_DECODERS"]

BodyDecoder = Callable[[bytes, str], Any]
_json_decoder = msgspec.json.Decoder()


class MultiValueDict(dict):
    """A dict of the first value for each key; ``getall(key)`` gives every value."""

    def __init__(self, pairs: Iterable[tuple[str, Any]] = ()) -> None:
        super().__init__()
        self._all: dict[str, list[Any]] = {}
        for key, value in pairs:
            self._all.setdefault(key, []).append(value)
            self.setdefault(key, value)

    def getall(self, key: str, default: Any = None) -> list[Any]:
        if key in self._all:
            return list(self._all[key])
        return [] if default is None else default


class UploadedFile:
    """A file from a multipart form: ``filename``, ``content_type``, ``content`` and ``size``."""

    __slots__ = ("name", "filename", "content_type", "content", "headers")

    def __init__(self, name: str, filename: str, content_type: str, content: bytes,
                 headers: dict[str, str]) -> None:
        self.name = name
        self.filename = filename
        self.content_type = content_type
        self.content = content
        self.headers = headers

    @property
    def size(self) -> int:
        return len(self.content)

    def read(self) -> bytes:
        return self.content

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the content to ``path``; call it through ``asyncio.to_thread`` in async code."""
        with open(path, "wb") as f:
            f.write(self.content)

    def __repr__(self) -> str:
        return f"<UploadedFile {self.name}={self.filename!r} {self.content_type} {self.size} B>"


def decode_json(body: bytes, content_type: str = "") -> Any:
    if not body:
        return None
    try:
        return _json_decoder.decode(body)
    except msgspec.DecodeError as exc:
        raise BadRequest(detail=f"malformed JSON body: {exc}") from None


def decode_urlencoded(body: bytes, content_type: str = "") -> MultiValueDict:
    try:
        text = body.decode("utf-8")
        return MultiValueDict(parse_qsl(text, keep_blank_values=True, strict_parsing=False,
                                        max_num_fields=10_000))
    except (UnicodeDecodeError, ValueError) as exc:
        raise BadRequest(detail=f"malformed form body: {exc}") from None


def decode_multipart(body: bytes, content_type: str) -> tuple[MultiValueDict, MultiValueDict]:
    """Split a multipart/form-data body into (fields, files)."""
    _, options = parse_options_header(content_type)
    boundary = options.get(b"boundary")
    if not boundary:
        raise BadRequest(detail="multipart body without a boundary in its Content-Type")
    parts: list[tuple[dict[str, str], bytearray]] = []
    field: list[bytes] = []
    value: list[bytes] = []
    headers: dict[str, str] = {}
    data = bytearray()

    def on_part_begin() -> None:
        nonlocal headers, data
        headers, data = {}, bytearray()

    def on_header_field(buf: bytes, start: int, end: int) -> None:
        field.append(buf[start:end])

    def on_header_value(buf: bytes, start: int, end: int) -> None:
        value.append(buf[start:end])

    def on_header_end() -> None:
        name = b"".join(field).decode("latin-1").lower()
        headers[name] = b"".join(value).decode("utf-8", "replace")
        field.clear()
        value.clear()

    def on_part_data(buf: bytes, start: int, end: int) -> None:
        data.extend(buf[start:end])

    def on_part_end() -> None:
        parts.append((headers, data))

    parser = MultipartParser(boundary, {
        "on_part_begin": on_part_begin, "on_header_field": on_header_field,
        "on_header_value": on_header_value, "on_header_end": on_header_end,
        "on_part_data": on_part_data, "on_part_end": on_part_end,
    }, max_header_count=32)
    try:
        parser.write(body)
    except MultipartParseError as exc:
        raise BadRequest(detail=f"malformed multipart body: {exc}") from None
    if parser.state != MultipartState.END:
        raise BadRequest(detail="malformed multipart body: it ends before its closing boundary")
    fields: list[tuple[str, Any]] = []
    files: list[tuple[str, Any]] = []
    for part_headers, content in parts:
        disposition = part_headers.get("content-disposition")
        if disposition is None:
            raise BadRequest(detail="malformed multipart body: a part has no Content-Disposition")
        _, params = parse_options_header(disposition)
        name = params.get(b"name")
        if name is None:
            raise BadRequest(detail="malformed multipart body: a part has no name")
        key = name.decode("utf-8", "replace")
        filename = params.get(b"filename")
        if filename is None:
            try:
                fields.append((key, bytes(content).decode("utf-8")))
            except UnicodeDecodeError:
                raise BadRequest(detail=f"form field {key!r} is not UTF-8 text") from None
        else:
            files.append((key, UploadedFile(
                key, filename.decode("utf-8", "replace"),
                part_headers.get("content-type", "application/octet-stream"),
                bytes(content), part_headers)))
    return MultiValueDict(fields), MultiValueDict(files)


def decode_multipart_data(body: bytes, content_type: str) -> MultiValueDict:
    fields, files = decode_multipart(body, content_type)
    return MultiValueDict([*((k, v) for k in fields for v in fields.getall(k)),
                           *((k, v) for k in files for v in files.getall(k))])


BUILTIN_DECODERS: dict[str, BodyDecoder] = {
    "application/json": decode_json,
    "application/x-www-form-urlencoded": decode_urlencoded,
    "multipart/form-data": decode_multipart_data,
}
