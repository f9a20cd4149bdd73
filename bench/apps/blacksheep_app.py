"""Peer: BlackSheep on uvicorn (uvloop, httptools), access log off. Runs from bench/.venv-peers."""

import uvicorn
from blacksheep import Application, Request, json, text

from _args import parse_args

app = Application()


@app.router.get("/plaintext")
async def plaintext():
    return text("Hello, World!")


@app.router.get("/json")
async def json_():
    return json({"message": "Hello, World!"})


@app.router.get("/users/{int:id}")
async def user(id: int):
    return json({"id": id})


@app.router.post("/echo")
async def echo(request: Request):
    return json(await request.json())


if __name__ == "__main__":
    args = parse_args(__doc__)
    uvicorn.run(app, host=args.host, port=args.port, loop="uvloop", http="httptools",
                access_log=False, log_level="warning")
