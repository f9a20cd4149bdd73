#!/usr/bin/env bash
# Create bench/.venv-peers: the peer frameworks the harness compares pyframe with, plus
# py-spy for profiling. Kept apart from pyframe's own environment so no peer ever becomes a
# pyframe dependency. Each peer is installed on its own so one failure skips only that peer.
set -u
here="$(cd "$(dirname "$0")" && pwd)"
venv="$here/.venv-peers"
python="${PYTHON:-3.11}"

uv venv --python "$python" "$venv"
uv pip install --python "$venv" aiohttp uvloop py-spy
# outside-framework is pinned: bench/outside.py compares its 1.5.5 with pyframe.compat.outside.
for peer in "starlette uvicorn[standard]" "sanic" "blacksheep uvicorn[standard]" \
            "falcon uvicorn[standard]" "starlette granian[uvloop]" "outside-framework==1.5.5"; do
    # shellcheck disable=SC2086  # word splitting wanted: one peer may need two packages
    if ! uv pip install --python "$venv" $peer; then
        echo "setup_peers: could not install '$peer'; the harness will skip it" >&2
    fi
done
"$venv/bin/python" - <<'PY'
import importlib.util
for name in ("starlette", "uvicorn", "sanic", "blacksheep", "falcon", "granian", "uvloop",
             "outside"):
    print(f"{name:12} {'ok' if importlib.util.find_spec(name) else 'missing'}")
PY
