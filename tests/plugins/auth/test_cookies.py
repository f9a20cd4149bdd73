"""The session cookie's attributes: safe defaults, the __Host- prefix, and the header text."""

import msgspec
import pytest

from pyframe_auth import CookieSettings, CookieTooLarge


def test_defaults_are_safe():
    cookie = CookieSettings()
    assert (cookie.cookie_name, cookie.path, cookie.http_only, cookie.same_site) == (
        "session", "/", True, "Lax")
    assert cookie.is_secure(tls=True) and not cookie.is_secure(tls=False)
    assert cookie.set_cookie("v", max_age=60, tls=True) == (
        "session=v; Max-Age=60; Path=/; Secure; HttpOnly; SameSite=Lax")


def test_secure_can_be_forced_either_way():
    assert CookieSettings(secure=True).is_secure(tls=False)
    assert not CookieSettings(secure=False).is_secure(tls=True)


def test_host_prefix_and_samesite_none_imply_secure():
    assert CookieSettings(host_prefix=True).is_secure(tls=False)
    assert CookieSettings(same_site="None").is_secure(tls=False)
    assert CookieSettings(host_prefix=True).cookie_name == "__Host-session"


@pytest.mark.parametrize("options, message", [
    ({"host_prefix": True, "path": "/app"}, "__Host-"),
    ({"host_prefix": True, "domain": "app.example"}, "__Host-"),
    ({"host_prefix": True, "secure": False}, "__Host-"),
    ({"same_site": "None", "secure": False}, "SameSite=None needs Secure"),
    ({"name": "bad name"}, "not an HTTP token"),
    ({"name": ""}, "not an HTTP token"),
    ({"path": "app"}, "must start with '/'"),
    ({"path": "/a;b"}, "must start with '/'"),
    ({"domain": "a.example; Secure"}, "not a host name"),
])
def test_settings_browsers_would_refuse_are_errors(options, message):
    with pytest.raises(ValueError, match=message):
        CookieSettings(**options)


def test_settings_load_strictly_from_config():
    loaded = msgspec.convert({"name": "sid", "same_site": "Strict", "domain": ".app.example"},
                             CookieSettings)
    assert loaded.cookie_name == "sid" and loaded.domain == ".app.example"
    with pytest.raises(msgspec.ValidationError, match="unknown field"):
        msgspec.convert({"nme": "sid"}, CookieSettings)
    with pytest.raises(msgspec.ValidationError):
        msgspec.convert({"same_site": "lax"}, CookieSettings)


def test_attributes_for_the_core_response():
    assert CookieSettings(domain="app.example").attributes(max_age=5, tls=False) == {
        "max_age": 5, "path": "/", "domain": "app.example", "secure": False,
        "http_only": True, "same_site": "Lax"}


def test_values_must_be_cookie_octets():
    for bad in ("a b", 'a"b', "a;b", "a,b", "a\\b", "é"):
        with pytest.raises(ValueError, match="cookie-octets"):
            CookieSettings().set_cookie(bad, max_age=1, tls=True)


def test_the_size_limit_counts_every_byte():
    cookie = CookieSettings()
    text = cookie.set_cookie("v" * 10, max_age=60, tls=True)
    assert cookie.set_cookie("v" * 10, max_age=60, tls=True, limit=len(text)) == text
    with pytest.raises(CookieTooLarge):
        cookie.set_cookie("v" * 10, max_age=60, tls=True, limit=len(text) - 1)
