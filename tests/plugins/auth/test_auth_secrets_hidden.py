"""Secrets, tokens and session cookies never show up in logs or error pages: not in the JSON log
of a failing request (whose tracebacks carry the frames' local variables), not on the debug
traceback page, not in the refusal lines."""

import io
import json

import pytest
import structlog

from pyframe.testing import TestClient
from pyframe_auth import login

from .support import SECRET, auth_app, bearer, cookie_of, issue

pytestmark = pytest.mark.usefixtures("isolated")


@pytest.fixture
def json_log():
    """structlog set up as pyframe's ``[logging] format = "json"`` does (tracebacks as dicts,
    with the frames' locals), writing to a buffer; the previous set-up is put back after."""
    saved = structlog.get_config()
    buffer = io.StringIO()
    structlog.configure(
        processors=[structlog.processors.add_log_level,
                    structlog.processors.dict_tracebacks,
                    structlog.processors.JSONRenderer(default=str)],
        logger_factory=structlog.PrintLoggerFactory(buffer),
        cache_logger_on_first_use=False)
    yield buffer
    structlog.configure(**saved)


def failing_app(clock, **settings):
    app = auth_app(clock, exclude_paths=["/login"], **settings)

    @app.post("/login")
    async def do_login(context):
        login(context, "alice")
        return "in"

    @app.get("/boom")
    async def boom(context):
        user = context.user  # the handler's frame holds the user and the context
        raise RuntimeError(f"the handler failed for {user.id}")

    return app


def secrets_of(token, cookie):
    """Every piece that must not leak: the key, the token and its signature, the cookie and
    its signature."""
    return [SECRET, token, *token.split(".")[1:], cookie, cookie.rsplit(".", 1)[1]]


async def test_a_failing_request_logs_no_credential(clock, json_log):
    token = issue(clock)
    async with TestClient(failing_app(clock)) as client:
        async with client.post("/login") as resp:
            cookie = cookie_of(resp)
        headers = {**bearer(token), "Cookie": f"session={cookie}"}
        async with client.get("/boom", headers=headers) as resp:
            assert resp.status == 500
            body = await resp.text()
    text = json_log.getvalue()
    failed = [json.loads(line) for line in text.splitlines()
              if json.loads(line)["event"] == "request_failed"]
    assert failed and failed[0]["exception"][0]["frames"]  # a traceback, with locals, was logged
    assert any(frame.get("locals") for frame in failed[0]["exception"][0]["frames"])
    for piece in secrets_of(token, cookie):
        assert piece not in text and piece not in body
    # Not even the token's first segment: no frame alive during the handler holds the headers.
    assert token.split(".")[0] not in text and cookie[:40] not in text


@pytest.mark.parametrize("accept", ["text/html", "application/json"])
async def test_the_debug_page_shows_no_credential(clock, accept):
    token = issue(clock)
    async with TestClient(failing_app(clock, debug=True)) as client:
        async with client.post("/login") as resp:
            cookie = cookie_of(resp)
        headers = {**bearer(token), "Cookie": f"session={cookie}", "Accept": accept}
        async with client.get("/boom", headers=headers) as resp:
            assert resp.status == 500
            page = await resp.text()
    assert "RuntimeError" in page and "the handler failed for alice" in page  # it is the page
    for piece in secrets_of(token, cookie):
        assert piece not in page


async def test_refusals_and_query_tokens_are_not_logged(clock, json_log):
    token = issue(clock)
    tampered = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    async with TestClient(failing_app(clock)) as client:
        async with client.get("/boom", headers=bearer(tampered)) as resp:
            assert resp.status == 401
        async with client.get(f"/boom?token={token}",
                              headers={"Accept": "text/event-stream"}) as resp:
            assert resp.status == 500
    text = json_log.getvalue()
    assert '"auth_refused"' in text and '"request_failed"' in text  # both were logged
    # (The core's repr of a request context shows the start of its query string, cut at 80
    # characters: the token's header, never its claims or signature.)
    for piece in (token, *token.split(".")[1:], tampered, tampered.rsplit(".", 1)[1], SECRET):
        assert piece not in text
