r"""Hypothesis settings for the sse tests: short and repeatable by default, longer on request.

    PYFRAME_SSE_EXAMPLES=20000 \
        uv run --locked --all-packages pytest tests/plugins/sse -q -p no:pyframe

runs every property with that many examples and a random seed (a failure prints the seed and
the shrunk example; ``--hypothesis-seed=N`` replays it).
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

_examples = int(os.environ.get("PYFRAME_SSE_EXAMPLES", "0"))

# Test modules apply it with ``@settings.get_profile("pyframe-sse")``, so other suites keep
# their own settings. No deadline: a shared CI machine's pauses are not a property failure;
# pytest-timeout bounds a runaway test instead.
settings.register_profile(
    "pyframe-sse",
    max_examples=_examples or 150,
    derandomize=not _examples,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
