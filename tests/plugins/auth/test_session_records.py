"""Server-side session pieces: ids, store keys, records and their expiry."""

import re

import pytest

from pyframe_auth import (Expiry, InvalidSessionRecord, RecordTooLarge, SessionLifetime,
                          SessionValueError, is_session_id, new_session_id, storage_key)
from pyframe_auth.session_records import SESSION_ID_BYTES

from .support import NOW


def test_ids_are_random_url_safe_and_at_least_128_bits():
    ids = {new_session_id() for _ in range(200)}
    assert len(ids) == 200
    assert SESSION_ID_BYTES * 8 >= 128
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{43}", i) for i in ids)
    assert all(is_session_id(i) for i in ids)


@pytest.mark.parametrize("value", [None, "", "abc", "x" * 42, "x" * 44, "!" * 43, "é" * 43,
                                   new_session_id() + "\n"])
def test_anything_else_is_not_an_id(value):
    assert not is_session_id(value)


def test_the_store_key_hides_the_id():
    sid = new_session_id()
    key = storage_key(sid)
    assert key.startswith("pyframe:auth:session:") and sid not in key
    assert key == storage_key(sid) and key != storage_key(new_session_id())
    assert storage_key(sid, prefix="app:").startswith("app:")


@pytest.fixture
def lifetime(clock):
    return SessionLifetime(idle_timeout=600, absolute_timeout=3600, clock=clock)


def test_records_round_trip(lifetime):
    record = lifetime.new({"user": 1, "cart": [1, 2]})
    raw = lifetime.encode(record)
    assert lifetime.decode(raw) == record
    assert b"user" in raw and not raw.startswith(b"\x80")  # JSON, not a pickle


@pytest.mark.parametrize("raw", [b"", b"{}", b"[1]", b'{"data": {}, "created_at": 1}',
                                 b'{"data": {}, "created_at": 1, "last_seen": 1, "x": 1}',
                                 b"\x80\x04K\x01."])
def test_foreign_bytes_are_not_a_record(lifetime, raw):
    with pytest.raises(InvalidSessionRecord):
        lifetime.decode(raw)


def test_idle_and_absolute_expiry(lifetime, clock):
    record = lifetime.new()
    assert lifetime.expiry(record) is Expiry.LIVE and lifetime.ttl(record) == 600
    clock.advance(599)
    assert lifetime.expiry(record) is Expiry.LIVE
    clock.advance(1)
    assert lifetime.expiry(record) is Expiry.IDLE
    # A session in constant use still ends at the absolute timeout.
    record = lifetime.new()
    for _ in range(6):
        clock.advance(590)
        record = lifetime.touched(record)
        assert lifetime.expiry(record) is Expiry.LIVE
    assert lifetime.ttl(record) == 3600 - 6 * 590
    clock.advance(3600 - 6 * 590)
    assert lifetime.expiry(record) is Expiry.ABSOLUTE


def test_touching_is_throttled(lifetime, clock):
    record = lifetime.new()
    assert lifetime.touch_interval == 60
    clock.advance(59)
    assert not lifetime.needs_touch(record)
    clock.advance(1)
    assert lifetime.needs_touch(record)
    updated = lifetime.updated(record, {"a": 1})
    assert updated.data == {"a": 1} and updated.last_seen == NOW + 60
    assert updated.created_at == record.created_at


def test_records_hold_json_only_and_have_a_size_limit(clock):
    lifetime = SessionLifetime(max_bytes=200, clock=clock)
    with pytest.raises(SessionValueError):
        lifetime.encode(lifetime.new({"t": (1,)}))
    with pytest.raises(RecordTooLarge) as caught:
        lifetime.encode(lifetime.new({"x": "a" * 300}))
    assert caught.value.limit == 200


def test_timeouts_are_checked():
    with pytest.raises(ValueError):
        SessionLifetime(idle_timeout=7200, absolute_timeout=3600)
    with pytest.raises(ValueError):
        SessionLifetime(idle_timeout=0)
