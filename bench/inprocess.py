"""The server-side request path without sockets: microseconds of CPU per request.

    uv run python bench/inprocess.py [--requests 5000] [--repeat 9]

Each server's aiohttp protocol object is connected to an in-memory transport; the script feeds
it one keep-alive request at a time and waits until the response bytes are written. No kernel,
no wrk, no other process: what is left is the Python (and C-extension) work per request, which
is what pyframe's code changes move, and it hardly depends on how busy the machine is (the best
of ``--repeat`` is reported). The "pyframe + <plugin>" rows price each plugin alone; the
``json_origin`` column is a cross-origin request, the one cors labels; the ``*_dict`` and
``*_class`` columns are the API reference's response shapes (pyframe rows; the other servers
answer them at the plaintext or json twin). ``pyframe + access log`` logs each request
(``--log json`` or ``console``) to a temporary file, as `pyframe run` would to its output.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import uvloop

sys.path.insert(0, str(Path(__file__).resolve().parent / "apps"))
os.environ.setdefault("PYFRAME_LOGGING__ACCESS_LOG", "false")

import msgspec  # noqa: E402
from aiohttp import web  # noqa: E402
from aiohttp.helpers import rfc822_formatted_time  # noqa: E402

import aiohttp_app  # noqa: E402
import aiohttp_lowlevel  # noqa: E402
from _pyframe_common import build_app  # noqa: E402

POST_BODY = (Path(__file__).resolve().parent / "post.lua").read_text() \
    .split("wrk.body = '")[1].split("'")[0].encode()
REQUESTS = {
    "plaintext": b"GET /plaintext HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept-Encoding: gzip\r\n\r\n",
    "json": b"GET /json HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept-Encoding: gzip\r\n\r\n",
    "users": b"GET /users/42 HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept-Encoding: gzip\r\n\r\n",
    "echo": b"POST /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept-Encoding: gzip\r\n"
            b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
            % (len(POST_BODY), POST_BODY),
    # A browser's cross-origin fetch: cors's labelling path (the others pass it by).
    "json_origin": b"GET /json HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept-Encoding: gzip\r\n"
                   b"Origin: https://example.com\r\n\r\n",
    # The API reference's response shapes (pyframe only; see apps/_pyframe_common.py).
    "plaintext_dict": b"GET /ref/plaintext HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                      b"Accept-Encoding: gzip\r\n\r\n",
    "json_dict": b"GET /ref/json HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept-Encoding: gzip\r\n\r\n",
    "json_class": b"GET /ref/json-class HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                  b"Accept-Encoding: gzip\r\n\r\n",
    "html_class": b"GET /ref/html HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept-Encoding: gzip\r\n\r\n",
}
# Servers without the reference's shapes answer those columns at the twin endpoint.
TWINS = {"plaintext_dict": "plaintext", "json_dict": "json", "json_class": "json",
         "html_class": "plaintext"}


class MemoryTransport(asyncio.Transport):
    """Collects what the server writes; wakes the driver when a response is out."""

    def __init__(self) -> None:
        super().__init__()
        self.written = 0
        self.last = b""
        self.waiter: asyncio.Future[None] | None = None
        self._closing = False

    def _wrote(self, data: bytes) -> None:
        self.written += len(data)
        self.last = data
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(None)

    def write(self, data: Any) -> None:
        self._wrote(bytes(data))

    def writelines(self, chunks: Any) -> None:
        self._wrote(b"".join(chunks))

    def is_closing(self) -> bool:
        return self._closing

    def close(self) -> None:
        self._closing = True

    def abort(self) -> None:
        self._closing = True

    def can_write_eof(self) -> bool:
        return True

    def write_eof(self) -> None:
        pass

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": ("127.0.0.1", 50000), "sockname": ("127.0.0.1", 8000)}.get(name,
                                                                                     default)

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass

    def get_write_buffer_size(self) -> int:
        return 0

    def set_write_buffer_limits(self, high: Any = None, low: Any = None) -> None:
        pass


async def drive(make_protocol: Callable[[], asyncio.Protocol], raw: bytes, n: int) -> float:
    """CPU seconds for ``n`` requests over one keep-alive connection."""
    loop = asyncio.get_running_loop()
    transport = MemoryTransport()
    proto = make_protocol()
    proto.connection_made(transport)
    try:
        for _ in range(min(200, n // 10)):  # warm caches and the adaptive interpreter
            await _one(loop, proto, transport, raw)
        # CPU time of this thread, not wall time: on a shared machine the process is sometimes
        # descheduled, which wall time would count and CPU time does not.
        started = time.thread_time()
        for _ in range(n):
            await _one(loop, proto, transport, raw)
        return time.thread_time() - started
    finally:
        proto.connection_lost(None)


async def _one(loop: asyncio.AbstractEventLoop, proto: Any, transport: MemoryTransport,
               raw: bytes) -> None:
    transport.waiter = loop.create_future()
    proto.data_received(raw)
    await transport.waiter
    if not transport.last.startswith(b"HTTP/1.1 200"):
        # Responses whose head and body go out in two writes: wait for the body too.
        if not transport.last.startswith(b"HTTP/1.1 "):
            return
        raise RuntimeError(f"not a 200: {transport.last[:200]!r}")


# Servers: name -> async factory returning a protocol factory.
async def aiohttp_app_server() -> Callable[[], asyncio.Protocol]:
    runner = web.AppRunner(aiohttp_app.build(), access_log=None)
    await runner.setup()
    return runner.server


async def aiohttp_lowlevel_server() -> Callable[[], asyncio.Protocol]:
    return web.Server(aiohttp_lowlevel.handle, access_log=None)


class OneWriteResponse(web.StreamResponse):
    """The ceiling of a cheaper response path: status line, headers and body rendered to one
    bytes object and handed to the transport in one write, skipping web.Response's
    prepare/_prepare_headers/_write_headers/write_eof. A measurement aid, not pyframe code:
    it ignores cookies, HEAD, compression and chunking."""

    def __init__(self, body: bytes, content_type: bytes) -> None:
        super().__init__()
        self._one_body = body
        self._one_type = content_type

    async def prepare(self, request: web.BaseRequest) -> Any:
        if self._eof_sent:
            return None
        self._req = request
        writer = self._payload_writer = request._payload_writer
        keep_alive = self._keep_alive = request.keep_alive
        body = self._one_body
        data = b"HTTP/1.1 200 OK\r\nContent-Type: %s\r\nContent-Length: %d\r\nDate: %s\r\n" \
               b"Server: bench\r\n%s\r\n%s" % (
                   self._one_type, len(body), rfc822_formatted_time().encode(),
                   b"" if keep_alive else b"Connection: close\r\n", body)
        writer.transport.write(data)
        writer.output_size += len(data)
        self._eof_sent = True
        return writer

    async def write_eof(self, data: bytes = b"") -> None:
        return None


async def _one_write_handle(request: web.BaseRequest) -> web.StreamResponse:
    path = request.path
    if path == "/plaintext":
        return OneWriteResponse(b"Hello, World!", b"text/plain; charset=utf-8")
    if path == "/json":
        return OneWriteResponse(msgspec.json.encode({"message": "Hello, World!"}),
                                b"application/json")
    if path.startswith("/users/") and path[7:].isdigit():
        return OneWriteResponse(msgspec.json.encode({"id": int(path[7:])}), b"application/json")
    return OneWriteResponse(msgspec.json.encode(msgspec.json.decode(await request.read())),
                            b"application/json")


async def one_write_server() -> Callable[[], asyncio.Protocol]:
    return web.Server(_one_write_handle, access_log=None)


def pyframe_server(plain_server: bool = False, access_log: bool = False
                   ) -> Callable[[], Awaitable[Callable[[], asyncio.Protocol]]]:
    async def make() -> Callable[[], asyncio.Protocol]:
        app = build_app()
        if access_log:
            app.load_config()
            app.access_log = True  # the environment above turned it off for the others
        await app.startup()
        if plain_server:
            # app.handle behind aiohttp's own web.Server: what pyframe's connection class
            # (protocol.py, its limits and bookkeeping) costs per request.
            handle = app.dispatcher.handle if getattr(app, "dispatcher", None) else app.handle
            return web.Server(handle, access_log=None)
        return app.make_handler()
    return make


def pyframe_noop_server() -> Callable[[], Awaitable[Callable[[], asyncio.Protocol]]]:
    async def make() -> Callable[[], asyncio.Protocol]:
        from pyframe_noop_plugin import NoopPlugin

        app = build_app()
        app.plugins.register(NoopPlugin(), "noop")
        await app.startup()
        return app.make_handler()
    return make


def pyframe_plugins_server(*wanted: str) -> Callable[[], Awaitable[Callable[[], asyncio.Protocol]]]:
    """pyframe with these plugins on, as bench/apps/pyframe_all_plugins.py enables them."""
    async def make() -> Callable[[], asyncio.Protocol]:
        from pyframe_all_plugins import enable_plugins

        app = build_app()
        enable_plugins(app, only=wanted or None)
        await app.startup()
        return app.make_handler()
    return make


SERVERS = {
    "aiohttp_app": aiohttp_app_server,
    "aiohttp_lowlevel": aiohttp_lowlevel_server,
    "ceiling: web.Server + one-write response": one_write_server,
    "pyframe": pyframe_server(),
    "pyframe + access log": pyframe_server(access_log=True),
    "pyframe on web.Server": pyframe_server(plain_server=True),
    "pyframe_noop_plugin": pyframe_noop_server(),
    "pyframe + cors": pyframe_plugins_server("cors"),
    "pyframe + compression": pyframe_plugins_server("compression"),
    "pyframe + static": pyframe_plugins_server("static"),
    "pyframe + metrics": pyframe_plugins_server("metrics"),
    "pyframe_all_plugins": pyframe_plugins_server(),
}


async def main(args: argparse.Namespace) -> dict[str, dict[str, float]]:
    factories = {}
    for name, factory in SERVERS.items():
        if not args.only or name in args.only:
            factories[name] = await factory()
    best: dict[str, dict[str, float]] = {name: {} for name in factories}
    # Interleaved: every repeat measures every server and endpoint once, so a slow spell of
    # the (shared, virtual) machine hits them all alike; the best repeat is kept.
    for _ in range(args.repeat):
        for name, make_protocol in factories.items():
            for endpoint, raw in REQUESTS.items():
                if endpoint not in args.endpoints:
                    continue
                if endpoint in TWINS and not name.startswith("pyframe"):
                    raw = REQUESTS[TWINS[endpoint]]
                us = await drive(make_protocol, raw, args.requests) / args.requests * 1e6
                best[name][endpoint] = min(us, best[name].get(endpoint, us))
    return best


def report(results: dict[str, dict[str, float]], endpoints: list[str]) -> str:
    ref = results.get("aiohttp_app", {})
    head = "| server | " + " | ".join(f"{e} µs/req (× aiohttp_app)" for e in endpoints) + " |"
    out = [head, "|---|" + "---:|" * len(endpoints)]
    for name, row in results.items():
        cells = []
        for e in endpoints:
            us = row.get(e)
            if us is None:
                cells.append("")
            else:
                ratio = ref[e] / us if e in ref else float("nan")
                cells.append(f"{us:.1f} ({ratio:.2f})")
        out.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(out)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--requests", type=int, default=5_000)
    parser.add_argument("--repeat", type=int, default=9)
    parser.add_argument("--endpoints", default=",".join(REQUESTS))
    parser.add_argument("--only", default="", help="comma-separated server names")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--log", choices=("json", "console"), default="json",
                        help="the format of the 'pyframe + access log' row (to a file)")
    ns = parser.parse_args()
    ns.endpoints = ns.endpoints.split(",")
    ns.only = [o for o in ns.only.split(",") if o]
    from pyframe.logging import configure_logging

    log_file = tempfile.NamedTemporaryFile(prefix="pyframe-inprocess-", suffix=".log")
    # As `pyframe run` configures it; only the access-log row writes per request.
    configure_logging("info", ns.log, stream=open(log_file.name, "w"))
    print(f"in-process, uvloop, best of {ns.repeat} interleaved x {ns.requests:,} keep-alive requests; "
          f"× = aiohttp_app's µs / this row's µs (higher is faster)\n", flush=True)
    res = uvloop.run(main(ns))
    print(report(res, ns.endpoints))
    if ns.json:
        ns.json.write_text(json.dumps(res, indent=1) + "\n")
