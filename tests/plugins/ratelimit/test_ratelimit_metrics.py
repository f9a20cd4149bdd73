"""What the limiter reports through ``pyframe_add_metric_sources``: admitted, refused and
undecided requests, on the metrics plugin's Prometheus endpoint."""

from __future__ import annotations

import re

import pytest

from pyframe.testing import TestClient

from .support import app_with, free_port, statuses

pytestmark = pytest.mark.usefixtures("isolated")

CONFIG = """
[plugins.metrics]

[plugins.ratelimit]
requests_per_minute = 1
burst_size = 2
{extra}

[[plugins.ratelimit.routes]]
pattern = "/metrics"
exempt = true
"""


def sample(text: str, name: str, labels: str = "") -> float:
    match = re.search(rf"^{name}{re.escape(labels)} (\S+)$", text, re.M)
    assert match is not None, f"no {name}{labels} in:\n{text}"
    return float(match.group(1))


async def scrape(client) -> str:
    async with client.get("/metrics") as resp:
        assert resp.status == 200
        return await resp.text()


async def test_admitted_and_refused_requests_are_counted(tmp_path):
    app = app_with(tmp_path, CONFIG.format(extra=""))
    async with TestClient(app) as client:
        assert await statuses(client, count=5) == [200, 200, 429, 429, 429]
        text = await scrape(client)
    assert sample(text, "pyframe_ratelimit_admitted_total") == 2
    assert sample(text, "pyframe_ratelimit_refused_total") == 3
    assert sample(text, "pyframe_ratelimit_backend_errors_total", '{policy="allow"}') == 0
    assert sample(text, "pyframe_backend_up", '{url="memory://"}') == 1
    assert "# HELP pyframe_ratelimit_refused_total Requests refused with 429" in text


async def test_requests_the_backend_could_not_decide_are_counted_by_policy(tmp_path):
    backend = f'backend = "redis://127.0.0.1:{free_port()}/0?timeout=0.5"'
    app = app_with(tmp_path, CONFIG.format(extra=f'{backend}\non_backend_error = "deny"'))
    async with TestClient(app) as client:
        assert await statuses(client, count=3) == [503, 503, 503]
        text = await scrape(client)
    assert sample(text, "pyframe_ratelimit_backend_errors_total", '{policy="deny"}') == 3
    assert sample(text, "pyframe_ratelimit_backend_errors_total", '{policy="allow"}') == 0
    assert sample(text, "pyframe_ratelimit_admitted_total") == 0
