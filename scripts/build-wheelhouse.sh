#!/usr/bin/env bash
# Build every pyframe distribution, plus wheels of all their dependencies, into one folder, so
# `pip install --no-index --find-links <folder> 'pyframe[...]==0.1.0'` installs without ever
# asking the public index (where the name `pyframe` belongs to an unrelated project).
#
# Needs: uv (`python3 -m pip install uv`) to build and to read the lock, and python3 with pip,
# which downloads the dependencies' wheels. Run it from a clone of the repository.
# The folder also holds what a plugin made by `pyframe new-plugin` needs to install and test
# from it alone: the template's build backend (hatchling, and editables for an editable
# install) and its test extra (pytest and pytest-asyncio, at the versions in the lock).
set -euo pipefail
out="${1:-wheelhouse}"
root="$(cd "$(dirname "$0")/.." && pwd)"
if ! command -v uv >/dev/null; then
  echo "build-wheelhouse.sh needs uv: python3 -m pip install uv" >&2
  exit 1
fi
mkdir -p "$out"
out="$(cd "$out" && pwd)"
cd "$root"
uv build --all-packages --wheel --out-dir "$out" --quiet
uv export --frozen --no-dev --all-extras --all-packages --no-emit-workspace --no-hashes \
  --no-header --output-file "$out/requirements.txt" --quiet
# Keep the folder to wheels only: drop the editable example plugin and anything non-PyPI.
grep -v -e '^-e' -e '^\.' "$out/requirements.txt" > "$out/requirements.pypi.txt"
# The plugin author's tools: the test extra's pins from the lock's dev group, and the build
# backend every pyframe distribution and the plugin template name (with what its editable
# builds ask for).
uv export --frozen --only-group dev --no-emit-workspace --no-hashes --no-header --quiet \
  | grep -E '^(pytest|pytest-asyncio)==' > "$out/requirements.tools.txt"
printf '%s\n' 'hatchling>=1.25' 'editables~=0.3' >> "$out/requirements.tools.txt"
python3 -m pip download --quiet --only-binary=:all: --dest "$out" \
  --requirement "$out/requirements.pypi.txt" --requirement "$out/requirements.tools.txt"
echo "wheelhouse ready: $out"
