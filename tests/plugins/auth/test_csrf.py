"""The CSRF decision for cookie-authenticated requests."""

import pytest

from pyframe_auth import check_csrf, normalize_origin, request_origin

OWN = "https://app.example"


def decide(method="POST", origin=None, site=None, own=OWN, trusted=(), **options):
    return check_csrf(method=method, origin=origin, sec_fetch_site=site, own_origin=own,
                      trusted_origins=trusted, **options)


@pytest.mark.parametrize("method", ["GET", "HEAD", "OPTIONS", "TRACE", "get"])
def test_safe_methods_pass_even_cross_site(method):
    assert decide(method, origin="https://evil.example", site="cross-site") == (True,
                                                                                "safe_method")


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
def test_cross_site_state_changes_are_refused(method):
    assert decide(method, origin="https://evil.example", site="cross-site") == (False,
                                                                                "cross_site")


def test_same_site_is_not_same_origin():
    assert decide(origin="https://evil.app.example", site="same-site") == (False, "same_site")


def test_fetch_metadata_decides_when_present():
    assert decide(site="same-origin", origin=OWN) == (True, "same_origin")
    assert decide(site="none") == (True, "user_initiated")
    assert decide(site="Same-Origin") == (True, "same_origin")
    assert decide(site="sideways") == (False, "unknown_fetch_site")


def test_older_browsers_fall_back_to_origin():
    assert decide(origin=OWN) == (True, "same_origin")
    assert decide(origin="https://APP.example:443") == (True, "same_origin")
    assert decide(origin="http://app.example") == (False, "cross_origin")
    assert decide(origin="https://app.example:8443") == (False, "cross_origin")
    assert decide(origin="https://evil.example") == (False, "cross_origin")
    assert decide(origin="null") == (False, "opaque_origin")
    assert decide(origin="https://evil.example", own=None) == (False, "cross_origin")


def test_trusted_origins_may_cross():
    trusted = {"https://admin.example"}
    assert decide(origin="https://admin.example", site="cross-site", trusted=trusted) == (
        True, "trusted_origin")
    assert decide(origin="https://other.example", site="cross-site", trusted=trusted).allowed \
        is False


def test_requests_without_browser_headers():
    assert decide() == (True, "no_browser_headers")
    assert decide(allow_without_headers=False) == (False, "no_browser_headers")


def test_origins_are_normalised_like_browsers_send_them():
    assert normalize_origin("HTTPS://App.Example:443") == "https://app.example"
    assert normalize_origin("http://localhost:8000") == "http://localhost:8000"
    assert normalize_origin("http://[::1]:80") == "http://[::1]"
    for bad in ("null", "", "app.example", "https://a.example/path", "https://u@a.example",
                "https://a.example:99999x"):
        assert normalize_origin(bad) is None
    assert request_origin("https", "app.example:443") == OWN
    assert request_origin("http", "127.0.0.1:8000") == "http://127.0.0.1:8000"
