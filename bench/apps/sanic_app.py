"""Peer: Sanic, one process, its own server on uvloop, access log off. Runs from bench/.venv-peers."""

from sanic import Sanic
from sanic.request import Request
from sanic.response import json, text

from _args import parse_args

app = Sanic("bench")


@app.get("/plaintext")
async def plaintext(request: Request):
    return text("Hello, World!")


@app.get("/json")
async def json_(request: Request):
    return json({"message": "Hello, World!"})


@app.get("/users/<id:int>")
async def user(request: Request, id: int):
    return json({"id": id})


@app.post("/echo")
async def echo(request: Request):
    return json(request.json)


if __name__ == "__main__":
    args = parse_args(__doc__)
    app.run(host=args.host, port=args.port, single_process=True, access_log=False,
            debug=False, motd=False)
