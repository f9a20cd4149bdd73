"""Finding one cookie in a request's ``Cookie`` header without parsing all of them.

The session cookie is read on every request; building a mapping of every cookie (as a general
parser does) costs more than the signature check that follows. Values are taken as sent, one
pair of surrounding double quotes removed (RFC 6265 §4.1.1); nothing is unescaped, since the
values this plugin sets never need it.
"""

from __future__ import annotations

__all__ = ["read_cookie"]


def read_cookie(header: str | None, name: str) -> str | None:
    """The value of the first cookie called ``name`` in ``header``, or None.

    The first, because browsers send cookies with longer paths first (RFC 6265 §5.4): the one
    set for this app's path comes before one a neighbour set for a shorter one.
    """
    if not header:
        return None
    wanted = name + "="
    if wanted not in header:  # the usual miss, found without splitting
        return None
    if header.startswith(wanted) and ";" not in header:  # the usual hit: ours alone
        value = header[len(wanted):].rstrip(" \t")
        return value[1:-1] if len(value) >= 2 and value[0] == value[-1] == '"' else value
    for pair in header.split(";"):
        pair = pair.strip(" \t")
        if pair.startswith(wanted):
            value = pair[len(wanted):]
            if len(value) >= 2 and value[0] == value[-1] == '"':
                value = value[1:-1]
            return value
    return None
