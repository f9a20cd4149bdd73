"""pyframe with the auth plugin, for bench/auth.py: the bench app with every route protected.

``BENCH_AUTH_VARIANT`` picks ``none`` (no plugin), ``bearer`` or ``cookie`` (the plugin on;
which credential the requests carry is wrk's business); ``BENCH_AUTH_SECRET`` is the key.
"""

import os

from _pyframe_common import build_app, serve

if __name__ == "__main__":
    app = build_app()
    if os.environ.get("BENCH_AUTH_VARIANT", "none") != "none":
        from pyframe.middleware import AuthMiddleware

        app.middleware.append(AuthMiddleware(secret_key=os.environ["BENCH_AUTH_SECRET"]))
    serve(app, __doc__)
