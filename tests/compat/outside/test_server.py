"""``run()`` and ``terminate()`` (another thread, a signal handler, before listening, SIGINT to
a script), the documented attributes, and ``config`` mapped onto pyframe's server settings."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
import threading

import aiohttp
import pytest

from pyframe.compat.outside import OutsideHTTP, Response
from pyframe.compat.outside.settings import read_settings, server_section

from .support import DEADLINE, Running, running, wait_until


def hello_server():
    server = OutsideHTTP(("127.0.0.1", 0))
    server.set_route("/hello", lambda request: Response(200, {}, "hello"))
    return server


async def hello(base):
    async with aiohttp.ClientSession() as session:
        async with session.get(base + "/hello") as resp:
            return resp.status, await resp.text()


def test_the_documented_attributes():
    server = OutsideHTTP(("127.0.0.1", 0))
    assert server._terminate_process is False
    assert server._active_requests == []
    assert server._routes == {}
    assert {400, 404, 500, 503} <= set(server._error_routes)
    assert {"host", "backlog_length", "max_workers", "process_timeout"} <= set(server.config)
    assert server.config["host"] == ("127.0.0.1", 0)


async def test_terminate_from_another_thread_then_run_again():
    server = hello_server()
    for _ in range(2):  # a server that was terminated can run again
        with running(server) as r:
            assert server._terminate_process is False
            assert await hello(r.base) == (200, "hello")
            stopper = threading.Thread(target=server.terminate)
            stopper.start()
            r.thread.join(DEADLINE)
            stopper.join(DEADLINE)
            assert not r.thread.is_alive()
            assert server._terminate_process is True
    assert server.port is None and not server.ready.is_set()


def test_terminate_before_it_listens_stops_it_as_soon_as_it_does():
    server = hello_server()
    handle = Running(server)
    handle.thread.start()
    server.terminate()  # perhaps before the loop even exists
    handle.thread.join(DEADLINE)
    assert not handle.thread.is_alive(), "run() kept serving after an early terminate()"
    assert handle.error is None


def test_running_twice_at_once_is_refused():
    server = hello_server()
    with running(server):
        with pytest.raises(RuntimeError, match="already running"):
            server.run()


@pytest.mark.skipif(not hasattr(signal, "SIGUSR1"), reason="needs SIGUSR1")
def test_terminate_as_a_signal_handler():
    server = hello_server()
    previous = signal.signal(signal.SIGUSR1, server.terminate)
    try:
        handle = Running(server).start()
        os.kill(os.getpid(), signal.SIGUSR1)  # handled on this (the main) thread
        handle.thread.join(DEADLINE)
        assert not handle.thread.is_alive(), "the signal handler did not stop run()"
    finally:
        signal.signal(signal.SIGUSR1, previous)
    assert server._terminate_process is True


def test_sigint_to_a_script_drains_and_run_returns(tmp_path):
    script = tmp_path / "app.py"
    script.write_text(textwrap.dedent("""
        import sys, threading, urllib.request
        from pyframe.compat.outside import OutsideHTTP, Response

        server = OutsideHTTP(("127.0.0.1", 0))
        server.set_route("/", lambda request: Response(200, {}, "up"))

        def report():
            server.ready.wait(20)
            body = urllib.request.urlopen(f"http://127.0.0.1:{server.port}/").read()
            print("served", body.decode(), flush=True)

        threading.Thread(target=report, daemon=True).start()
        server.run()
        print("run returned", server._terminate_process, flush=True)
    """))
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYFRAME_")}
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, env=env, cwd=tmp_path, text=True)
    try:
        assert proc.stdout.readline().strip() == "served up"
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=DEADLINE)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0
    assert out.strip() == "run returned True"  # outside called sys.exit(0) in terminate


async def test_config_becomes_the_apps_server_settings():
    server = hello_server()
    server.config.update(backlog_length=7, max_workers=3, process_timeout=12,
                         termination_timeout=2, max_body_size_mb=2)
    with running(server) as r:
        settings = server.app.config.server
        assert (settings.backlog, settings.sync_workers, settings.handler_timeout,
                settings.keepalive_timeout, settings.body_timeout, settings.shutdown_timeout,
                settings.max_body_size) == (7, 3, 12, 12, 12, 2, 2 * 1024 * 1024)
        assert (settings.host, settings.port) == ("127.0.0.1", 0)
        assert await hello(r.base) == (200, "hello")


async def test_max_workers_bounds_the_handlers_running_at_once():
    server = OutsideHTTP(("127.0.0.1", 0))
    server.config["max_workers"] = 2
    release = threading.Event()
    inside: list[str] = []
    arrived: list[str] = []

    def hold(request):
        inside.append(request.url)
        release.wait(DEADLINE)
        return Response(200, {}, "done")

    async def note_arrival(context, call_next):  # pyframe middleware works on outside apps
        arrived.append(context.path)
        return await call_next(context)

    server.set_route("/", hold)
    server.app.middleware.append(note_arrival)
    with running(server) as r:
        async with aiohttp.ClientSession() as session:
            calls = [asyncio.ensure_future(session.get(f"{r.base}/{i}")) for i in range(3)]
            try:
                await asyncio.to_thread(wait_until, lambda: len(inside) == 2 and
                                        len(arrived) == 3, "two handlers and three requests")
                # All three reached the app; only two threads exist for handlers.
                assert len(inside) == 2 and len(server._active_requests) == 2
            finally:
                release.set()
            for call in calls:
                async with await call as resp:
                    assert resp.status == 200
    assert sorted(inside) == ["/0", "/1", "/2"]


def test_config_errors_name_the_key():
    with pytest.raises(ValueError, match=r"config: backlog_length: expected `int`, got `str`"):
        read_settings({"backlog_length": "50"})
    with pytest.raises(ValueError, match=r"'max_worker' is not an outside setting"):
        read_settings({"max_worker": 3})
    with pytest.raises(ValueError, match="pre_send must be a function"):
        read_settings({"pre_send": 3})
    with pytest.raises(ValueError, match="ssl_enabled needs"):
        read_settings({"ssl_enabled": True})


def test_the_mapping():
    section = server_section(read_settings({"host": ("0.0.0.0", 8080), "process_timeout": 0}))
    assert section == {"host": "0.0.0.0", "port": 8080, "backlog": 50, "sync_workers": 150,
                       "shutdown_timeout": 5.0, "max_body_size": 250 * 1024 * 1024,
                       "handler_timeout": 0.0}
