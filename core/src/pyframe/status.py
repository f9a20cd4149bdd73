"""HTTP status codes and their reason phrases."""

from __future__ import annotations

from http import HTTPStatus

__all__ = ["get_description"]

_PHRASES = {s.value: s.phrase for s in HTTPStatus}
# RFC 9110's names, where the standard library of older Pythons keeps the RFC 2616 ones.
_PHRASES.update({413: "Content Too Large", 414: "URI Too Long", 416: "Range Not Satisfiable",
                 422: "Unprocessable Content"})
# Codes in common use that the standard library does not name.
_PHRASES.setdefault(418, "I'm a Teapot")
_PHRASES.setdefault(499, "Client Closed Request")


def get_description(code: int) -> str:
    """Return the reason phrase of an HTTP status code ("Not Found" for 404).

    Unknown codes get the phrase of their class ("Client Error" for 4xx), so the result is
    always usable in a status line.
    """
    phrase = _PHRASES.get(code)
    if phrase is not None:
        return phrase
    return {1: "Informational", 2: "Success", 3: "Redirection", 4: "Client Error",
            5: "Server Error"}.get(code // 100, "Unknown Status")
