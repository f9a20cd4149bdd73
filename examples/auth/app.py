"""A login/logout example: a form (or JSON) login checking an argon2 password hash, a page only
logged-in users see, logout, and a bearer token for API clients.

    APP_SECRET=$(python -c "import secrets; print(secrets.token_urlsafe(32))") \\
        uv run --locked --all-packages python examples/auth/app.py

then open http://127.0.0.1:8000/ and log in as ada / correct horse (or brian / hunter22).
The secret never sits in the code or a config file: the middleware reads APP_SECRET (run as a
script without it, the example makes a random one, and sessions end with the process).
"""

from __future__ import annotations

import html
import os
import secrets
from types import SimpleNamespace
from urllib.parse import quote

from pyframe import HTMLResponse, JSONResponse, PyFrameApp, RedirectResponse
from pyframe.middleware import AuthMiddleware
from pyframe_auth import hash_password, issue_token, login, logout, verify_password

# A stand-in for a users table: argon2 hashes, never passwords. Hashing is slow on purpose
# (tens of milliseconds), which is why the login handlers below are plain `def` functions:
# pyframe runs those in its thread pool, off the event loop.
USERS = {
    "ada": SimpleNamespace(id=1, name="Ada Lovelace", roles=["admin"],
                           password_hash=hash_password("correct horse")),
    "brian": SimpleNamespace(id=2, name="Brian Kernighan", roles=[],
                             password_hash=hash_password("hunter22")),
}
BY_ID = {user.id: user for user in USERS.values()}


def load_user(context, identity):
    """The user behind a session (login() stored the id) or a token (claims, "sub" a str)."""
    if isinstance(identity, dict):
        sub = identity.get("sub", "")
        identity = int(sub) if sub.isdigit() else None
    return BY_ID.get(identity)


def page(title: str, body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(f"<!doctype html><html><head><meta charset=utf-8><title>{title}</title>"
                        f"</head><body><h1>{title}</h1>{body}</body></html>", status=status)


LOGIN_FORM = """<form method=post action=/login>
<label>User <input name=username autocomplete=username></label>
<label>Password <input name=password type=password autocomplete=current-password></label>
<input type=hidden name=next value="{next}"><button>Log in</button></form>"""
LOGOUT_FORM = "<form method=post action=/logout><button>Log out</button></form>"


def _local(target: str) -> str:
    # Only paths of this site: "next" must not send anyone elsewhere after the login.
    return target if target.startswith("/") and not target.startswith("//") else "/account"


def _check(username: str, password: str):
    user = USERS.get(username)
    # verify_password spends the same time when the user does not exist.
    ok = verify_password(password, user.password_hash if user else None)
    return user if ok else None


def create_app() -> PyFrameApp:
    """The example app; a factory, so each test gets a fresh one (``pyframe run`` takes a
    factory too)."""
    app = PyFrameApp()
    app.middleware.append(AuthMiddleware(
        secret_key_env="APP_SECRET",
        # "/" is the home page alone; "/login" and "/api/token" take credentials instead.
        exclude_paths=["/", "/login", "/api/token"],
        # Behind a TLS proxy, say so: the cookie is then Secure (and may be __Host- named).
        session_cookie={"secure": os.environ.get("APP_BEHIND_TLS") == "1"},
        user_loader=load_user,
    ))

    @app.get("/")
    async def home(context):
        user = context.user
        if user is None:
            target = _local(context.query_params.get("next", "/account"))
            return page("Welcome", LOGIN_FORM.format(next=html.escape(target)))
        return page("Welcome", f"<p>Logged in as {html.escape(user.name)}. "
                               f"<a href=/account>Your account</a></p>{LOGOUT_FORM}")

    @app.post("/login")
    def login_form(context):  # sync: argon2 runs in the thread pool, off the event loop
        as_json = context.is_json()
        data = (context.json or {}) if as_json else context.form
        user = _check(str(data.get("username", "")), str(data.get("password", "")))
        if user is None:
            if as_json:
                return JSONResponse({"error": "invalid_credentials"}, status=401)
            return page("Login failed", "<p>Wrong user name or password.</p>"
                                        + LOGIN_FORM.format(next="/account"), status=401)
        login(context, user)  # a new session: an id the browser had before is worth nothing
        if as_json:
            return {"user": user.name}
        return RedirectResponse(_local(str(data.get("next", "/account"))), status=303)

    @app.get("/account")
    async def account(context):
        user = context.user  # never None here: the middleware let only logged-in users in
        return page("Your account", f"<p>Hello, {html.escape(user.name)} (user {user.id}).</p>"
                                    f"{LOGOUT_FORM}")

    @app.post("/logout")
    async def do_logout(context):
        logout(context)
        return RedirectResponse("/", status=303)

    @app.get("/api/me")
    async def me(context):
        return {"id": context.user.id, "name": context.user.name}

    @app.post("/api/token")
    def token(context):  # sync: argon2 again
        data = context.json or {}
        user = _check(str(data.get("username", "")), str(data.get("password", "")))
        if user is None:
            return JSONResponse({"error": "invalid_credentials"}, status=401)
        return {"access_token": issue_token(context, user.id, expires_in=900),
                "token_type": "Bearer", "expires_in": 900}

    def unauthenticated(context, error):
        # Browsers asking for a page go to the login form; API clients get the 401 as it is.
        if "text/html" in context.get_header("Accept", ""):
            return RedirectResponse(f"/?next={quote(context.path)}", status=303)
        return JSONResponse({"error": error.reason, "detail": error.detail}, status=401)

    app.set_errorhandler(401, unauthenticated)
    return app


app = create_app()

if __name__ == "__main__":
    if not os.environ.get("APP_SECRET"):
        # Only for trying it out: sessions and tokens then end with the process.
        print("APP_SECRET is not set: using a random one for this run")
        os.environ["APP_SECRET"] = secrets.token_urlsafe(32)
    app.run(port=8000)
