"""Client addresses behind proxies: spoofing, trusted chains, IPv6, RFC 7239 Forwarded."""

from __future__ import annotations

from ipaddress import ip_address

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pyframe_ratelimit import TrustedProxies, client_address
from pyframe_ratelimit.proxies import forwarded_hops, parse_node, x_forwarded_for_hops

PROPS = settings.get_profile("pyframe-ratelimit")
PROXIES = TrustedProxies(["10.0.0.0/8", "192.0.2.7", "2001:db8:ffff::/48"])
IP = ip_address


def xff(peer, *lines, trusted=PROXIES):
    return client_address(peer, lines, trusted)


def fwd(peer, *lines, trusted=PROXIES):
    return client_address(peer, lines, trusted, "forwarded")


def test_without_trusted_proxies_the_peer_is_the_client_whatever_the_headers_say():
    none = TrustedProxies()
    assert not none
    assert xff("203.0.113.9", "198.51.100.1", trusted=none) == IP("203.0.113.9")
    assert fwd("203.0.113.9", "for=198.51.100.1", trusted=none) == IP("203.0.113.9")


def test_a_spoofed_header_from_an_untrusted_peer_changes_nothing():
    assert xff("203.0.113.9", "198.51.100.1") == IP("203.0.113.9")
    assert xff("203.0.113.9", "10.0.0.1") == IP("203.0.113.9")  # even naming a proxy
    assert fwd("203.0.113.9", 'for="[2001:db8::1]"') == IP("203.0.113.9")


def test_a_trusted_proxy_is_believed_for_the_hop_it_added():
    assert xff("10.0.0.5", "203.0.113.9") == IP("203.0.113.9")
    assert xff("192.0.2.7", "203.0.113.9") == IP("203.0.113.9")


def test_the_right_most_untrusted_hop_wins_so_a_client_cannot_prepend_its_own():
    # The client sent "X-Forwarded-For: 1.2.3.4"; the proxy appended the real address.
    assert xff("10.0.0.5", "1.2.3.4, 203.0.113.9") == IP("203.0.113.9")
    # Through two trusted proxies: the inner one added the outer one's address.
    assert xff("10.0.0.6", "1.2.3.4, 203.0.113.9, 10.0.0.5") == IP("203.0.113.9")
    # A client naming a trusted address is still stopped at its real one.
    assert xff("10.0.0.6", "10.9.9.9, 203.0.113.9, 10.0.0.5") == IP("203.0.113.9")


def test_several_header_lines_read_as_one_list_in_order():
    assert xff("10.0.0.6", "1.2.3.4", "203.0.113.9, 10.0.0.5") == IP("203.0.113.9")
    assert xff("10.0.0.6", "203.0.113.9", "10.0.0.5") == IP("203.0.113.9")


def test_an_all_trusted_chain_gives_the_furthest_proxy():
    assert xff("10.0.0.6", "10.0.0.4, 10.0.0.5") == IP("10.0.0.4")
    assert xff("10.0.0.6") == IP("10.0.0.6")


@pytest.mark.parametrize("header", ["garbage", "203.0.113.9, garbage", "unknown", "_hidden",
                                    "300.1.2.3", "1.2.3.4:99999", "1.2.3.4:65536",
                                    "[203.0.113.9]", "2001:db8::1::2"])
def test_a_malformed_nearest_hop_falls_back_to_the_proxy(header):
    # The client cannot get a bucket of its choosing; everything malformed shares the proxy's.
    assert xff("10.0.0.5", header) == IP("10.0.0.5")


def test_malformed_hops_behind_a_good_one_are_never_read():
    assert xff("10.0.0.5", "garbage, \x00, 203.0.113.9") == IP("203.0.113.9")


def test_ipv6_chains_and_ipv4_mapped_peers():
    assert xff("2001:db8:ffff::2", "2001:db8:1::9") == IP("2001:db8:1::9")
    assert xff("2001:db8:ffff::2", "[2001:db8:1::9]:4711") == IP("2001:db8:1::9")
    assert xff("2001:db8:9::2", "2001:db8:1::9") == IP("2001:db8:9::2")  # not trusted
    # A dual-stack socket reports IPv4 peers mapped into IPv6: they are the IPv4 proxy.
    assert xff("::ffff:10.0.0.5", "203.0.113.9") == IP("203.0.113.9")
    assert xff("10.0.0.5", "::ffff:203.0.113.9") == IP("203.0.113.9")
    mapped = TrustedProxies(["::ffff:10.0.0.0/104"])
    assert xff("10.1.2.3", "203.0.113.9", trusted=mapped) == IP("203.0.113.9")


def test_ports_on_hops_are_ignored():
    assert xff("10.0.0.5", "203.0.113.9:51234") == IP("203.0.113.9")
    # A token cannot hold ':': unquoted, the line is malformed.
    assert fwd("10.0.0.5", "for=203.0.113.9:_port") == IP("10.0.0.5")
    assert fwd("10.0.0.5", 'for="203.0.113.9:_port"') == IP("203.0.113.9")


def test_forwarded_quoted_ipv6_and_parameters():
    assert fwd("10.0.0.5", 'for="[2001:db8:cafe::17]:4711"') == IP("2001:db8:cafe::17")
    assert fwd("10.0.0.5", "for=203.0.113.9;proto=https;by=10.0.0.5") == IP("203.0.113.9")
    assert fwd("10.0.0.5", "For=203.0.113.9") == IP("203.0.113.9")
    assert fwd("10.0.0.5", 'proto=https;for="203.0.113.9";host="a,b;c"') == IP("203.0.113.9")


def test_forwarded_chain_right_most_untrusted():
    line = 'for=1.2.3.4, for=203.0.113.9;proto=http, for="10.0.0.4"'
    assert fwd("10.0.0.5", line) == IP("203.0.113.9")
    assert fwd("10.0.0.5", "for=1.2.3.4", "for=203.0.113.9") == IP("203.0.113.9")


def test_forwarded_quoted_commas_do_not_split_elements():
    # A client hides a fake element inside a quoted value: it stays one value.
    line = 'for=203.0.113.9;ext="x, for=1.2.3.4"'
    assert fwd("10.0.0.5", line) == IP("203.0.113.9")
    assert fwd("10.0.0.5", r'for=203.0.113.9;ext="a\"b, for=1.2.3.4"') == IP("203.0.113.9")


@pytest.mark.parametrize("line", [
    "for=_hidden",                     # obfuscated: RFC 7239 asks for these to be random
    'for="_abc.def-1"',
    "for=unknown",
    "proto=https",                     # an element with no for=
    "for=2001:db8::1",                 # IPv6 must be quoted
    'for="203.0.113.9',                # unterminated quote
    "for=203.0.113.9;for=1.2.3.4",     # a parameter twice
    "for",                             # no value
    "for=",                            # empty value
    "=x",
    "for=1.2.3.4 garbage",
    'for="[2001:db8::1"',
    '"for"=1.2.3.4',
])
def test_forwarded_malformed_or_anonymous_falls_back_to_the_proxy(line):
    assert fwd("10.0.0.5", line) == IP("10.0.0.5")


def test_a_malformed_forwarded_line_does_not_spoil_a_later_one():
    # The proxy added its own line after the client's broken one.
    assert fwd("10.0.0.5", 'for="1.2.3.4', "for=203.0.113.9") == IP("203.0.113.9")


def test_empty_list_members_and_pairs_are_ignored():
    assert xff("10.0.0.5", "203.0.113.9, ,") == IP("203.0.113.9")
    assert fwd("10.0.0.5", "for=203.0.113.9;;proto=http,,") == IP("203.0.113.9")


def test_unix_socket_peers():
    assert xff("", "203.0.113.9") is None
    assert xff(None, "203.0.113.9") is None
    unix = TrustedProxies(["unix"])
    assert unix.trusts(None)
    assert xff("", "203.0.113.9", trusted=unix) == IP("203.0.113.9")
    assert xff("garbage-peer", "203.0.113.9", trusted=unix) == IP("203.0.113.9")


@pytest.mark.parametrize("entry, message", [
    ("10.0.0.1/8", "has host bits set; did you mean '10.0.0.0/8'"),
    ("proxy.internal", "is not an IP address or network"),
    ("10.0.0.0/33", "is not an IP address or network"),
    ("", "is not an IP address or network"),
])
def test_bad_trusted_proxy_entries_are_named(entry, message):
    with pytest.raises(ValueError, match=message):
        TrustedProxies([entry])


def test_trusted_proxies_is_a_list_not_a_string():
    with pytest.raises(TypeError, match="a list of addresses"):
        TrustedProxies("10.0.0.0/8")
    with pytest.raises(TypeError, match="is not a string"):
        TrustedProxies([10])


def test_an_unknown_header_is_refused():
    with pytest.raises(ValueError, match="header must be one of"):
        client_address("10.0.0.5", [], PROXIES, "x-real-ip")


@pytest.mark.parametrize("text, expected", [
    ("203.0.113.9", "203.0.113.9"), (" 203.0.113.9 ", "203.0.113.9"),
    ("203.0.113.9:80", "203.0.113.9"), ("2001:db8::1", "2001:db8::1"),
    ("[2001:db8::1]", "2001:db8::1"), ("[2001:db8::1]:443", "2001:db8::1"),
    ("[2001:db8::1]:_obf", "2001:db8::1"), ("::ffff:192.0.2.1", "192.0.2.1"),
    ("unknown", None), ("_hidden", None), ("", None), ("[203.0.113.9]", None),
    ("[2001:db8::1]443", None), ("[2001:db8::1]:", None), ("203.0.113.9:", None),
    ("203.0.113.9:123456", None), ("203.0.113.9:_", None), ("1:2", None),
    ("01.2.3.4", None), ("1" * 200, None),
])
def test_parse_node(text, expected):
    node = parse_node(text)
    assert (str(node) if node is not None else None) == expected


HEADERISH = st.text(alphabet=st.sampled_from(list('0123456789abcdef.:[]_,; ="\\for=unknown')),
                    max_size=60)


@PROPS
@given(HEADERISH, st.sampled_from(["x-forwarded-for", "forwarded"]))
def test_any_header_yields_the_peer_or_an_address_it_contains(line, header):
    """Never an exception, and never an address that is not the peer or one of the hops."""
    result = client_address("10.0.0.5", [line], PROXIES, header)
    hops = list((x_forwarded_for_hops if header == "x-forwarded-for" else forwarded_hops)(line))
    assert result == IP("10.0.0.5") or result in hops


@PROPS
@given(st.lists(st.ip_addresses(), max_size=6), st.ip_addresses())
def test_the_client_is_never_further_than_the_first_untrusted_hop(hops, peer):
    line = ", ".join(f"[{h}]" if h.version == 6 else str(h) for h in hops)
    result = client_address(str(peer), [line], PROXIES)
    chain = [peer] + [IP(str(h)) for h in reversed(hops)]
    chain = [h.ipv4_mapped if h.version == 6 and h.ipv4_mapped else h for h in chain]
    expected = chain[-1]
    for hop in chain:
        if not PROXIES.trusts(hop):
            expected = hop
            break
    assert result == expected
