"""TLS for the servers: a context from certificate and key files, or from the config."""

from __future__ import annotations

import ssl as ssl_module
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..config import ServerConfig

__all__ = ["tls_context", "tls_from"]


def tls_context(cert: str, key: str | None = None) -> ssl_module.SSLContext:
    """A server TLS context from a certificate chain file and its private key file."""
    context = ssl_module.create_default_context(ssl_module.Purpose.CLIENT_AUTH)
    try:
        context.load_cert_chain(cert, key)
    except (OSError, ssl_module.SSLError) as exc:
        raise ValueError(f"cannot load the TLS certificate {cert!r} / key {key!r}: {exc}") from exc
    return context


def tls_from(server: ServerConfig, ssl_context: ssl_module.SSLContext | None, cert: str | None,
             key: str | None) -> ssl_module.SSLContext | None:
    """The context to serve with: the one given, else from ``cert``/``key`` files, else from
    the config's ``tls_cert``/``tls_key``; None for plain HTTP."""
    if ssl_context is not None:
        return ssl_context
    cert, key = cert or server.tls_cert, key or server.tls_key
    if cert is None and key is None:
        return None
    if cert is None:
        raise ValueError("a TLS key was given without a certificate (tls_cert / --cert)")
    return tls_context(cert, key)
