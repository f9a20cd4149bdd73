"""aiohttp's low-level web.Server on uvloop: no Application, no router, a hand-written dispatch.

The ceiling for anything built on aiohttp's server (pyframe included).
"""

import asyncio
import json

import uvloop
from aiohttp import web

from _args import parse_args

_HELLO = b"Hello, World!"
_TEXT = "text/plain"


async def handle(request: web.BaseRequest) -> web.StreamResponse:
    path = request.path
    method = request.method
    if method == "GET":
        if path == "/plaintext":
            return web.Response(body=_HELLO, content_type=_TEXT)
        if path == "/json":
            return web.Response(body=json.dumps({"message": "Hello, World!"}).encode(),
                                content_type="application/json")
        if path.startswith("/users/") and path[7:].isdigit():
            return web.Response(body=json.dumps({"id": int(path[7:])}).encode(),
                                content_type="application/json")
    elif method == "POST" and path == "/echo":
        data = json.loads(await request.read())
        return web.Response(body=json.dumps(data).encode(), content_type="application/json")
    return web.Response(status=404)


async def main(host: str, port: int) -> None:
    server = web.Server(handle, access_log=None)
    loop = asyncio.get_running_loop()
    await loop.create_server(server, host, port)
    await asyncio.Event().wait()


if __name__ == "__main__":
    args = parse_args(__doc__)
    uvloop.run(main(args.host, args.port))
