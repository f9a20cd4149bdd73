"""A folder of files to serve, with traps next to it, and a raw-socket client."""

from __future__ import annotations

import asyncio
import gzip
import os
from pathlib import Path

import pytest

SECRET = b"TOP-SECRET-OUTSIDE-THE-MOUNT"


@pytest.fixture
def secret() -> bytes:
    return SECRET


@pytest.fixture
def site(tmp_path: Path) -> Path:
    """tmp/site/static is mounted; tmp/site/secret.txt and tmp/outside/ must never be served."""
    root = tmp_path / "site"
    static = root / "static"
    (static / "sub").mkdir(parents=True)
    (static / "noindex").mkdir()
    (static / ".hidden").mkdir()
    (tmp_path / "outside").mkdir()
    (root / "secret.txt").write_bytes(SECRET)
    (tmp_path / "outside" / "passwd").write_bytes(SECRET)
    (static / "hello.txt").write_bytes(b"hello world\n")
    (static / "index.html").write_bytes(b"<h1>home</h1>")
    (static / "sub" / "index.html").write_bytes(b"<h1>sub</h1>")
    (static / "noindex" / "file.txt").write_bytes(b"in noindex")
    (static / ".env").write_bytes(SECRET)
    (static / ".hidden" / "x.txt").write_bytes(SECRET)
    (static / "style.css").write_bytes(b"body{}")
    (static / "blob.unknownext").write_bytes(b"\x00\x01")
    (static / "data.json.gz").write_bytes(gzip.compress(b'{"a":1}'))
    (static / "app.js").write_bytes(b"console.log('identity');")
    (static / "app.js.br").write_bytes(b"BROTLI-BYTES")
    (static / "app.js.gz").write_bytes(b"GZIP-BYTES")
    (static / "only-gz.css").write_bytes(b"p{}")
    (static / "only-gz.css.gz").write_bytes(b"GZ-CSS")
    (static / "space name.txt").write_bytes(b"spaced")
    os.symlink(root / "secret.txt", static / "escape.txt")
    os.symlink(tmp_path / "outside", static / "escape_dir")
    os.symlink(static / "hello.txt", static / "inside.txt")
    os.symlink(static / ".env", static / "dotlink.txt")
    return static


@pytest.fixture
def raw_get():
    """Send a request line exactly as written (no client-side path normalisation)."""

    async def send(port: int, target: str, headers: dict[str, str] | None = None
                   ) -> tuple[int, dict[str, str], bytes]:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        lines = [f"GET {target} HTTP/1.1", "Host: 127.0.0.1", "Connection: close"]
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        await writer.drain()
        data = await asyncio.wait_for(reader.read(), 10)
        writer.close()
        await writer.wait_closed()
        head, _, body = data.partition(b"\r\n\r\n")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        parsed = {}
        for line in header_lines:
            key, _, value = line.partition(":")
            parsed[key.strip().lower()] = value.strip()
        return int(status_line.split()[1]), parsed, body

    return send
