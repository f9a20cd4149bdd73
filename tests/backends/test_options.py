"""Backend URLs: options as query parameters, validated strictly; passwords never shown."""

from __future__ import annotations

import pytest

from pyframe.backends import InvalidBackendURL, MemoryOptions, parse_options, redact_url
from pyframe.backends.memory import check_url as check_memory_url
from pyframe_redis.provider import parse_url


def test_options_take_typed_values_from_the_query():
    options = parse_options("memory://?x", "queue_size=10&timeout=0.5&max_keys=7", MemoryOptions)
    assert (options.queue_size, options.timeout, options.max_keys) == (10, 0.5, 7)
    assert parse_options("memory://", "", MemoryOptions) == MemoryOptions()


def test_the_defaults_are_safe_and_bounded():
    options = MemoryOptions()
    assert options.timeout == 2.0
    assert options.max_message_size == 1024 * 1024
    assert options.queue_size == 1000
    assert (options.log_maxlen, options.log_max_age) == (1000, 3600.0)
    assert (options.max_keys, options.max_streams) == (100_000, 10_000)


@pytest.mark.parametrize("query, fragment", [
    ("queue_sise=10", "unknown option 'queue_sise'; the options of this backend are"),
    ("queue_size=ten", "option 'queue_size': Expected `int`"),
    ("queue_size=0", "option 'queue_size': Expected `int` >= 1"),
    ("timeout=-1", "option 'timeout'"),
    ("timeout=1&timeout=2", "option 'timeout' is given twice"),
    ("timeout", "malformed query string"),
    ("max_message_size=999999999999", "option 'max_message_size'"),
])
def test_bad_memory_options_are_named(query, fragment):
    with pytest.raises(InvalidBackendURL, match=fragment.replace("(", r"\(")):
        check_memory_url(f"memory://?{query}")


@pytest.mark.parametrize("url", ["memory://somewhere", "memory://x/y", "memory://#frag"])
def test_memory_takes_no_host_or_path(url):
    with pytest.raises(InvalidBackendURL):
        check_memory_url(url)


def test_redis_urls_split_into_redis_py_part_and_options():
    base, options = parse_url("redis://user:pw@cache.internal:6380/2?prefix=app1:&timeout=0.5")
    assert base == "redis://user:pw@cache.internal:6380/2"
    assert (options.prefix, options.timeout) == ("app1:", 0.5)
    base, options = parse_url("unix:///run/redis.sock?db=3")
    assert (base, options.db) == ("unix:///run/redis.sock", 3)
    _, options = parse_url("rediss://r.example/0?ssl_check_hostname=false&ssl_cert_reqs=none")
    assert (options.ssl_check_hostname, options.ssl_cert_reqs) == (False, "none")


@pytest.mark.parametrize("url, fragment", [
    ("redis:///0", "no host"),
    ("redis://h/zero", "the path is the database number"),
    ("redis://h:99999/0", "not a valid URL"),
    ("redis://h/0?db=1", "option 'db' is for unix:// URLs"),
    ("redis://h/0?ssl_ca_certs=/ca.pem", "needs TLS: use rediss://"),
    ("unix://", "names the socket's path"),
    ("unix://host/path.sock", "takes no host"),
    ("redis://h/0?reconnect_min=5&reconnect_max=1", "reconnect_min (5.0) is more than"),
    ("redis://h/0?prefix=a b", "option 'prefix'"),
    ("redis://h/0?ssl_cert_reqs=maybe", "option 'ssl_cert_reqs'"),
    ("redis://h/0?password=x", "unknown option 'password'"),
])
def test_bad_redis_urls_are_named(url, fragment):
    with pytest.raises(InvalidBackendURL, match=fragment.replace("(", r"\(").replace(")", r"\)")):
        parse_url(url)


def test_passwords_are_redacted():
    assert redact_url("redis://:s3cret@h:6379/0") == "redis://:***@h:6379/0"
    assert redact_url("redis://alice:s3cret@h/0?x=1") == "redis://alice:***@h/0?x=1"
    assert redact_url("redis://alice@h/0") == "redis://alice@h/0"
    assert redact_url("memory://") == "memory://"
    assert "s3cret" not in redact_url("redis://:s3cret@h:notaport/0")
    with pytest.raises(InvalidBackendURL) as caught:
        parse_url("redis://:s3cret@h/0?bogus=1")
    assert "s3cret" not in str(caught.value) and "***" in str(caught.value)
