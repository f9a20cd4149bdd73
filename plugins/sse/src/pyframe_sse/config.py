"""The sse plugin's settings, the ``[plugins.sse]`` section, and the backend URL they make."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import parse_qsl, urlencode, urlsplit

from msgspec import Meta

from pyframe.plugin import ConfigError, PluginConfig, check_backend_url

__all__ = ["SSEConfig", "backend_url"]


class SSEConfig(PluginConfig):
    """Where events and their replay log live, keep-alives, and each client's queue."""

    # The shared backend (docs/backends.md): None or "memory://" is this process alone;
    # "redis://..." reaches every worker and machine.
    backend: str | None = None
    # Seconds between keep-alive comments while a stream has nothing to send; 0 sends none.
    ping_interval: Annotated[float, Meta(ge=0, le=3600)] = 15.0
    # Events queued for one client that does not read them; one more cuts its stream (it
    # reconnects with Last-Event-ID and is replayed from the log).
    queue_size: Annotated[int, Meta(ge=1, le=100_000)] = 256
    # The replay log of each channel: the most events it keeps, and for how many seconds.
    # None keeps the backend's own bounds (its URL's log_maxlen and log_max_age; 1000 events
    # and 3600 s unless the URL says otherwise).
    history_size: Annotated[int, Meta(ge=1, le=10_000_000)] | None = None
    history_max_age: Annotated[float, Meta(gt=0, le=30 * 86400)] | None = None


def backend_url(config: SSEConfig, *, source: str) -> str:
    """The backend URL to open: ``backend`` with the history bounds as its log options.

    Raises ConfigError naming ``source`` and the key for a URL that does not validate, or a
    bound set twice (in the URL and in its own key).
    """
    where = f"{source}: plugins.sse"
    url = config.backend or "memory://"
    extra = {"log_maxlen": config.history_size, "log_max_age": config.history_max_age}
    extra = {name: value for name, value in extra.items() if value is not None}
    if extra:
        # Checked first, so a malformed URL is reported as such rather than as a clash.
        check_backend_url(url, source=source, key="plugins.sse.backend")
        parts = urlsplit(url)
        given = {name for name, _ in parse_qsl(parts.query, keep_blank_values=True)}
        for name, key in (("log_maxlen", "history_size"), ("log_max_age", "history_max_age")):
            if name in extra and name in given:
                raise ConfigError(f"{where}.{key}: the backend URL sets {name} too; set the "
                                  f"bound in one place")
        # Appended as text: re-assembling the URL from its parts would drop the "//" of
        # "memory://" and could re-quote a password.
        options = urlencode([(name, _number(value)) for name, value in extra.items()])
        url += ("&" if parts.query else ("" if url.endswith("?") else "?")) + options
    return check_backend_url(url, source=source, key="plugins.sse.backend")


def _number(value: float) -> str:
    return repr(value) if isinstance(value, float) and not value.is_integer() else str(int(value))
