#!/usr/bin/env bash
# Build every pyframe distribution, plus wheels of all their dependencies, into one folder, so
# `pip install --no-index --find-links <folder> 'pyframe[...]==0.1.0'` installs without ever
# asking the public index (where the name `pyframe` belongs to an unrelated project).
set -euo pipefail
out="${1:-wheelhouse}"
root="$(cd "$(dirname "$0")/.." && pwd)"
mkdir -p "$out"
out="$(cd "$out" && pwd)"
cd "$root"
uv build --all-packages --wheel --out-dir "$out" --quiet
uv export --frozen --no-dev --all-extras --all-packages --no-emit-workspace --no-hashes \
  --no-header --output-file "$out/requirements.txt" --quiet
# Keep the folder to wheels only: drop the editable example plugin and anything non-PyPI.
grep -v -e '^-e' -e '^\.' "$out/requirements.txt" > "$out/requirements.pypi.txt"
python3 -m pip download --quiet --only-binary=:all: --dest "$out" \
  --requirement "$out/requirements.pypi.txt"
echo "wheelhouse ready: $out"
