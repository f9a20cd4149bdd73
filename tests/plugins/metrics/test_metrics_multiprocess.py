"""Several worker processes, one picture: the scrape and the JSON stats cover all of them."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

WORKER = Path(__file__).with_name("metrics_worker.py")
HITS = 5


async def start_worker(env: dict[str, str], config: str | None):
    args = [sys.executable, str(WORKER)] + ([config] if config else [])
    proc = await asyncio.create_subprocess_exec(*args, env=env, stdin=asyncio.subprocess.PIPE,
                                                stdout=asyncio.subprocess.PIPE)
    line = await asyncio.wait_for(proc.stdout.readline(), 30)
    assert line.strip().isdigit(), f"the worker did not start: {line!r}"
    return proc, int(line)


async def stop_worker(proc) -> None:
    if proc.returncode is None:
        proc.stdin.close()
        try:
            await asyncio.wait_for(proc.wait(), 15)
        except TimeoutError:
            proc.kill()
            await proc.wait()


def samples(text: str, name: str) -> list:
    return [s for family in text_string_to_metric_families(text) for s in family.samples
            if s.name == name]


@pytest.mark.parametrize("how", ["environment", "option"])
async def test_two_workers_are_counted_together(tmp_path, how):
    directory = tmp_path / "prom"
    directory.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
    config = None
    if how == "environment":
        env["PROMETHEUS_MULTIPROC_DIR"] = str(directory)
    else:
        config = tmp_path / "pyframe.toml"
        config.write_text(f'[plugins.metrics]\nmultiprocess_dir = "{directory}"\n')
        config = str(config)
    workers = []
    try:
        workers = await asyncio.gather(start_worker(env, config), start_worker(env, config))
        (proc_a, port_a), (proc_b, port_b) = workers
        async with aiohttp.ClientSession() as session:
            for port in (port_a, port_b):
                for _ in range(HITS):
                    async with session.get(f"http://127.0.0.1:{port}/hit") as resp:
                        assert resp.status == 200
            async with session.get(f"http://127.0.0.1:{port_b}/admin/metrics") as resp:
                stats = await resp.json()
            async with session.get(f"http://127.0.0.1:{port_a}/metrics") as resp:
                text = await resp.text()
        assert stats["request_count"] == 2 * HITS
        assert stats["error_count"] == 0
        hits = [s for s in samples(text, "pyframe_http_requests_total")
                if s.labels["route"] == "/hit"]
        assert sum(s.value for s in hits) == 2 * HITS
        admin = [s for s in samples(text, "pyframe_http_requests_total")
                 if s.labels["route"] == "/admin/metrics"]
        assert sum(s.value for s in admin) == 1  # answered by worker B
        durations = [s for s in samples(text, "pyframe_http_request_duration_seconds_count")
                     if s.labels["route"] == "/hit"]
        assert sum(s.value for s in durations) == 2 * HITS
        # Live gauges add up the live workers: only the scrape itself is in flight.
        assert [s.value for s in samples(text, "pyframe_http_requests_in_flight")] == [1.0]
        # A worker that stops takes its share of the live gauges with it.
        await stop_worker(proc_b)
        assert not list(directory.glob(f"gauge_livesum_{proc_b.pid}.db"))
        assert list(directory.glob(f"gauge_livesum_{proc_a.pid}.db"))
    finally:
        for proc, _ in workers:
            await stop_worker(proc)


async def test_a_worker_whose_requests_are_all_still_running_counts_them(tmp_path):
    # Nothing finishes in worker B while its request is held: its in-flight value reaches the
    # shared files by the plugin's periodic write, and A's scrape adds it up.
    directory = tmp_path / "prom"
    directory.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
    env["PROMETHEUS_MULTIPROC_DIR"] = str(directory)
    workers = []
    try:
        workers = await asyncio.gather(start_worker(env, None), start_worker(env, None))
        (_, port_a), (_, port_b) = workers
        async with aiohttp.ClientSession() as session:
            held = asyncio.create_task(session.get(f"http://127.0.0.1:{port_b}/hold"))
            seen = []
            deadline = asyncio.get_running_loop().time() + 10
            while not seen or seen[-1] != [2.0]:
                assert asyncio.get_running_loop().time() < deadline, seen
                async with session.get(f"http://127.0.0.1:{port_a}/metrics") as resp:
                    text = await resp.text()
                seen.append([s.value for s in samples(text, "pyframe_http_requests_in_flight")])
                await asyncio.sleep(0.1)  # a poll interval between scrapes
            async with session.get(f"http://127.0.0.1:{port_b}/release") as resp:
                assert resp.status == 200
            async with await held as resp:
                assert await resp.text() == "held"
    finally:
        for proc, _ in workers:
            await stop_worker(proc)
