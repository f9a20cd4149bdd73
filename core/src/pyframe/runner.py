"""``pyframe run``'s machinery: the documented import path ``pyframe.runner`` for names that
live in :mod:`pyframe.serve`."""

from .serve.lifecycle import bind_socket
from .serve.run import run_app_workers, run_target
from .serve.supervisor import WORKER_START_TIMEOUT, Supervisor, worker_main
from .serve.target import TargetError, importing_target, locate_app, resolve_target, target_of

__all__ = ["run_target", "run_app_workers", "resolve_target", "locate_app", "target_of",
           "bind_socket", "TargetError", "importing_target", "Supervisor", "worker_main",
           "WORKER_START_TIMEOUT"]
