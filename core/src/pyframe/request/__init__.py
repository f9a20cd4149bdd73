"""The request path: routing, the request context, bodies, middleware, the dispatcher and
responses. Nothing here knows how the response reaches the socket (that is pyframe.http)."""
