"""Serving: one process, workers and their supervisor, the dev server with hot reload, the
redirect server and gunicorn, all on one lifecycle (pyframe.serve.lifecycle)."""
