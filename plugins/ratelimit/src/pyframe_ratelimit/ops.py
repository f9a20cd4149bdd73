"""The limiter's one atomic operation on the shared key-value store, built once per strategy.

On Redis the backend runs the strategy's Lua by SHA1 (EVALSHA, loaded again on NOSCRIPT); on
the memory store it calls the strategy's Python half, which reads the store's own clock.
"""

from __future__ import annotations

from collections.abc import Sequence

from pyframe.plugin import AtomicOp, DataView, OperationFailed

from .strategy import GcraStrategy, RateLimitStrategy, ScriptError

__all__ = ["atomic_op", "GCRA", "GCRA_OP"]


def atomic_op(strategy: RateLimitStrategy) -> AtomicOp[list[int]]:
    """The AtomicOp that runs ``strategy``'s decision: its Lua half and its Python half."""

    def python_half(data: DataView, keys: Sequence[str], args: Sequence[bytes]) -> list[int]:
        try:
            return strategy.apply(data, keys, args)
        except ScriptError as exc:
            # What the Lua half answers for the same arguments, so callers see one error.
            raise OperationFailed(f"ERR pyframe-ratelimit: {exc}") from None

    return AtomicOp(name=f"pyframe-ratelimit-{strategy.name}", lua=strategy.lua,
                    python=python_half)


GCRA = GcraStrategy()
GCRA_OP = atomic_op(GCRA)
