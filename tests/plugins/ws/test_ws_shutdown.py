"""SIGTERM: every open WebSocket gets close 1001 within the drain period, then the server exits 0.

``pyframe run`` in a child process, as in production; one worker and two, since a worker's
drain is started by its supervisor.
"""

from __future__ import annotations

import asyncio
import shutil
import signal
import sys
from pathlib import Path

import pytest

from .support import DEADLINE, Peer, load_module

HERE = Path(__file__).parent
SERVER_SUPPORT = HERE.parents[1] / "server" / "support.py"
pytestmark = pytest.mark.timeout(90)


@pytest.mark.parametrize("workers", ["1", "2"])
async def test_sigterm_closes_open_websockets_with_1001(tmp_path, workers):
    support = load_module(SERVER_SUPPORT, "ws_shutdown_support")
    shutil.copy(HERE / "command_app.py", tmp_path / "app.py")
    # A drain period far shorter than the heartbeat: the 1001 must come from the drain.
    (tmp_path / "pyframe.toml").write_text('[server]\nshutdown_timeout = 8.0\n\n[plugins.ws]\n'
                                           '\n[logging]\nformat = "json"\n')
    server = await support.ServerProcess.command(
        tmp_path, sys.executable, "-m", "pyframe", "run", "app:app", "--host", "127.0.0.1",
        "--port", "0", "--workers", workers)
    try:
        url = (await server.wait_for("server_listening", count=1 if workers == "1" else 3)
               )[0]["url"].replace("http://", "ws://")
        peers = [await Peer.open(f"{url}/ws") for _ in range(4)]
        loop = asyncio.get_running_loop()
        started = loop.time()
        server.proc.send_signal(signal.SIGTERM)
        for peer in peers:
            await asyncio.wait_for(peer.ws.wait_closed(), DEADLINE)
            assert peer.ws.close_code == 1001
        closed_after = loop.time() - started
        assert await server.exit_code(timeout=DEADLINE) == 0
        assert closed_after < 8.0  # within the drain period
        assert server.find("ws_draining")
    finally:
        await server.close()
