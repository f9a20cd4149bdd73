"""Request body decoders: JSON, urlencoded forms and multipart forms with uploaded files.

Each decoder takes the raw body and the content-type header value. Plugins add decoders for
other media types through the ``pyframe_add_body_decoders`` hook. A body a decoder cannot
read is the client's fault: 400 with a fixed reason, never a 500.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qsl

import msgspec
from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, MultipartState

from ..errors import BadRequest

__all__ = ["MultiValueDict", "UploadedFile", "decode_json", "decode_urlencoded",
           "decode_multipart", "bad_json", "BodyDecoder", "BUILTIN_DECODERS", "MAX_FORM_FIELDS",
           "MAX_FORM_PARTS"]

BodyDecoder = Callable[[bytes, str], Any]
_json_decoder = msgspec.json.Decoder()
# Fields of a urlencoded form, and parts of a multipart one (each part costs far more to
# parse: 1 000 keep the worst case to some milliseconds of the event loop).
MAX_FORM_FIELDS = 10_000
MAX_FORM_PARTS = 1_000
# A parameter of a header value: ; name=token or ; name="quoted string".
_PARAM = re.compile(rb';[ \t]*([^\s=;]+)[ \t]*=[ \t]*("(?:[^"\\]|\\.)*"|[^\s;]*)')


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


def bad_json(exc: BaseException) -> str:
    """The 400's detail for a JSON body msgspec could not read (its messages name a position,
    never the body's bytes)."""
    if isinstance(exc, RecursionError):
        return "malformed JSON body: nested too deeply"
    if isinstance(exc, UnicodeDecodeError):
        return "malformed JSON body: not UTF-8"
    return f"malformed JSON body: {exc}"


def decode_json(body: bytes, content_type: str = "") -> Any:
    if not body:
        return None
    try:
        return _json_decoder.decode(body)
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError) as exc:
        raise BadRequest(detail=bad_json(exc)) from None


def decode_urlencoded(body: bytes, content_type: str = "") -> MultiValueDict:
    try:
        text = body.decode("utf-8")
        return MultiValueDict(parse_qsl(text, keep_blank_values=True, strict_parsing=False,
                                        max_num_fields=MAX_FORM_FIELDS))
    except UnicodeDecodeError:
        raise BadRequest(detail="malformed form body: not UTF-8") from None
    except ValueError:
        raise BadRequest(detail=f"malformed form body: more than {MAX_FORM_FIELDS} "
                                f"fields") from None


def _params(value: bytes) -> dict[str, bytes]:
    """The parameters of a header value such as ``form-data; name="a"``, as bytes: a quoted
    string unescaped (\\" and \\\\ only). The extended ``name*=`` form is ignored, as RFC
    7578 section 4.2 says; a parameter given twice keeps its first value."""
    params: dict[str, bytes] = {}
    for match in _PARAM.finditer(value):
        key = match.group(1).decode("latin-1").lower()
        if "*" in key:
            continue
        raw = match.group(2)
        if len(raw) >= 2 and raw[:1] == b'"' and raw[-1:] == b'"':
            raw = raw[1:-1].replace(b"\\\\", b"\\").replace(b'\\"', b'"')
        params.setdefault(key, raw)
    return params


def _text(value: bytes) -> str:
    # As header values are read (request/text.py): UTF-8 when it is, else Latin-1.
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return value.decode("latin-1")


def _filename(raw: bytes) -> str:
    name = _text(raw)
    if name[1:3] == ":\\" or name[:2] == "\\\\":
        name = name.rsplit("\\", 1)[-1]  # an old browser's full Windows path: the name only
    return name


def decode_multipart(body: bytes, content_type: str) -> tuple[MultiValueDict, MultiValueDict]:
    """Split a multipart/form-data body into (fields, files).

    Names and file names are UTF-8 (as browsers send them), else read as Latin-1; at most
    ``MAX_FORM_PARTS`` parts are read.
    """
    boundary = _params(content_type.encode("utf-8", "surrogateescape")).get("boundary")
    if not boundary or len(boundary) > 200:
        raise BadRequest(detail="multipart body without a boundary in its Content-Type")
    parts: list[tuple[dict[str, bytes], bytearray]] = []
    field: list[bytes] = []
    value: list[bytes] = []
    headers: dict[str, bytes] = {}
    data = bytearray()

    def on_part_begin() -> None:
        nonlocal headers, data
        if len(parts) >= MAX_FORM_PARTS:
            raise BadRequest(detail=f"malformed multipart body: more than {MAX_FORM_PARTS} "
                                    f"parts")
        headers, data = {}, bytearray()

    def on_header_field(buf: bytes, start: int, end: int) -> None:
        field.append(buf[start:end])

    def on_header_value(buf: bytes, start: int, end: int) -> None:
        value.append(buf[start:end])

    def on_header_end() -> None:
        name = b"".join(field).decode("latin-1").lower()
        headers[name] = b"".join(value)
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
        params = _params(disposition)
        name = params.get("name")
        if name is None:
            raise BadRequest(detail="malformed multipart body: a part has no name")
        key = _text(name)
        filename = params.get("filename")
        if filename is None:
            try:
                fields.append((key, bytes(content).decode("utf-8")))
            except UnicodeDecodeError:
                raise BadRequest(detail="a form field is not UTF-8 text") from None
        else:
            text_headers = {k: _text(v) for k, v in part_headers.items()}
            files.append((key, UploadedFile(
                key, _filename(filename),
                text_headers.get("content-type", "application/octet-stream"),
                bytes(content), text_headers)))
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
