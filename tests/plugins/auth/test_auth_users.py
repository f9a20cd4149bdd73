"""``context.user`` over real HTTP: the default user object, loaders (the ``pyframe_load_user``
hook, ``@user_loader(app)``, ``AuthMiddleware(user_loader=...)``, ``@plugin.user_loader``), and
the ``login_required`` / ``roles_required`` / ``scopes_required`` guards."""

import asyncio
from dataclasses import dataclass

import pytest
from structlog.testing import capture_logs

from pyframe import PyFrameApp, hookimpl
from pyframe.testing import TestClient
from pyframe_auth import (AuthMiddleware, AuthPlugin, AuthUser, login, login_required,
                          roles_required, scopes_required, user_loader)

from .support import SECRET, auth_app, bearer, cookie_of, issue

pytestmark = pytest.mark.usefixtures("isolated")


@dataclass
class User:
    id: int
    name: str
    roles: tuple = ()


USERS = {"7": User(7, "Ada", ("admin",)), "8": User(8, "Brian")}


def who(app):
    @app.get("/me")
    async def me(context):
        user = context.user
        return {"type": type(user).__name__, "id": user.id,
                "name": getattr(user, "name", None)}

    return app


async def me(client, token):
    async with client.get("/me", headers=bearer(token)) as resp:
        return resp.status, await resp.json()


async def test_without_a_loader_the_user_is_the_token(clock):
    async with TestClient(who(auth_app(clock))) as client:
        status, body = await me(client, issue(clock, "7"))
    assert (status, body) == (200, {"type": "AuthUser", "id": "7", "name": None})


def test_the_default_user_reads_claims_and_shows_only_its_id():
    user = AuthUser("7", {"sub": "7", "email": "ada@example.com", "roles": ["admin", "ops"],
                          "scope": "read write", "scp": ["admin:all"]}, "token")
    assert user["email"] == "ada@example.com" and user.get("missing", 1) == 1
    assert user.roles == {"admin", "ops"} and user.scopes == {"read", "write", "admin:all"}
    assert repr(user) == "AuthUser(id='7', via='token')"
    with pytest.raises(TypeError):
        user.claims["email"] = "x"  # read-only


class AsyncLoader:
    """A plugin that loads users, the async way the hook allows."""

    def __init__(self):
        self.seen = []

    @hookimpl
    async def pyframe_load_user(self, app, context, identity):
        self.seen.append(identity)
        await asyncio.sleep(0)  # as a database call would
        key = identity["sub"] if isinstance(identity, dict) else str(identity)
        return USERS.get(key)


class SyncLoader:
    @hookimpl
    def pyframe_load_user(self, identity):
        return None  # knows no one: the next answer wins


async def test_the_hook_loads_the_user(clock):
    loader = AsyncLoader()
    app = who(auth_app(clock))
    app.plugins.register(loader, "users")
    app.plugins.register(SyncLoader(), "nobody")
    async with TestClient(app) as client:
        assert await me(client, issue(clock, "7")) == (200, {"type": "User", "id": 7,
                                                             "name": "Ada"})
        status, body = await me(client, issue(clock, "99"))  # a user who no longer exists
        assert status == 401 and body["error"] == "invalid_token"
    assert [seen["sub"] for seen in loader.seen] == ["7", "99"]


async def test_the_hook_gets_the_session_user_id(clock):
    loader = AsyncLoader()
    app = who(auth_app(clock, exclude_paths=["/login"]))
    app.plugins.register(loader, "users")

    @app.post("/login")
    async def do_login(context):
        login(context, USERS["8"])
        return {"id": context.user.id}

    async with TestClient(app) as client:
        async with client.post("/login") as resp:
            cookie = cookie_of(resp)
        async with client.get("/me", headers={"Cookie": f"session={cookie}"}) as resp:
            assert await resp.json() == {"type": "User", "id": 8, "name": "Brian"}
    assert loader.seen == [8]


async def test_an_app_loader_without_a_plugin(clock):
    app = who(auth_app(clock))

    @user_loader(app)
    def load(context, identity):
        return USERS.get(identity["sub"])

    async with TestClient(app) as client:
        assert (await me(client, issue(clock, "8")))[1]["name"] == "Brian"


async def test_the_middleware_takes_a_loader(clock):
    async def load(context, identity):
        return User(int(identity["sub"]), "from the middleware's loader")

    app = who(PyFrameApp())
    app.middleware.append(AuthMiddleware(secret_key=SECRET, user_loader=load, clock=clock))
    async with TestClient(app) as client:
        assert (await me(client, issue(clock, "5")))[1] == {
            "type": "User", "id": 5, "name": "from the middleware's loader"}


async def test_the_plugin_object_takes_a_loader(clock):
    app = who(PyFrameApp())
    plugin = AuthPlugin(clock=clock)

    @plugin.user_loader
    def load(context, identity):
        return USERS["7"]

    app.plugins.register(plugin, "auth", secret_key=SECRET)
    async with TestClient(app) as client:
        assert (await me(client, issue(clock, "anyone")))[1]["name"] == "Ada"


@pytest.mark.parametrize("loaded", [{"id": 5}, User(None, "no id"), User(True, "a bool"),
                                    User(1.5, "a float")])
async def test_a_user_without_a_usable_id_is_an_error_not_a_user(clock, loaded):
    app = who(auth_app(clock))
    user_loader(app)(lambda context, identity: loaded)
    with capture_logs() as logs:
        async with TestClient(app) as client:
            async with client.get("/me", headers=bearer(issue(clock))) as resp:
                assert resp.status == 500  # the loader is wrong: say so, never let it through
    failed = [e for e in logs if e["event"] == "request_failed"]
    assert "context.user.id must be a str or an int" in str(failed[0]["exc_info"])


def guarded(app):
    @app.get("/account")
    @login_required
    async def account(context):
        return {"id": context.user.id}

    @app.get("/admin")
    @roles_required("admin")
    def admin(context):  # a sync handler stays sync
        return {"admin": context.user.id}

    @app.get("/staff")
    @roles_required("admin", "ops", any_of=True)
    async def staff(context):
        return "staff"

    @app.get("/reports")
    @scopes_required("reports:read")
    async def reports(context):
        return "reports"

    return app


@pytest.mark.parametrize("path, claims, status", [
    ("/account", None, 401),
    ("/account", {}, 200),
    ("/admin", {"roles": ["admin"]}, 200),
    ("/admin", {"roles": ["editor"]}, 403),
    ("/admin", {}, 403),
    ("/staff", {"roles": ["ops"]}, 200),
    ("/staff", {"roles": ["guest"]}, 403),
    ("/reports", {"scope": "reports:read reports:write"}, 200),
    ("/reports", {"scp": ["reports:read"]}, 200),
    ("/reports", {"scope": "reports:write"}, 403),
])
async def test_guards(clock, path, claims, status):
    app = guarded(auth_app(clock, require_auth=False))
    headers = bearer(issue(clock, **claims)) if claims is not None else {}
    async with TestClient(app) as client:
        async with client.get(path, headers=headers) as resp:
            assert resp.status == status
            body = await resp.json() if resp.content_type == "application/json" else None
            if status == 401:
                assert resp.headers["WWW-Authenticate"] == "Bearer"
                assert body == {"error": "unauthorized", "detail": "Authentication is required."}
            if status == 403 and path == "/reports":
                assert resp.headers["WWW-Authenticate"].startswith(
                    'Bearer scope="reports:read", error="insufficient_scope"')
                assert body["error"] == "insufficient_scope"
            elif status == 403:
                # The same answer whichever role was missing.
                assert body == {"error": "forbidden",
                                "detail": "You are not allowed to access this resource."}
                assert "WWW-Authenticate" not in resp.headers


async def test_guards_read_roles_of_loaded_users(clock):
    app = guarded(auth_app(clock, require_auth=False))
    user_loader(app)(lambda context, identity: USERS.get(identity["sub"]))
    async with TestClient(app) as client:
        async with client.get("/admin", headers=bearer(issue(clock, "7"))) as resp:
            assert resp.status == 200
        async with client.get("/admin", headers=bearer(issue(clock, "8"))) as resp:
            assert resp.status == 403


async def test_an_app_error_handler_answers_auth_errors(clock):
    from pyframe import RedirectResponse

    app = guarded(auth_app(clock, require_auth=False))
    app.set_errorhandler(401, lambda context, error: RedirectResponse("/login"))
    async with TestClient(app) as client:
        async with client.get("/account", allow_redirects=False) as resp:
            assert resp.status == 302 and resp.headers["Location"] == "/login"


def test_guard_misuse_is_caught_at_once():
    with pytest.raises(ValueError, match=r"roles_required\(\) takes one or more names"):
        roles_required(lambda context: None)
    with pytest.raises(ValueError, match=r"scopes_required\(\) takes one or more names"):
        scopes_required()
