"""Client keys: address (the default), user, API-key header, function, and what may be logged."""

from __future__ import annotations

import hashlib
from ipaddress import ip_address
from types import SimpleNamespace

import pytest

from pyframe_ratelimit import (AddressKey, FunctionKey, HeaderKey, TrustedProxies, UserKey,
                               build_key_func, parse_key_spec)
from pyframe_ratelimit.keys import address_label, loggable, storage_tag

BEHIND_PROXY = AddressKey(TrustedProxies(["10.0.0.0/8"]))


def test_the_default_key_is_the_peer_and_ignores_forwarding_headers(tools):
    key = AddressKey()
    assert key(tools.context("203.0.113.9")) == "ip:203.0.113.9"
    spoofed = tools.context("203.0.113.9", {"X-Forwarded-For": "198.51.100.1",
                                           "Forwarded": "for=198.51.100.2"})
    assert key(spoofed) == "ip:203.0.113.9"


def test_a_spoofed_x_forwarded_for_from_an_untrusted_peer_keeps_its_key(tools):
    honest = tools.context("203.0.113.9")
    for fake in ("198.51.100.1", "10.0.0.1", "198.51.100.1, 10.0.0.2", "garbage"):
        assert BEHIND_PROXY(tools.context("203.0.113.9", {"X-Forwarded-For": fake})) == \
            BEHIND_PROXY(honest)


def test_behind_a_trusted_proxy_the_client_gets_its_own_key(tools):
    ctx = tools.context("10.0.0.5", [("X-Forwarded-For", "1.2.3.4"),
                                     ("X-Forwarded-For", "203.0.113.9")])
    assert BEHIND_PROXY(ctx) == "ip:203.0.113.9"
    # Only the configured header is read, so a header the proxy passes through is ignored.
    ctx = tools.context("10.0.0.5", {"Forwarded": "for=203.0.113.9"})
    assert BEHIND_PROXY(ctx) == "ip:10.0.0.5"
    forwarded = AddressKey(TrustedProxies(["10.0.0.0/8"]), header="Forwarded")
    assert forwarded(ctx) == "ip:203.0.113.9"


def test_ipv6_clients_share_a_key_per_64_by_default(tools):
    key = AddressKey()
    a = key(tools.context("2001:db8:1:2::1"))
    b = key(tools.context("2001:db8:1:2:ffff::9"))
    assert a == b == "ip:2001:db8:1:2::/64"
    assert key(tools.context("2001:db8:1:3::1")) != a
    exact = AddressKey(ipv6_prefix=128)
    assert exact(tools.context("2001:db8:1:2::1")) == "ip:2001:db8:1:2::1"
    assert key(tools.context("::ffff:203.0.113.9")) == "ip:203.0.113.9"


def test_address_label():
    assert address_label(None) == "ip:unknown"
    assert address_label(ip_address("2001:db8::1"), 48) == "ip:2001:db8::/48"


@pytest.mark.parametrize("kwargs, message", [
    ({"header": "X-Real-IP"}, "forwarded header must be one of"),
    ({"ipv6_prefix": 0}, "ipv6_prefix"),
    ({"ipv6_prefix": 129}, "ipv6_prefix"),
])
def test_address_key_options_are_checked(kwargs, message):
    with pytest.raises(ValueError, match=message):
        AddressKey(**kwargs)


def test_user_key_uses_the_id_and_falls_back_for_anonymous_requests(tools):
    key = UserKey(AddressKey())
    assert key(tools.context(user=SimpleNamespace(id=42))) == "user:42"
    assert key(tools.context(user={"id": "alice"})) == "user:alice"
    assert key(tools.context("203.0.113.9")) == "ip:203.0.113.9"
    assert key(tools.context("203.0.113.9", user=SimpleNamespace(id=None))) == "ip:203.0.113.9"
    assert key(tools.context("203.0.113.9", user=SimpleNamespace())) == "ip:203.0.113.9"


def test_api_key_header_is_hashed_and_never_kept(tools):
    key = HeaderKey("X-API-Key", AddressKey())
    secret = "sk_live_abcdef123456"
    value = key(tools.context(headers={"x-api-key": f" {secret} "}))
    assert value == "header:x-api-key:" + hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in value and secret not in loggable(value)
    assert key(tools.context("203.0.113.9")) == "ip:203.0.113.9"
    assert key(tools.context("203.0.113.9", {"X-API-Key": "  "})) == "ip:203.0.113.9"
    # Undecodable bytes arrive as surrogates: hashed, not an error.
    assert key(tools.context(headers={"X-API-Key": "k\udcff"})).startswith("header:x-api-key:")


def test_function_key(tools):
    key = FunctionKey(lambda ctx: ctx.headers.get("X-Tenant"), AddressKey())
    assert key(tools.context(headers={"X-Tenant": "acme"})) == "fn:acme"
    assert key(tools.context("203.0.113.9")) == "ip:203.0.113.9"
    assert FunctionKey(lambda ctx: 7, AddressKey())(tools.context()) == "fn:7"
    with pytest.raises(TypeError, match="return a str, an int or None"):
        FunctionKey(lambda ctx: b"bytes", AddressKey())(tools.context())
    with pytest.raises(TypeError, match="must be callable"):
        FunctionKey("not callable", AddressKey())  # type: ignore[arg-type]


def test_key_specs():
    assert parse_key_spec("ip") == ("ip", None)
    assert parse_key_spec("user") == ("user", None)
    assert parse_key_spec("header:X-API-Key") == ("header", "X-API-Key")
    for bad in ("IP", "header:", "header:bad header", "cookie:x", "user:x", ""):
        with pytest.raises(ValueError, match="key"):
            parse_key_spec(bad)
    with pytest.raises(TypeError):
        parse_key_spec(None)  # type: ignore[arg-type]


def test_build_key_func(tools):
    address = AddressKey()
    assert build_key_func("ip", address) is address
    assert isinstance(build_key_func("user", address), UserKey)
    assert isinstance(build_key_func("header:X-API-Key", address), HeaderKey)
    fn = build_key_func(lambda ctx: "x", address)
    assert fn(tools.context()) == "fn:x"


def test_what_logs_may_show():
    assert loggable("ip:203.0.113.9") == "ip:203.0.113.9"
    assert loggable("user:42") == "user:42"
    fn = loggable("fn:maybe-a-token")
    assert fn.startswith("fn:") and "maybe-a-token" not in fn
    assert len(loggable("user:" + "x" * 500)) < 30
    assert storage_tag("ip:1") != storage_tag("ip:2") and len(storage_tag("ip:1")) == 32


def test_headers_without_getall_work_too():
    ctx = SimpleNamespace(remote_addr="10.0.0.5", headers={"x-forwarded-for": "203.0.113.9"},
                          user=None)
    assert BEHIND_PROXY(ctx) == "ip:203.0.113.9"
