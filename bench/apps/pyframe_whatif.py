"""pyframe with two per-request costs of the core switched off from outside, to measure what
removing them is worth under real load (not a configuration anyone should run):

- the handler timeout (``app._handler_timeout = None``: no ``asyncio.timeout`` per request),
- the request <-> context reference cycle (the context is dropped from the request once the
  response is built, so no cyclic garbage is left for the GC). Since issue 20 the context is
  left on the request only for the observers of finished requests (the access log, metrics),
  which take it off again: with the access log off, as here, this one changes nothing.

``BENCH_WHATIF`` picks them (default ``timeout,cycle``).
"""

import os

from aiohttp import web

from _pyframe_common import build_app, serve

if __name__ == "__main__":
    wanted = set(os.environ.get("BENCH_WHATIF", "timeout,cycle").split(","))
    os.environ.setdefault("PYFRAME_LOGGING__ACCESS_LOG", "false")
    app = build_app()
    app.load_config()  # reads [server] handler_timeout; the override below must come after
    if "timeout" in wanted:
        app._handler_timeout = None
    if "cycle" in wanted:
        from pyframe.request.dispatch import CONTEXT_KEY

        handle = app.handle

        async def handle_then_forget(request: web.BaseRequest) -> web.StreamResponse:
            response = await handle(request)
            request._state.pop(CONTEXT_KEY, None)
            return response

        app.handle = handle_then_forget
    serve(app, __doc__)
