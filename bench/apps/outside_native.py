"""The handler of outside's page example written natively on pyframe: a plain `def` on a
PyFrameApp, access log off (what docs/migrating-from-outside.md calls the next step)."""

import os

from pyframe import PyFrameApp, Response

from _args import parse_args

app = PyFrameApp(name="bench")


@app.get("/hello")
def hello_world(context):
    return Response("Hello, World!", headers={"Content-Type": "text/plain"})


if __name__ == "__main__":
    args = parse_args(__doc__)
    os.environ.setdefault("PYFRAME_LOGGING__ACCESS_LOG", "false")
    app.run(args.host, args.port)
