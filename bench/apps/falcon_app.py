"""Peer: Falcon (ASGI) on uvicorn (uvloop, httptools), access log off. Runs from bench/.venv-peers."""

import falcon
import falcon.asgi
import uvicorn

from _args import parse_args


class Plaintext:
    async def on_get(self, req, resp):
        resp.content_type = falcon.MEDIA_TEXT
        resp.text = "Hello, World!"


class Json:
    async def on_get(self, req, resp):
        resp.media = {"message": "Hello, World!"}


class User:
    async def on_get(self, req, resp, id):
        resp.media = {"id": id}


class Echo:
    async def on_post(self, req, resp):
        resp.media = await req.get_media()


app = falcon.asgi.App()
app.add_route("/plaintext", Plaintext())
app.add_route("/json", Json())
app.add_route("/users/{id:int}", User())
app.add_route("/echo", Echo())

if __name__ == "__main__":
    args = parse_args(__doc__)
    uvicorn.run(app, host=args.host, port=args.port, loop="uvloop", http="httptools",
                access_log=False, log_level="warning")
