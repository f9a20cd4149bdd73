"""Two revisions of pyframe, same run: bench/inprocess.py in this checkout and in another one,
alternating round by round, the best of each kept.

    git worktree add ../pyframe-base <commit> && (cd ../pyframe-base && uv sync --all-packages)
    uv run python bench/revisions.py ../pyframe-base [--rounds 5] [--only pyframe,...]

Each checkout measures itself with its own bench/inprocess.py and its own environment, in a
process of its own, so the two never share an interpreter; alternating spreads a slow spell of
the machine over both. The table gives µs per request and this checkout's speed relative to the
other (above 1: this one is faster).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]


def measure(tree: Path, args: argparse.Namespace) -> dict[str, dict[str, float]]:
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        command = [str(tree / ".venv" / "bin" / "python"), str(tree / "bench" / "inprocess.py"),
                   "--repeat", str(args.repeat), "--requests", str(args.requests),
                   "--only", args.only, "--json", out.name]
        subprocess.run(command, cwd=tree, check=True, stdout=subprocess.DEVNULL)
        return json.loads(Path(out.name).read_text())


def best(into: dict[str, dict[str, float]], results: dict[str, dict[str, float]]) -> None:
    for server, row in results.items():
        for endpoint, us in row.items():
            kept = into.setdefault(server, {})
            kept[endpoint] = min(us, kept.get(endpoint, us))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("base", type=Path, help="the other checkout (with its .venv)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--requests", type=int, default=5_000)
    parser.add_argument("--only", default="aiohttp_app,pyframe,pyframe_all_plugins")
    args = parser.parse_args()
    base = args.base.resolve()
    ours: dict[str, dict[str, float]] = {}
    theirs: dict[str, dict[str, float]] = {}
    for round_ in range(args.rounds):
        for tree, into in ((HERE, ours), (base, theirs)) if round_ % 2 == 0 else \
                ((base, theirs), (HERE, ours)):
            best(into, measure(tree, args))
        print(f"round {round_ + 1}/{args.rounds} done", file=sys.stderr, flush=True)
    endpoints = sorted({e for row in ours.values() for e in row})
    print(f"best of {args.rounds} alternating rounds x {args.repeat} repeats x "
          f"{args.requests:,} requests; this checkout vs {base.name}\n")
    print("| server | " + " | ".join(f"{e} µs: base → this (×)" for e in endpoints) + " |")
    print("|---|" + "---:|" * len(endpoints))
    for server in ours:
        cells = []
        for e in endpoints:
            a, b = theirs.get(server, {}).get(e), ours[server].get(e)
            cells.append(f"{a:.2f} → {b:.2f} ({a / b:.2f})" if a and b else "")
        print(f"| {server} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
