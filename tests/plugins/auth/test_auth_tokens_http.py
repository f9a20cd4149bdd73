"""Bearer tokens over real HTTP: what passes, what is refused, and that every refusal looks alike
from outside (status, ``WWW-Authenticate`` and body) while the log says why."""

import hashlib
import hmac
import json

import jwt
import pytest
from structlog.testing import capture_logs

from pyframe import PyFrameApp
from pyframe.testing import TestClient
from pyframe_auth import AuthPlugin

from .support import (NOW, OLD_SECRET, SECRET, auth_app, b64, bearer, issue, private_pem,
                      public_pem, raw_token)

pytestmark = pytest.mark.usefixtures("isolated")

INVALID = {"error": "invalid_token", "detail": "The access token is invalid."}
CHALLENGE = 'Bearer error="invalid_token", error_description="The access token is invalid."'


def routes(app):
    @app.get("/me")
    async def me(context):
        user = context.user
        return {"id": user.id, "via": user.via, "claims": dict(user.claims),
                "roles": sorted(user.roles)}

    return app


def claims(**extra):
    return {"sub": "alice", "iat": int(NOW), "exp": int(NOW) + 600, **extra}


def hs256(payload, secret=SECRET, **header):
    return jwt.encode(payload, secret, algorithm="HS256", headers=header or None)


def hmac_signed_with(key: bytes, payload):
    """An HS256 token whose HMAC key is ``key``: PyJWT refuses to make one with a PEM key."""
    signing_input = (f"{b64(json.dumps({'alg': 'HS256', 'typ': 'JWT'}).encode())}."
                     f"{b64(json.dumps(payload).encode())}")
    signature = hmac.new(key, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(signature)}"


async def get_me(client, token):
    async with client.get("/me", headers=bearer(token)) as resp:
        return resp.status, resp.headers.get("WWW-Authenticate"), await resp.json()


async def test_a_valid_token_authenticates(clock):
    async with TestClient(routes(auth_app(clock))) as client:
        token = issue(clock, "alice", roles=["admin"], email="a@example.com")
        status, challenge, body = await get_me(client, token)
    assert status == 200 and challenge is None
    assert body["id"] == "alice" and body["via"] == "token"
    assert body["claims"]["email"] == "a@example.com" and body["roles"] == ["admin"]


async def test_no_credential_is_asked_for_without_an_error_code(clock):
    async with TestClient(routes(auth_app(clock, realm="api"))) as client:
        async with client.get("/me") as resp:
            assert resp.status == 401
            assert resp.headers["WWW-Authenticate"] == 'Bearer realm="api"'
            assert await resp.json() == {"error": "unauthorized",
                                         "detail": "Authentication is required."}


@pytest.mark.parametrize("header", ["Bearer", "Bearer ", "Bearer a b", "Bearer ~~~%%%"])
async def test_a_malformed_header_is_a_bad_request(clock, header):
    async with TestClient(routes(auth_app(clock))) as client:
        async with client.get("/me", headers={"Authorization": header}) as resp:
            assert resp.status == 400
            assert 'error="invalid_request"' in resp.headers["WWW-Authenticate"]
            assert (await resp.json())["error"] == "invalid_request"


async def test_another_scheme_is_no_credential(clock):
    async with TestClient(routes(auth_app(clock))) as client:
        async with client.get("/me", headers={"Authorization": "Basic YTpi"}) as resp:
            assert resp.status == 401 and resp.headers["WWW-Authenticate"] == "Bearer"


def forged_tokens(clock, rsa_private):
    """(name, token, the reason the log must give) for every way a token can be wrong."""
    rsa_token = jwt.encode(claims(), private_pem(rsa_private), algorithm="RS256")
    confused = hmac_signed_with(public_pem(rsa_private), claims())
    good = issue(clock)
    return [
        ("expired", hs256(claims(exp=int(NOW) - 60)), "expired"),
        ("not yet valid", hs256(claims(nbf=int(NOW) + 60)), "not_yet_valid"),
        ("issued in the future", hs256(claims(iat=int(NOW) + 600)), "issued_in_future"),
        ("no exp", hs256({"sub": "alice"}), "missing_claim"),
        ("no sub", hs256({"exp": int(NOW) + 600}), "missing_claim"),
        ("wrong signature", hs256(claims(), secret="x" * 43), "bad_signature"),
        ("tampered payload", good.split(".")[0] + "." + b64(json.dumps(
            claims(sub="admin")).encode()) + "." + good.split(".")[2], "bad_signature"),
        ("alg none", raw_token({"alg": "none", "typ": "JWT"}, claims()),
         "algorithm_not_allowed"),
        ("alg None", raw_token({"alg": "None"}, claims()), "algorithm_not_allowed"),
        ("RS256 where HS256 is configured", rsa_token, "algorithm_not_allowed"),
        ("unknown kid", hs256(claims(), kid="someone-else"), "unknown_kid"),
        ("crit header", hs256(claims(), crit=["exp"]), "unsupported_critical"),
        ("not a JWT", "abc.def.ghi", "malformed_token"),
        ("key confusion (HMAC with the RSA public key)", confused, "bad_signature"),
    ]


async def test_every_bad_token_gets_the_same_answer(clock, rsa_private):
    async with TestClient(routes(auth_app(clock))) as client:
        for name, token, reason in forged_tokens(clock, rsa_private):
            with capture_logs() as logs:
                status, challenge, body = await get_me(client, token)
            assert (status, challenge, body) == (401, CHALLENGE, INVALID), name
            refused = [e for e in logs if e["event"] == "auth_refused"]
            assert [e["reason"] for e in refused] == [reason], name
            assert all(token not in repr(e) for e in logs), name


async def test_key_confusion_against_an_rs256_app(clock, rsa_private, tmp_path):
    # The classic attack: the server's RSA public key used as an HS256 secret.
    (tmp_path / "public.pem").write_bytes(public_pem(rsa_private))
    app = PyFrameApp()
    app.plugins.register(AuthPlugin(clock=clock), "auth", algorithms=["RS256"],
                         public_keys=[str(tmp_path / "public.pem")], sessions=False)
    routes(app)
    forged = hmac_signed_with(public_pem(rsa_private), claims())
    genuine = jwt.encode(claims(), private_pem(rsa_private), algorithm="RS256")
    async with TestClient(app) as client:
        assert (await get_me(client, forged))[:2] == (401, CHALLENGE)
        assert (await get_me(client, genuine))[0] == 200


@pytest.mark.parametrize("settings, token_claims, ok", [
    ({"issuer": "https://id.example"}, {"iss": "https://id.example"}, True),
    ({"issuer": "https://id.example"}, {"iss": "https://id.example.evil"}, False),
    ({"issuer": "https://id.example"}, {}, False),
    ({"audience": "api"}, {"aud": ["web", "api"]}, True),
    ({"audience": "api"}, {"aud": "apiX"}, False),
    ({}, {"aud": "someone-else"}, False),
    ({"required_claims": ["tenant"]}, {}, False),
    ({"required_claims": ["tenant"]}, {"tenant": "t1"}, True),
])
async def test_issuer_audience_and_required_claims(clock, settings, token_claims, ok):
    async with TestClient(routes(auth_app(clock, **settings))) as client:
        status, _, _ = await get_me(client, hs256(claims(**token_claims)))
    assert status == (200 if ok else 401)


async def test_leeway_absorbs_small_clock_skew(clock):
    async with TestClient(routes(auth_app(clock, leeway=30))) as client:
        assert (await get_me(client, hs256(claims(exp=int(NOW) - 20))))[0] == 200
        assert (await get_me(client, hs256(claims(exp=int(NOW) - 40))))[0] == 401


async def test_rotation_the_newest_key_signs_every_key_verifies(clock):
    app = routes(auth_app(clock, secret_key=[SECRET, OLD_SECRET]))

    @app.get("/token")
    async def token(context):
        from pyframe_auth import issue_token

        return {"token": issue_token(context, "bob", claims={"roles": ["editor"]})}

    async with TestClient(app) as client:
        old_token = issue(clock, "carol", secret=OLD_SECRET)
        assert (await get_me(client, old_token))[0] == 200
        async with client.get("/token", headers=bearer(old_token)) as resp:
            fresh = (await resp.json())["token"]
        assert jwt.decode(fresh, SECRET, algorithms=["HS256"], options={"verify_exp": False,
                          "verify_iat": False})["sub"] == "bob"
        with pytest.raises(jwt.InvalidSignatureError):
            jwt.decode(fresh, OLD_SECRET, algorithms=["HS256"])
        status, _, body = await get_me(client, fresh)
        assert status == 200 and body["roles"] == ["editor"]


async def test_a_remembered_token_still_expires(clock):
    # The second request is served from the verified-token cache; time still counts.
    async with TestClient(routes(auth_app(clock))) as client:
        token = issue(clock, expires_in=60)
        assert (await get_me(client, token))[0] == 200
        assert (await get_me(client, token))[0] == 200
        clock.advance(120)
        with capture_logs() as logs:
            assert (await get_me(client, token))[:2] == (401, CHALLENGE)
        assert [e["reason"] for e in logs if e["event"] == "auth_refused"] == ["expired"]


async def test_an_oversized_token_is_refused_without_parsing(clock, tmp_path):
    config = tmp_path / "big-headers.toml"
    config.write_text("[server]\nmax_field_size = 20000\n")  # let it reach the plugin
    async with TestClient(routes(auth_app(clock, config=str(config)))) as client:
        with capture_logs() as logs:
            status, _, body = await get_me(client, "a" * 9000)
    assert status == 401 and body == INVALID
    assert [e["reason"] for e in logs if e["event"] == "auth_refused"] == ["token_too_long"]


async def test_a_bad_token_on_an_open_path_is_ignored(clock):
    app = routes(auth_app(clock, exclude_paths=["/public"]))
    app.get("/public")(lambda context: {"user": context.user and context.user.id})
    async with TestClient(app) as client:
        async with client.get("/public", headers=bearer("abc.def.ghi")) as resp:
            assert resp.status == 200 and await resp.json() == {"user": None}
        async with client.get("/public", headers=bearer(issue(clock))) as resp:
            assert await resp.json() == {"user": "alice"}  # a good one still identifies


async def test_the_query_token_is_only_for_handshakes(clock):
    app = routes(auth_app(clock))
    token = issue(clock)
    async with TestClient(app) as client:
        async with client.get(f"/me?token={token}") as resp:
            assert resp.status == 401  # a plain GET: tokens in URLs leak into histories
        async with client.get(f"/me?token={token}",
                              headers={"Accept": "text/event-stream"}) as resp:
            assert resp.status == 200 and (await resp.json())["id"] == "alice"
        async with client.post(f"/me?token={token}",
                               headers={"Accept": "text/event-stream"}) as resp:
            assert resp.status == 401  # a handshake is a GET


async def test_the_query_token_can_be_switched_off(clock):
    app = routes(auth_app(clock, query_token=False))
    async with TestClient(app) as client:
        async with client.get(f"/me?token={issue(clock)}",
                              headers={"Accept": "text/event-stream"}) as resp:
            assert resp.status == 401
