"""pyframe with the ratelimit plugin on the bench endpoints, for bench/ratelimit.py.

``BENCH_RATELIMIT`` picks the variant: ``off`` (no limiter), ``memory``, ``memory_noheaders``
(no RateLimit fields on admitted answers) or ``redis`` (``BENCH_RATELIMIT_REDIS``, a URL).
The limit is so high that every request is admitted: the admitted path is the one measured.
"""

import os

from _pyframe_common import build_app, serve

from pyframe_ratelimit import RateLimitMiddleware

# One request a microsecond, a million at once: wrk never reaches it.
LIMIT = {"requests_per_minute": 60_000_000, "burst_size": 1_000_000}

if __name__ == "__main__":
    app = build_app()
    variant = os.environ.get("BENCH_RATELIMIT", "off")
    if variant == "memory":
        app.middleware.append(RateLimitMiddleware(**LIMIT))
    elif variant == "memory_noheaders":
        app.middleware.append(RateLimitMiddleware(**LIMIT, headers=False))
    elif variant == "redis":
        app.middleware.append(RateLimitMiddleware(**LIMIT,
                                                  backend=os.environ["BENCH_RATELIMIT_REDIS"]))
    elif variant != "off":
        raise SystemExit(f"unknown BENCH_RATELIMIT {variant!r}")
    serve(app, __doc__)
