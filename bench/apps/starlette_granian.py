"""Peer: the Starlette app of starlette_app.py on granian (a Rust HTTP server), one worker,
uvloop, access log off. Runs from bench/.venv-peers.

granian serves from a worker process it spawns; the harness counts the CPU of the whole
process tree, and the worker inherits the parent's core pinning.
"""

from pathlib import Path

from granian import Granian
from granian.constants import Interfaces, Loops

from _args import parse_args

if __name__ == "__main__":
    args = parse_args(__doc__)
    Granian("starlette_app:app", address=args.host, port=args.port, interface=Interfaces.ASGI,
            workers=1, runtime_threads=1, loop=Loops.uvloop, log_access=False,
            log_level="warning", working_dir=Path(__file__).resolve().parent).serve()
