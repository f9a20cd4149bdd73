"""The hostile-input battery (issue 19): a real pyframe server attacked over 127.0.0.1.

Families here: HTTP framing and smuggling, head and field limits, slow and idle clients,
non-reading clients and memory, pipelining floods, bodies (plain and compressed), request text
that is not UTF-8, error-body reflection, response header injection, static traversal and
ranges, CORS look-alike origins, faults, shutdown, aiohttp's pure-Python parser, and property
tests of the router, query strings, cookies, headers, multipart bodies and config loading.

The plugins' families: auth (JWT ``alg: none`` and key confusion, tampered and oversized
session cookies, the session store's Redis going away), ratelimit (spoofed
``X-Forwarded-For``), ws (protocol violations, oversized and deflate-bomb messages) and sse
(field injection, oversized ``Last-Event-ID``). Shutdown with a WebSocket or a stream open, and
Redis stopping under each plugin, are tested in the plugins' own suites (see README.md).
"""
