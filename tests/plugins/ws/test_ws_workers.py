"""``pyframe run --workers 2`` on Redis: clients land on both workers (each answer names its
pid), broadcasts, group and user messages reach all of them, counts are global, and a worker
killed with SIGKILL stops counting within the presence lease."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import sys
from collections import defaultdict
from pathlib import Path

import pytest

from .support import DEADLINE, Peer, delete_prefix, load_module, unique_prefix, wait_until

HERE = Path(__file__).parent
SERVER_SUPPORT = HERE.parents[1] / "server" / "support.py"
pytestmark = pytest.mark.timeout(120)


@pytest.fixture
async def served(tmp_path, redis_url):
    """command_app under ``pyframe run --workers 2`` with the Redis backend."""
    support = load_module(SERVER_SUPPORT, "ws_server_support")
    prefix = unique_prefix()
    shutil.copy(HERE / "command_app.py", tmp_path / "app.py")
    (tmp_path / "pyframe.toml").write_text(
        f'[plugins.ws]\nbackend = "{redis_url}?prefix={prefix}"\n'
        f'presence_interval = 0.2\npresence_ttl = 1.0\n\n[logging]\nformat = "json"\n')
    server = await support.ServerProcess.command(
        tmp_path, sys.executable, "-m", "pyframe", "run", "app:app", "--host", "127.0.0.1",
        "--port", "0", "--workers", "2")
    try:
        listening = await server.wait_for("server_listening", role="supervisor")
        await server.wait_for("worker_started", count=2)
        # Both workers are serving once each has logged its own server_listening.
        await server.wait_for("server_listening", count=3)
        yield server, listening[0]["url"].replace("http://", "ws://")
    finally:
        if server.proc.returncode is None:
            server.proc.send_signal(signal.SIGTERM)
            try:
                await server.exit_code(timeout=30)
            finally:
                await server.close()
        await delete_prefix(redis_url, prefix)


async def test_two_workers_share_messages_and_counts(served):
    server, base = served
    peers: list[Peer] = []
    by_pid: dict[int, list[Peer]] = defaultdict(list)
    try:
        # Connect until each worker holds at least three clients (the kernel decides who
        # accepts; the cap only bounds a very uneven spread).
        while len(by_pid) < 2 or min(len(v) for v in by_pid.values()) < 3:
            assert len(peers) < 200, f"the connections never spread: {dict(by_pid)}"
            batch = await asyncio.gather(*(Peer.open(f"{base}/ws?as=user{len(peers) + i}")
                                           for i in range(4)))
            for peer in batch:
                peers.append(peer)
                by_pid[peer.pid].append(peer)
        total = len(peers)
        (pid_a, on_a), (pid_b, on_b) = sorted(by_pid.items())
        assert pid_a != pid_b and pid_a != server.proc.pid

        odd = peers[1::2]
        await asyncio.gather(*(peer.ask("join", group="odd") for peer in odd))

        # A broadcast from worker a reaches every client on both workers.
        await on_a[0].ask("broadcast", data={"msg": "everyone"})
        for peer in peers:
            assert await peer.receive() == {"msg": "everyone"}

        # A group message from worker b reaches the group's members on both workers.
        await on_b[0].ask("group", group="odd", data={"msg": "odd ones"})
        for peer in odd:
            assert await peer.receive() == {"msg": "odd ones"}

        # User messages across: to a user on b from a, and on a from b.
        target_b, target_a = on_b[-1], on_a[-1]
        await on_a[0].ask("user", user=f"user{peers.index(target_b)}", data={"msg": "to b"})
        await on_b[0].ask("user", user=f"user{peers.index(target_a)}", data={"msg": "to a"})
        assert await target_b.receive() == {"msg": "to b"}
        assert await target_a.receive() == {"msg": "to a"}

        # A fence: nobody received anything that was not theirs.
        await on_b[1].ask("broadcast", data={"msg": "fence"})
        for peer in peers:
            assert await peer.receive() == {"msg": "fence"}

        # Counts are global, whichever worker answers.
        async def counts(peer: Peer) -> tuple[int, int]:
            answer = await peer.ask("count", group="odd")
            return answer["count"], answer["size"]

        for peer in (on_a[0], on_b[0]):
            deadline = asyncio.get_running_loop().time() + DEADLINE
            while await counts(peer) != (total, len(odd)):
                assert asyncio.get_running_loop().time() < deadline, await counts(peer)
                await asyncio.sleep(0.05)  # presence records refresh every 0.2 s

        # A worker killed outright: its connections stop counting within the lease (1 s).
        os.kill(pid_b, signal.SIGKILL)
        survivors = len(on_a)
        odd_survivors = len([p for p in odd if p.pid == pid_a])
        deadline = asyncio.get_running_loop().time() + DEADLINE
        while await counts(on_a[0]) != (survivors, odd_survivors):
            assert asyncio.get_running_loop().time() < deadline, await counts(on_a[0])
            await asyncio.sleep(0.1)
        await wait_until(lambda: server.find("worker_replaced"), what="the worker replaced")
    finally:
        await asyncio.gather(*(peer.close() for peer in peers), return_exceptions=True)
