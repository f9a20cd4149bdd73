"""Peer: Starlette on uvicorn (uvloop, httptools), access log off. Runs from bench/.venv-peers.

``BENCH_ACCESS_LOG=1``: uvicorn's access log on, at its default level (uvicorn's default).
"""

import os

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route

from _args import parse_args


async def plaintext(request: Request) -> PlainTextResponse:
    return PlainTextResponse("Hello, World!")


async def json_(request: Request) -> JSONResponse:
    return JSONResponse({"message": "Hello, World!"})


async def user(request: Request) -> JSONResponse:
    return JSONResponse({"id": request.path_params["id"]})


async def echo(request: Request) -> JSONResponse:
    return JSONResponse(await request.json())


app = Starlette(routes=[
    Route("/plaintext", plaintext),
    Route("/json", json_),
    Route("/users/{id:int}", user),
    Route("/echo", echo, methods=["POST"]),
])

if __name__ == "__main__":
    args = parse_args(__doc__)
    logged = os.environ.get("BENCH_ACCESS_LOG") == "1"
    uvicorn.run(app, host=args.host, port=args.port, loop="uvloop", http="httptools",
                access_log=logged, log_level="info" if logged else "warning")
