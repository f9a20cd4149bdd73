"""The reference's chat example runs unchanged, with three real clients (the websockets library)."""

from __future__ import annotations

import importlib.util
import itertools
import json
from datetime import datetime
from pathlib import Path

import pytest

from pyframe.testing import TestClient

from .support import DEADLINE, client, wait_until

SEED = Path(__file__).with_name("seed_chat.py")
_loads = itertools.count()


def load_chat():
    """A fresh copy of the example module: its own app and its own module-level manager."""
    spec = importlib.util.spec_from_file_location(f"ws_seed_chat_{next(_loads)}", SEED)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def chat(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pyframe.toml").write_text("[plugins.ws]\n")
    return load_chat()


async def test_three_clients_chat(chat, capsys):
    manager = chat.ws_manager
    async with TestClient(chat.app) as server:
        async with client(server.port, "/ws/chat") as ada, \
                client(server.port, "/ws/chat") as bob, \
                client(server.port, "/ws/chat") as cyd:
            await wait_until(lambda: manager.get_connection_count() == 3, what="3 connected")
            await ada.send(json.dumps({"user": "ada", "text": "hello"}))
            for ws in (ada, bob, cyd):
                message = json.loads(await ws.recv(DEADLINE))
                assert (message["user"], message["text"]) == ("ada", "hello")
                assert datetime.fromisoformat(message["timestamp"])
            await bob.send(json.dumps({"user": "bob", "text": "hi ada"}))
            for ws in (ada, bob, cyd):
                assert json.loads(await ws.recv(DEADLINE))["text"] == "hi ada"

            # A client that goes away: receive_json raises, the except and finally run.
            await cyd.close()
            await wait_until(lambda: manager.get_connection_count() == 2, what="cyd gone")
            await wait_until(lambda: "WebSocket error: websocket closed: 1000 client"
                             in capsys.readouterr().out, what="the handler's except path")

            # A message the handler cannot use ends that handler the same way.
            await bob.send("not json")
            await bob.wait_closed()
            assert bob.close_code == 1000
            await wait_until(lambda: manager.get_connection_count() == 1, what="bob gone")
            await ada.send(json.dumps({"user": "ada", "text": "alone"}))
            assert json.loads(await ada.recv(DEADLINE))["text"] == "alone"
