"""From a URL path under a mount to a file on disk, refusing anything that leaves the mount.

Path traversal through static handlers is the most common web framework vulnerability, so the
rules are strict and checked twice: the URL's segments are checked as text (no ``..``, ``.``,
empty segments, backslashes, NUL bytes, and no dotfiles unless allowed), then the final real
path, with every symlink resolved, must lie inside the real mount root.
"""

from __future__ import annotations

import mimetypes
import os
import stat
from typing import Final, NamedTuple

from .conditional import CODINGS

__all__ = ["Target", "REDIRECT", "url_segments", "lookup", "content_type_for", "is_inside"]

INDEX_FILE: Final = "index.html"
# Returned by lookup() for a directory asked for without its trailing slash.
REDIRECT: Final = "redirect"
_OCTETS = "application/octet-stream"
# The type of a file that *is* compressed data (mimetypes reports gzip as an encoding).
_COMPRESSED_TYPES = {"gzip": "application/gzip", "br": "application/x-brotli",
                     "bzip2": "application/x-bzip2", "xz": "application/x-xz",
                     "compress": "application/x-compress"}


class Target(NamedTuple):
    """A file to send: its real path, stat, the name its type comes from, and the
    precompressed siblings found next to it as {coding: stat}."""

    path: str
    stat: os.stat_result
    name: str
    siblings: dict[str, os.stat_result]


def url_segments(rel: str, hidden: bool) -> list[str] | None:
    """The path segments of ``rel`` (already percent-decoded), or None if it is refused."""
    if not rel:
        return []
    if "\\" in rel or "\x00" in rel:
        return None
    segments = rel.split("/")
    last = len(segments) - 1
    for i, seg in enumerate(segments):
        if seg in (".", ".."):
            return None
        if not seg:
            if i == last:  # a trailing slash: asking for a directory
                continue
            return None  # "a//b" or an absolute path smuggled in as "%2fetc"
        if seg[0] == "." and not hidden:
            return None
    return [s for s in segments if s]


def is_inside(path: str, root: str) -> bool:
    if path == root:
        return True
    prefix = root if root.endswith(os.sep) else root + os.sep
    return path.startswith(prefix)


def _has_hidden_part(path: str, root: str) -> bool:
    below = path[len(root):].lstrip(os.sep)
    return any(part.startswith(".") for part in below.split(os.sep) if part)


def _real(root: str, candidate: str, hidden: bool) -> str | None:
    real = os.path.realpath(candidate)
    if not is_inside(real, root):
        return None  # a symlink pointing out of the mount
    if not hidden and _has_hidden_part(real, root):
        return None  # a symlink pointing at a dotfile
    return real


def _found(root: str, candidate: str, hidden: bool) -> tuple[str, os.stat_result] | None:
    """The real path of ``candidate`` and its stat, or None when it is outside the mount,
    hidden, or not there."""
    real = _real(root, candidate, hidden)
    if real is None:
        return None
    try:
        return real, os.stat(real)
    except (OSError, ValueError):
        return None


def lookup(root: str, segments: list[str], hidden: bool, index: bool,
           slash: bool) -> Target | str | None:
    """Find the file for ``segments`` under ``root`` (a real path). Blocking: run it in a
    thread. Returns a Target, REDIRECT, or None for "not found"."""
    found = _found(root, os.path.join(root, *segments), hidden)
    if found is None:
        return None
    real, st = found
    name = segments[-1] if segments else ""
    if stat.S_ISDIR(st.st_mode):
        if not index:
            return None
        if not slash:
            return REDIRECT
        found = _found(root, os.path.join(real, INDEX_FILE), hidden)
        if found is None:
            return None
        real, st = found
        name = INDEX_FILE
    elif slash:
        return None  # "file.txt/" names a folder that is not there
    if not stat.S_ISREG(st.st_mode):
        return None  # sockets, FIFOs, devices
    siblings = {}
    for coding, suffix in CODINGS:
        try:
            # lstat: a symlinked sibling is ignored, as aiohttp ignores it.
            sibling = os.lstat(real + suffix)
        except OSError:
            continue
        if stat.S_ISREG(sibling.st_mode):
            siblings[coding] = sibling
    return Target(real, st, name, siblings)


def content_type_for(name: str) -> str:
    """Content-Type from a file name; text is labelled UTF-8."""
    mime, encoding = mimetypes.guess_type(name, strict=False)
    if encoding is not None:
        # "data.json.gz" is gzip data, not JSON: it is sent as it is, without Content-Encoding.
        return _COMPRESSED_TYPES.get(encoding, _OCTETS)
    if mime is None:
        return _OCTETS
    if mime.startswith("text/"):
        return mime + "; charset=utf-8"
    return mime
