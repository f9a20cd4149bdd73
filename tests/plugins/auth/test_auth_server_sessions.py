"""Server-side sessions over real HTTP, on the embedded backend and on the real Redis: only an
opaque id in the cookie, persistence, ids never adopted, a new id at login, logout, and idle
and absolute expiry on the injected clock."""

import uuid

import pytest
from structlog.testing import capture_logs

from pyframe.testing import TestClient
from pyframe_auth import is_session_id, new_session_id, storage_key
from pyframe_auth.middleware import AUTH

from tests.backends.support import delete_prefix

from .support import auth_app
from .test_auth_sessions_http import Jar, session_routes

pytestmark = pytest.mark.usefixtures("isolated")


@pytest.fixture(params=["memory", "redis"])
async def backend(request):
    """The session backend URL: memory://, or the real Redis under a prefix of this test's,
    whose keys are deleted afterwards."""
    if request.param == "memory":
        yield "memory://"
        return
    redis_url = request.getfixturevalue("redis_url")
    prefix = f"pftest-auth-{uuid.uuid4().hex[:12]}:"
    yield f"{redis_url}?prefix={prefix}"
    await delete_prefix(redis_url, prefix)



@pytest.fixture
async def make_client(clock, backend):
    """``await make_client(**settings)``: the session routes served with server-side sessions
    on ``backend``, stopped when the test ends."""
    clients = []

    async def start(**settings):
        settings.setdefault("require_auth", False)
        app = session_routes(auth_app(clock, session_backend=backend, **settings))
        client = TestClient(app)
        await client.__aenter__()
        clients.append(client)
        return client

    yield start
    for started in reversed(clients):
        await started.__aexit__(None, None, None)


@pytest.fixture
async def client(make_client):
    return await make_client()


async def test_only_an_opaque_id_is_in_the_cookie_and_the_data_persists(client):
    jar = Jar(client)
    for expected in (1, 2, 3):
        resp, body = await jar.call("GET", "/count")
        assert body == {"n": expected}
    assert is_session_id(jar.value) and len(jar.value) == 43  # the id, nothing else
    first = jar.value
    resp, _ = await jar.call("GET", "/count")
    assert "Set-Cookie" not in resp.headers and jar.value == first  # same id, no new cookie
    assert resp.headers["Vary"] == "Cookie"


async def test_the_session_lives_on_redis_not_in_the_process(clock, redis_url):
    # Two app instances on one Redis (two processes, or two machines): what one saved, the
    # other reads.
    prefix = f"pftest-auth-{uuid.uuid4().hex[:12]}:"
    backend = f"{redis_url}?prefix={prefix}"
    one = TestClient(session_routes(auth_app(clock, session_backend=backend,
                                             require_auth=False)))
    two = TestClient(session_routes(auth_app(clock, session_backend=backend,
                                             require_auth=False)))
    async with one, two:
        jar = Jar(one)
        await jar.call("POST", "/login", json={"user": "alice"})
        other = Jar(two)
        other.value = jar.value
        resp, body = await other.call("GET", "/me")
        assert body == {"id": "alice", "via": "session", "roles": []}
    await delete_prefix(redis_url, prefix)


async def test_an_unknown_id_is_never_adopted(client):
    planted = new_session_id()  # well formed, but no record: an attacker's choice
    jar = Jar(client)
    jar.value = planted
    with capture_logs() as logs:
        resp, body = await jar.call("GET", "/count")
    assert body == {"n": 1}
    assert jar.value != planted and is_session_id(jar.value)
    assert [e["reason"] for e in logs if e["event"] == "auth_session_refused"] == ["unknown_id"]


@pytest.mark.parametrize("value", ["short", "x" * 43 + "!", "../../etc/passwd", "a" * 4000])
async def test_a_malformed_id_is_refused_before_the_store(client, value):
    jar = Jar(client)
    jar.value = value
    with capture_logs() as logs:
        resp, body = await jar.call("GET", "/peek")
    assert body == {"keys": []}
    assert [e["reason"] for e in logs if e["event"] == "auth_session_refused"] == ["malformed"]
    assert cookie_cleared(resp)


def cookie_cleared(resp):
    return any(h.startswith("session=;") for h in resp.headers.getall("Set-Cookie", []))


async def test_login_gives_a_new_id_and_the_old_one_is_dead(client):
    jar = Jar(client)
    await jar.call("GET", "/count")
    before = jar.value
    resp, body = await jar.call("POST", "/login", json={"user": 7, "roles": ["admin"]})
    assert jar.value != before and is_session_id(jar.value)
    resp, body = await jar.call("GET", "/me")
    assert body == {"id": 7, "via": "session", "roles": ["admin"]}
    stale = Jar(client)
    stale.value = before  # what an attacker who planted or saw the old id holds
    resp, _ = await stale.call("GET", "/me")
    assert resp.status == 401


async def test_logout_deletes_the_session_server_side(client):
    jar = Jar(client)
    await jar.call("POST", "/login", json={"user": "alice"})
    copied = jar.value
    resp, _ = await jar.call("POST", "/logout")
    assert cookie_cleared(resp) and jar.value is None
    thief = Jar(client)
    thief.value = copied  # a copy of the cookie taken before the logout
    with capture_logs() as logs:
        resp, _ = await thief.call("GET", "/me")
    assert resp.status == 401
    assert [e["reason"] for e in logs if e["event"] == "auth_session_refused"] == ["unknown_id"]


async def test_idle_expiry(clock, make_client):
    jar = Jar(await make_client(session_idle_timeout=600))
    await jar.call("POST", "/login", json={"user": "alice"})
    for _ in range(3):  # used every 5 minutes: it lives on
        clock.advance(300)
        assert (await jar.call("GET", "/me"))[0].status == 200
    clock.advance(601)
    with capture_logs() as logs:
        resp, _ = await jar.call("GET", "/me")
    assert resp.status == 401
    assert [e["reason"] for e in logs if e["event"] == "auth_session_refused"] == ["expired_idle"]


async def test_absolute_expiry(clock, make_client):
    jar = Jar(await make_client(session_idle_timeout=1800, session_max_age=3600))
    resp, _ = await jar.call("POST", "/login", json={"user": "alice"})
    assert "Max-Age=3600" in resp.headers["Set-Cookie"]
    for _ in range(3):
        clock.advance(1000)
        assert (await jar.call("GET", "/count"))[0].status == 200  # busy, and saved
    clock.advance(700)
    with capture_logs() as logs:
        resp, _ = await jar.call("GET", "/me")
    assert resp.status == 401
    assert [e["reason"] for e in logs
            if e["event"] == "auth_session_refused"] == ["expired_absolute"]


async def test_the_record_is_stored_under_a_digest_of_the_id(clock, backend):
    # The id is a credential: the store's key list never shows it.
    app = session_routes(auth_app(clock, session_backend=backend, require_auth=False))
    async with TestClient(app) as client:
        jar = Jar(client)
        await jar.call("GET", "/count")
        store = app.state[AUTH].sessions.store
        assert await store.get(storage_key(jar.value)) is not None
        assert jar.value not in storage_key(jar.value)
