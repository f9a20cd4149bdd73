"""A slow or stuck client costs only its own connection: bounded queues, closes that are never
awaited by the sender of a broadcast, send timeouts, and messages encoded once."""

from __future__ import annotations

import asyncio
import time

import msgspec

from pyframe_ws import ConnectionOptions, encode_json, encode_text

from .frames import RawClient
from .support import DEADLINE, Hub, client, wait_until

# Small kernel buffers on both ends, so a client that stops reading blocks the server's
# writes after a few hundred kilobytes instead of several megabytes.
SERVER_SNDBUF = 16 * 1024
CLIENT_RCVBUF = 4 * 1024


class Readers:
    """Real clients that read everything, noting when each message arrived."""

    def __init__(self) -> None:
        self.arrivals: list[list[tuple[int, float]]] = []
        self.changed = asyncio.Condition()
        self.tasks: list[asyncio.Task[None]] = []

    def start(self, peer) -> None:
        log: list[tuple[int, float]] = []
        self.arrivals.append(log)

        async def read() -> None:
            async for message in peer:
                log.append((int(message.split(b" ", 1)[0] if isinstance(message, bytes)
                                 else message.split(" ", 1)[0]), time.monotonic()))
                async with self.changed:
                    self.changed.notify_all()

        self.tasks.append(asyncio.create_task(read()))

    async def wait_all_have(self, count: int) -> None:
        async with self.changed:
            await asyncio.wait_for(
                self.changed.wait_for(lambda: all(len(a) >= count for a in self.arrivals)),
                DEADLINE)

    async def stop(self) -> None:
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)


async def test_a_client_that_stops_reading_does_not_slow_the_others(serve_hub):
    hub = Hub(ConnectionOptions(send_queue_messages=64, send_timeout=60.0, close_timeout=1.0),
              send_buffer=SERVER_SNDBUF)
    port = await serve_hub(hub)
    stuck = await RawClient.connect(port, receive_buffer=CLIENT_RCVBUF)  # never reads
    readers = Readers()
    async with client(port) as a, client(port) as b, client(port) as c:
        for peer in (a, b, c):
            readers.start(peer)
        connections = await hub.wait_connections(4)
        stuck_ws = connections[0]
        padding = "x" * 4096
        rounds, worst, broadcast_time = 300, 0.0, 0.0
        for i in range(rounds):
            sent_at = time.monotonic()
            message = encode_text(f"{i} {padding}")
            for ws in list(hub.connections):
                ws.send_encoded(message)
            broadcast_time = max(broadcast_time, time.monotonic() - sent_at)
            await readers.wait_all_have(i + 1)
            worst = max(worst, max(log[i][1] for log in readers.arrivals) - sent_at)
        await readers.stop()
        # 1.2 MB went to a client that reads nothing: far more than the buffers and the queue.
        assert stuck_ws.close_reason == "slow_consumer"
        assert stuck_ws.close_code == 1008
        assert worst < 1.0, f"a reader waited {worst:.3f} s for a broadcast"
        assert broadcast_time < 0.1  # enqueueing for four clients never waited on one
        assert all([n for n, _ in log] == list(range(rounds)) for log in readers.arrivals)
        assert not any(ws.closed for ws in hub.connections[1:])
    assert await stuck.closed_by_server()  # its TCP connection was cut, not left to linger
    await stuck.aclose()
    await wait_until(lambda: hub.finished == 4)
    assert hub.counters.closes["slow_consumer"] == 1
    assert hub.counters.dropped > 0


async def test_a_client_taking_data_gets_a_burst_larger_than_the_queue(serve_hub):
    # While the socket takes data, frames go straight to it: the queue is for a client that
    # falls behind, and a burst to one that keeps up costs it nothing.
    hub = Hub(ConnectionOptions(send_queue_messages=8))
    port = await serve_hub(hub)
    async with client(port) as peer:
        ws = (await hub.wait_connections(1))[0]
        assert all(ws.send_encoded(encode_text(f"m{i}")) for i in range(50))
        assert [await peer.recv(DEADLINE) for _ in range(50)] == [f"m{i}" for i in range(50)]
    assert hub.counters.messages_out == 50 and hub.counters.dropped == 0


async def test_a_burst_to_a_stalled_client_closes_it_with_1008(serve_hub):
    hub = Hub(ConnectionOptions(send_queue_messages=8), send_buffer=SERVER_SNDBUF)
    port = await serve_hub(hub)
    stuck = await RawClient.connect(port, receive_buffer=CLIENT_RCVBUF)
    ws = (await hub.wait_connections(1))[0]
    message = encode_text("z" * 16 * 1024)
    accepted = []
    while not accepted or accepted[-1]:
        assert len(accepted) < 100, "the queue never filled"
        accepted.append(ws.send_encoded(message))
    # Some went to the socket until it held 64 KiB, then eight more waited in the queue.
    assert accepted.count(True) >= 8 and accepted[-1] is False
    await wait_until(lambda: hub.finished == 1)
    assert (ws.close_reason, ws.close_code) == ("slow_consumer", 1008)
    assert hub.counters.closes == {"slow_consumer": 1}
    assert hub.counters.dropped >= 9  # the eight queued and the one that did not fit
    assert not ws.send_encoded(encode_text("after"))
    assert await stuck.closed_by_server()
    stuck.abort()


async def test_a_write_blocked_past_send_timeout_closes_the_connection(serve_hub):
    hub = Hub(ConnectionOptions(send_queue_messages=100_000, send_queue_bytes=512 * 1024 * 1024,
                                send_timeout=0.3, close_timeout=0.5),
              send_buffer=SERVER_SNDBUF)
    port = await serve_hub(hub)
    stuck = await RawClient.connect(port, receive_buffer=CLIENT_RCVBUF)
    ws = (await hub.wait_connections(1))[0]
    message = encode_text("y" * 4096)
    for _ in range(400):  # 1.6 MB: the queue holds it all, the client takes none of it
        assert ws.send_encoded(message)
    await wait_until(lambda: hub.finished == 1, what="the send timeout")
    assert (ws.close_reason, ws.close_code) == ("send_timeout", 1008)
    assert hub.counters.closes == {"send_timeout": 1}
    assert 0 < hub.counters.messages_out < 400 and hub.counters.dropped > 0
    assert await stuck.closed_by_server()
    await stuck.aclose()


async def test_a_handlers_own_sends_wait_for_room_instead_of_failing(serve_hub):
    async def flood(ws, data):
        for i in range(2000):
            await ws.send_text(str(i))

    hub = Hub(ConnectionOptions(send_queue_messages=4), on_message=flood)
    port = await serve_hub(hub)
    async with client(port) as peer:
        await peer.send("go")
        got = [await asyncio.wait_for(peer.recv(), DEADLINE) for _ in range(2000)]
    assert got == [str(i) for i in range(2000)]
    await wait_until(lambda: hub.finished == 1)
    assert hub.counters.closes == {"client": 1} and hub.counters.dropped == 0


async def test_one_message_to_many_clients_is_encoded_once(serve_hub):
    calls = 0

    class Joined:
        pass

    def enc_hook(obj):
        nonlocal calls
        calls += 1
        return {"event": "joined"}

    hub = Hub()
    port = await serve_hub(hub)
    async with client(port) as a, client(port) as b, client(port) as c:
        connections = await hub.wait_connections(3)
        message = encode_json(Joined(), msgspec.json.Encoder(enc_hook=enc_hook).encode)
        assert all(ws.send_encoded(message) for ws in connections)
        got = [await asyncio.wait_for(peer.recv(), DEADLINE) for peer in (a, b, c)]
    assert got == ['{"event":"joined"}'] * 3
    assert calls == 1


async def test_shutdown_of_a_stuck_client_ends_within_its_bound(serve_hub):
    options = ConnectionOptions(send_timeout=0.3, close_timeout=0.3,
                                send_queue_bytes=64 * 1024 * 1024, send_queue_messages=10_000)
    hub = Hub(options, send_buffer=SERVER_SNDBUF)
    port = await serve_hub(hub)
    stuck = await RawClient.connect(port, receive_buffer=CLIENT_RCVBUF)
    ws = (await hub.wait_connections(1))[0]
    message = encode_text("z" * 4096)
    for _ in range(400):
        ws.send_encoded(message)
    loop = asyncio.get_running_loop()
    started = loop.time()
    await ws.shutdown()  # flushing first is hopeless; the send timeout cuts it short
    assert loop.time() - started < options.send_timeout + options.close_timeout + 1.0
    assert ws.close_reason == "send_timeout"
    assert await stuck.closed_by_server()
    await stuck.aclose()
