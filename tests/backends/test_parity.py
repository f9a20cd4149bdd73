"""The memory store's DataView behaves as Redis does: random command sequences, run through
one AtomicOp on both, give the same replies and the same errors, step by step."""

from __future__ import annotations

import random
from collections.abc import Sequence

import pytest

from pyframe.backends import AtomicOp, DataView, MemoryBackend, OperationFailed
from pyframe_redis import create

from .support import FakeClock, delete_prefix, unique_prefix

LONG_TTL = 100_000  # ms: nothing expires while a sequence runs


def _python(data: DataView, keys: Sequence[str], args: Sequence[bytes]) -> list[object]:
    key, name, rest = keys[0], args[0].decode(), list(args[1:])
    calls = {
        "GET": lambda: data.get(key),
        "SET": lambda: (data.set(key, rest[0], px=int(rest[2]) if len(rest) > 1 else None),
                        b"OK")[1],
        "DEL": lambda: data.delete(key),
        "EXISTS": lambda: data.exists(key),
        "INCRBY": lambda: (data.incrby(key, int(rest[0])), data.get(key))[1],
        "PEXPIRE": lambda: data.pexpire(key, int(rest[0])),
        "PTTL": lambda: data.pttl(key),
        "HSET": lambda: data.hset(key, rest[0], rest[1]),
        "HGET": lambda: data.hget(key, rest[0]),
        "HDEL": lambda: data.hdel(key, rest[0]),
        "HINCRBY": lambda: (data.hincrby(key, rest[0], int(rest[1])),
                            data.hget(key, rest[0]))[1],
        "HGETALL": lambda: [x for pair in data.hgetall(key).items() for x in pair],
    }
    try:
        return [1, calls[name]()]
    except OperationFailed as exc:
        return [0, str(exc).encode()]


# ARGV[1] is the command, KEYS[1] its key, ARGV[2..] the rest. {1, reply} or {0, error}.
# INCRBY and HINCRBY reply with the stored string: their integer reply, a Lua number,
# would come back rounded past 2**53 (test_op_replies_round_big_numbers shows that rule).
COMMAND: AtomicOp[list[object]] = AtomicOp("command", """
local args = {}
for i = 2, #ARGV do args[#args + 1] = ARGV[i] end
local ok, reply = pcall(redis.call, ARGV[1], KEYS[1], unpack(args))
if ok and ARGV[1] == 'INCRBY' then reply = redis.call('GET', KEYS[1]) end
if ok and ARGV[1] == 'HINCRBY' then reply = redis.call('HGET', KEYS[1], ARGV[2]) end
if ok then return {1, reply} end
if type(reply) == 'table' then reply = reply.err end  -- the error's shape varies by version
return {0, reply}
""", _python)

VALUES = [b"1", b"-5", b"0", b"abc", b"", b"05", b"-0", b"9223372036854775807",
          b"-9223372036854775808", b"\x00\xff"]


def random_command(rng: random.Random) -> tuple[str, list[object]]:
    key = rng.choice(["a", "b", "c"])
    field = rng.choice([b"f", b"g"])
    name = rng.choice(["GET", "SET", "SETPX", "DEL", "EXISTS", "INCRBY", "PEXPIRE", "PTTL",
                       "HSET", "HGET", "HDEL", "HINCRBY", "HGETALL"])
    args: list[object] = {
        "SET": [rng.choice(VALUES)],
        "SETPX": [rng.choice(VALUES), "PX", LONG_TTL],
        "INCRBY": [rng.choice([1, -1, 7, 2 ** 62, -(2 ** 62)])],
        "PEXPIRE": [LONG_TTL],
        "HSET": [field, rng.choice(VALUES)],
        "HGET": [field], "HDEL": [field],
        "HINCRBY": [field, rng.choice([1, -3, 2 ** 62])],
    }.get(name, [])
    return ("SET" if name == "SETPX" else name), [key, *args]


def comparable(name: str, reply: list[object]) -> object:
    ok, value = reply
    if name == "PTTL" and ok and isinstance(value, int) and value > 0:
        return ok, "counting down"  # the two clocks differ; the sign is what must agree
    if name == "HGETALL" and ok:
        assert isinstance(value, list)
        return ok, sorted(zip(value[::2], value[1::2]))
    return ok, value


@pytest.mark.parametrize("seed", range(12))
async def test_random_command_sequences_agree(redis_url, seed):
    rng = random.Random(seed)
    prefix = unique_prefix()
    memory = MemoryBackend(clock=FakeClock())
    redis = create(f"{redis_url}?prefix={prefix}")
    await redis.open()
    try:
        for step in range(150):
            name, (key, *rest) = random_command(rng)
            args = [name, *rest]
            expected = await redis.store.run(COMMAND, [key], args)
            got = await memory.store.run(COMMAND, [key], args)
            assert comparable(name, got) == comparable(name, expected), (
                f"seed {seed}, step {step}: {name} {key} {rest}")
    finally:
        await redis.close()
        await delete_prefix(redis_url, prefix)


BIG: AtomicOp[list[int]] = AtomicOp("big", "return {9007199254740993, -1152921504606846977}",
                                    lambda data, keys, args: [2 ** 53 + 1, -(2 ** 60) - 1])


async def test_op_replies_round_big_numbers_as_redis_does(redis_url):
    prefix = unique_prefix()
    redis = create(f"{redis_url}?prefix={prefix}")
    await redis.open()
    try:
        expected = await redis.store.run(BIG)
    finally:
        await redis.close()
    assert expected == [2 ** 53, -(2 ** 60)]  # Lua numbers are doubles
    assert await MemoryBackend().store.run(BIG) == expected
