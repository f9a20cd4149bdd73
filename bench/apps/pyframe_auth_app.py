"""pyframe with the auth plugin, for bench/auth.py: the bench app with every route protected.

``BENCH_AUTH_VARIANT`` picks ``none`` (no plugin), ``bearer`` or ``cookie`` (the plugin on;
which credential the requests carry is wrk's business), or ``everything``: auth as for
``bearer`` plus the rate limiter on the embedded backend (a limit no request reaches, its
RateLimit fields on) and cors, compression, static and metrics as bench/apps/pyframe_all_plugins.py
enables them. ``BENCH_AUTH_SECRET`` is the key.
"""

import os
import sys

from _pyframe_common import build_app, serve

if __name__ == "__main__":
    app = build_app()
    variant = os.environ.get("BENCH_AUTH_VARIANT", "none")
    if variant != "none":
        from pyframe.middleware import AuthMiddleware

        app.middleware.append(AuthMiddleware(secret_key=os.environ["BENCH_AUTH_SECRET"]))
    if variant == "everything":
        from pyframe_all_plugins import enable_plugins
        from pyframe_ratelimit import RateLimitMiddleware

        enabled = enable_plugins(app)
        app.middleware.append(RateLimitMiddleware(requests_per_minute=60_000_000,
                                                  burst_size=1_000_000))
        print(f"PLUGINS_ENABLED: auth ratelimit {' '.join(enabled)}", file=sys.stderr,
              flush=True)
    serve(app, __doc__)
