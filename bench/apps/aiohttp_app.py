"""The 1.00 reference: a plain aiohttp.web.Application on uvloop, access log off.

Handlers are what an aiohttp user writes (web.Response(text=...), web.json_response,
request.json()), so the ratio compares pyframe with idiomatic aiohttp, not with hand-tuned code.
"""

import asyncio

import uvloop
from aiohttp import web

from _args import parse_args


async def plaintext(request: web.Request) -> web.Response:
    return web.Response(text="Hello, World!")


async def json_(request: web.Request) -> web.Response:
    return web.json_response({"message": "Hello, World!"})


async def user(request: web.Request) -> web.Response:
    return web.json_response({"id": int(request.match_info["id"])})


async def echo(request: web.Request) -> web.Response:
    return web.json_response(await request.json())


def build() -> web.Application:
    app = web.Application()
    app.router.add_get("/plaintext", plaintext)
    app.router.add_get("/json", json_)
    app.router.add_get(r"/users/{id:\d+}", user)
    app.router.add_post("/echo", echo)
    return app


async def main(host: str, port: int) -> None:
    # access_log=None: no access logger at all, which is what an app that never configures
    # logging effectively gets (aiohttp skips the line when the logger is not enabled).
    runner = web.AppRunner(build(), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    await asyncio.Event().wait()


if __name__ == "__main__":
    args = parse_args(__doc__)
    uvloop.run(main(args.host, args.port))
