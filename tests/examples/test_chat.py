"""examples/chat: its page in headless Chromium with two tabs (rooms, messages, head counts),
and its WebSocket protocol with plain clients."""

from __future__ import annotations

import asyncio
import importlib.util
import itertools
import json
from pathlib import Path

import pytest

from pyframe.testing import TestClient

CHAT = Path(__file__).parents[2] / "examples" / "chat" / "app.py"
DEADLINE = 10.0
_loads = itertools.count()


@pytest.fixture
def chat(monkeypatch):
    """A fresh copy of the example (its own app and manager), on the embedded backend."""
    monkeypatch.delenv("PYFRAME_PLUGINS__WS__BACKEND", raising=False)
    spec = importlib.util.spec_from_file_location(f"chat_example_{next(_loads)}", CHAT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def text_of(element_id: str) -> str:
    return f"document.getElementById({element_id!r}).textContent"


async def join(page, name: str, room: str) -> None:
    await page.evaluate(f"""(() => {{
        document.getElementById('name').value = {name!r};
        document.getElementById('room').value = {room!r};
        document.querySelector('#join button').click(); }})()""")
    await page.wait_for(f"{text_of('room-name')} === {room!r}", what=f"{name} in {room}")


async def say(page, text: str) -> None:
    await page.evaluate(f"""(() => {{
        document.getElementById('text').value = {text!r};
        document.querySelector('#say button').click(); }})()""")


def log_has(text: str) -> str:
    return f"[...document.querySelectorAll('#log li')].some(li => li.textContent.includes({text!r}))"


async def test_two_tabs_chat_in_rooms_with_live_counts(browser, chat):
    async with TestClient(chat.app) as server:
        ada = await browser.open(server.url("/"))
        await ada.wait_for(f"{text_of('status')} === 'connected'", what="ada connected")
        await join(ada, "ada", "general")
        bob = await browser.open(server.url("/"))
        await bob.wait_for(f"{text_of('status')} === 'connected'", what="bob connected")
        await join(bob, "bob", "general")
        for page in (ada, bob):
            await page.wait_for(f"{text_of('online')} === '2' && {text_of('in-room')} === '2'",
                                what="two online, two in general")

        await say(ada, "hello from ada")
        for page in (ada, bob):
            await page.wait_for(log_has("hello from ada"), what="ada's message")

        # bob moves to another room: general's count drops, and what he says there stays there.
        await join(bob, "bob", "quiet")
        await ada.wait_for(f"{text_of('in-room')} === '1'", what="general down to one")
        await say(bob, "only in quiet")
        await bob.wait_for(log_has("only in quiet"), what="bob's own message")
        await join(bob, "bob", "general")
        await say(bob, "back in general")
        await ada.wait_for(log_has("back in general"), what="bob back")
        assert not await ada.evaluate(log_has("only in quiet"))
        # Markup from another user is shown as text, never run.
        await say(bob, "<img src=x onerror=alert(1)>")
        await ada.wait_for(log_has("<img src=x onerror=alert(1)>"), what="the markup as text")
        assert await ada.evaluate("document.querySelectorAll('#log img').length") == 0


async def test_the_protocol_with_plain_clients(chat):
    from websockets.asyncio.client import connect

    async def messages(ws, kind, **expected):
        """The next message of ``kind`` with the ``expected`` fields (counts come often)."""
        while True:
            message = json.loads(await asyncio.wait_for(ws.recv(), DEADLINE))
            if message["type"] == kind and all(message.get(k) == v for k, v in expected.items()):
                return message

    async with TestClient(chat.app) as server:
        url = server.url("/ws/chat").replace("http://", "ws://")
        async with connect(f"{url}?name=ada", proxy=None) as ada, \
                connect(f"{url}?name=%20%20bob%20%20", proxy=None) as bob:
            assert (await messages(bob, "hello"))["name"] == "bob"
            for ws in (ada, bob):
                await ws.send(json.dumps({"type": "join", "room": "r1"}))
                await messages(ws, "joined")
            await bob.send("not json")  # ignored, the connection stays
            await bob.send(json.dumps({"type": "join", "room": "Not A Room!"}))  # ignored
            await ada.send(json.dumps({"type": "say", "text": "hi"}))
            got = await messages(bob, "message")
            assert (got["user"], got["text"], got["room"]) == ("ada", "hi", "r1")
            presence = await messages(ada, "presence", in_room=2)
            assert presence["online"] == 2 and presence["room"] == "r1"
