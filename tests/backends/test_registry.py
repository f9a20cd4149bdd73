"""The registry: one shared, reference-counted backend per URL; schemes from entry points;
errors that say what to install; URLs checked without connecting."""

from __future__ import annotations

import asyncio
import socket
import textwrap
from pathlib import Path

import pytest

from pyframe.backends import (BackendClosed, BackendError, BackendRegistry, InvalidBackendURL,
                              MemoryBackend, UnknownBackend, installed_schemes, validate_url)


@pytest.fixture
async def registry():
    reg = BackendRegistry()
    yield reg
    await reg.close()


@pytest.mark.parametrize("url", [None, "", "memory://", "memory:///"])
async def test_no_url_or_memory_is_the_embedded_backend(registry, url):
    lease = await registry.open(url)
    assert isinstance(lease.backend, MemoryBackend)
    assert lease.scheme == "memory"
    await lease.close()


async def test_one_url_is_one_shared_backend(registry):
    first = await registry.open("memory://")
    second = await registry.open("memory://")
    other = await registry.open("memory://?queue_size=5")
    assert first.backend is second.backend
    assert other.backend is not first.backend
    sub = second.broker.subscribe("t")
    await first.broker.publish("t", b"shared")  # one plugin's publish, another's subscriber
    assert await sub.get(timeout=1) == b"shared"
    assert [(h.url, h.users) for h in registry.health()] == [("memory://", 2),
                                                             ("memory://?queue_size=5", 1)]
    assert first.health().users == 2


async def test_the_last_lease_closes_the_backend(registry):
    first = await registry.open()
    second = await registry.open()
    backend = first.backend
    await first.close()
    await first.close()  # idempotent: does not give back the second lease's hold
    assert first.closed
    with pytest.raises(BackendClosed):
        first.store  # noqa: B018
    await second.store.set("k", b"still open")
    assert await second.store.get("k") == b"still open"
    await second.close()
    with pytest.raises(BackendClosed):
        await backend.store.get("k")
    assert registry.health() == []
    third = await registry.open()
    assert third.backend is not backend  # a new one, opened on first use again
    assert await third.store.get("k") is None


async def test_concurrent_first_opens_share_one_backend(registry):
    leases = await asyncio.gather(*(registry.open("memory://") for _ in range(5)))
    assert len({id(lease.backend) for lease in leases}) == 1
    assert registry.health()[0].users == 5


async def test_closing_the_registry_closes_everything(clock):
    registry = BackendRegistry()
    lease = await registry.open()
    async with await registry.open("memory://?max_keys=10") as other:
        assert other.health().up
    await registry.close()
    with pytest.raises(BackendClosed):
        await lease.store.get("k")
    with pytest.raises(BackendClosed):
        await registry.open()
    assert lease.health().up is False
    await lease.close()  # after the registry closed: harmless


@pytest.mark.parametrize("scheme", ["redis", "rediss", "unix"])
def test_a_missing_redis_backend_names_the_extra_to_install(scheme):
    registry = BackendRegistry(providers={})  # as if pyframe-redis were not installed
    with pytest.raises(UnknownBackend) as caught:
        registry.validate(f"{scheme}://:hunter2@example.invalid/0")
    message = str(caught.value)
    assert "pip install 'pyframe[redis]'" in message
    assert "installed schemes: memory" in message
    assert "hunter2" not in message and "***" in message


def test_an_unknown_scheme_lists_the_installed_ones():
    assert {"memory", "redis", "rediss", "unix"} <= set(installed_schemes())
    with pytest.raises(UnknownBackend) as caught:
        validate_url("nats://127.0.0.1:4222")
    message = str(caught.value)
    assert "no installed backend serves nats://" in message
    assert "memory, redis, rediss, unix" in message
    assert "pyframe.backends" in message


def test_validation_does_not_connect():
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        listener.setblocking(False)
        port = listener.getsockname()[1]
        url = f"redis://127.0.0.1:{port}/0?timeout=0.5"
        assert validate_url(url) == url
        with pytest.raises(BlockingIOError):
            listener.accept()  # nobody knocked


@pytest.mark.parametrize("url, fragment", [
    ("redis://127.0.0.1/0?timeout=abc", "option 'timeout'"),
    ("memory://?max_keys=0", "option 'max_keys'"),
    ("127.0.0.1:6379", "not a backend URL"),
    (5, "must be a string"),
])
def test_bad_urls_are_refused_at_validation(url, fragment):
    with pytest.raises(InvalidBackendURL, match=fragment):
        validate_url(url)  # type: ignore[arg-type]


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))


@pytest.fixture
def install(tmp_path, monkeypatch):
    """Install a distribution the way pip leaves one: metadata and modules on sys.path."""
    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.syspath_prepend(str(site))

    def make(name: str, entry_points: str, modules: dict[str, str]) -> None:
        info = site / f"{name.replace('-', '_')}-1.0.dist-info"
        write(info / "METADATA", f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
        write(info / "entry_points.txt", entry_points)
        for module, source in modules.items():
            write(site / f"{module}.py", source)
    return make


PROVIDER = """
from pyframe.backends import MemoryBackend, InvalidBackendURL

def check_url(url):
    if not url.startswith("fake://ok"):
        raise InvalidBackendURL(f"{url}: fake:// only knows 'ok'")

def create(url):
    backend = MemoryBackend(url=url)
    backend.scheme = "fake"
    return backend
"""


async def test_a_third_party_scheme_comes_from_its_entry_point(install):
    install("fake-backend", "[pyframe.backends]\nfake = fake_backend_provider\n",
            {"fake_backend_provider": PROVIDER})
    registry = BackendRegistry()
    assert "fake" in registry.schemes()
    with pytest.raises(InvalidBackendURL, match="only knows 'ok'"):
        registry.validate("fake://other")
    lease = await registry.open("fake://ok")
    assert lease.scheme == "fake"
    await registry.close()


def test_two_distributions_serving_one_scheme_is_an_error(install):
    install("fake-one", "[pyframe.backends]\nfake = fake_one\n", {"fake_one": PROVIDER})
    install("fake-two", "[pyframe.backends]\nfake = fake_two\n", {"fake_two": PROVIDER})
    with pytest.raises(BackendError, match="more than one.*fake-one, fake-two"):
        validate_url("fake://ok")


def test_a_provider_that_fails_to_import_names_its_distribution(install):
    install("broken-backend", "[pyframe.backends]\nbroken = broken_provider\n",
            {"broken_provider": "raise ImportError('needs libfoo')\n"})
    with pytest.raises(BackendError, match="broken-backend failed to load.*needs libfoo"):
        validate_url("broken://x")


def test_a_provider_without_the_two_functions_is_refused(install):
    install("empty-backend", "[pyframe.backends]\nempty = empty_provider\n",
            {"empty_provider": "VALUE = 1\n"})
    with pytest.raises(BackendError, match="has no check_url and create"):
        validate_url("empty://x")


def test_checking_a_redis_url_does_not_import_the_client():
    import subprocess
    import sys

    code = ("import sys; from pyframe.backends import validate_url; "
            "validate_url('rediss://:pw@cache.internal:6380/1?timeout=0.5'); "
            "print(sorted(m for m in sys.modules if m == 'redis' or m.startswith('redis.')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60, check=True).stdout
    assert out.strip() == "[]"
