"""Where a server variant spends its time under wrk load, sampled with py-spy.

    uv run python bench/profile.py [--variant pyframe] [--endpoints plaintext,json]
                                   [--duration 10] [--native] [--top 25]

py-spy comes from bench/.venv-peers (bench/setup_peers.sh installs it; it is never a pyframe
dependency). The server is pinned to core 0, wrk and py-spy to core 1. py-spy attaches to the
running server for ``--duration`` seconds in the middle of a longer wrk run and writes collapsed
stacks; this script then ranks frames by self time (the sample's innermost frame) and by
inclusive time, and groups self time by layer (event loop, aiohttp, pyframe modules, ...).
Sampling pauses the server briefly, so read the shares, not the req/s printed beside them.
``--native`` adds C frames (uvloop, aiohttp's parser and writer) at a higher sampling cost.
"""

from __future__ import annotations

import argparse
import collections
import re
import subprocess
import sys
import time
from pathlib import Path

from benchlib import BENCH_DIR, PEERS_PYTHON, Server, parse_wrk
from run import ENDPOINTS, HEADERS, VARIANTS

PY_SPY = PEERS_PYTHON.with_name("py-spy")
OUT_DIR = BENCH_DIR / "out"  # gitignored by the repository
_FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^():]*)(?::(?P<line>\d+))?\)$")

# Self time grouped by where the code lives: the first matching (substring, layer) wins.
LAYERS = [
    ("pyframe/", "pyframe core ({name})"),
    ("pyframe_", "pyframe plugins"),
    ("aiohttp/_http_parser", "aiohttp C HTTP parser"),
    ("_http_parser", "aiohttp C HTTP parser"),
    ("_http_writer", "aiohttp C header writer"),
    ("aiohttp/", "aiohttp ({name})"),
    ("multidict", "multidict"),
    ("yarl", "yarl"),
    ("msgspec", "msgspec"),
    ("asyncio/", "asyncio (stdlib)"),
    ("uvloop", "uvloop / libuv"),
    ("loop.c", "uvloop / libuv"),
    ("libuv", "uvloop / libuv"),
    ("libc.so", "libc / kernel (syscalls)"),
    ("_asynciomodule", "asyncio C tasks"),
    ("bench/apps", "bench app handlers"),
    ("_pyframe_common", "bench app handlers"),
]


def layer_of(file: str) -> str:
    for needle, label in LAYERS:
        if needle in file:
            return label.format(name=Path(file).name)
    return f"other ({Path(file).name or file})"


def parse_collapsed(path: Path) -> list[tuple[list[str], int]]:
    stacks = []
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if stack and count.isdigit():
            stacks.append((stack.split(";"), int(count)))
    return stacks


def split_frame(frame: str) -> tuple[str, str]:
    m = _FRAME.match(frame)
    if m is None:
        return frame, ""
    return m.group("func"), m.group("file")


def summarise(stacks: list[tuple[list[str], int]], top: int) -> str:
    total = sum(c for _, c in stacks)
    self_time: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    layers: collections.Counter[str] = collections.Counter()
    for frames, count in stacks:
        func, file = split_frame(frames[-1])
        self_time[f"{func} ({file})"] += count
        layers[layer_of(file)] += count
        seen = set()
        for frame in frames:
            func, file = split_frame(frame)
            key = f"{func} ({file})"
            if key not in seen:  # recursion counts once per sample
                seen.add(key)
                inclusive[key] += count
    out = [f"{total} samples\n", "Self time by frame:\n", "| self % | frame |", "|---:|---|"]
    out += [f"| {c / total:6.1%} | `{k}` |" for k, c in self_time.most_common(top)]
    out += ["", "Self time by layer:\n", "| self % | layer |", "|---:|---|"]
    out += [f"| {c / total:6.1%} | {k} |" for k, c in layers.most_common(top)]
    interesting = [(k, c) for k, c in inclusive.most_common()
                   if any(s in k for s in ("pyframe", "aiohttp", "_pyframe_common", "msgspec"))]
    out += ["", "Inclusive time, pyframe and aiohttp frames:\n", "| incl % | frame |", "|---:|---|"]
    out += [f"| {c / total:6.1%} | `{k}` |" for k, c in interesting[:top]]
    return "\n".join(out)


def profile(variant: str, endpoint: str, args: argparse.Namespace) -> None:
    v = next(x for x in VARIANTS if x.name == variant)
    ep = ENDPOINTS[endpoint]
    path = v.paths.get(endpoint, ep.path)
    python = str(PEERS_PYTHON) if v.peer else sys.executable
    OUT_DIR.mkdir(exist_ok=True)
    raw = OUT_DIR / f"{variant}-{endpoint}{'-native' if args.native else ''}.txt"
    with Server(v.script, python, env={"PYFRAME_LOGGING__ACCESS_LOG": "false", **v.env},
                nice=args.nice) as server:
        server.start()
        wrk_cmd = ["taskset", "-c", "1", "wrk", "-t1", "-c64", f"-d{args.duration + 4}s"]
        for name, value in HEADERS.items():
            wrk_cmd += ["-H", f"{name}: {value}"]
        if ep.method == "POST":
            wrk_cmd += ["-s", str(BENCH_DIR / "post.lua")]
        wrk = subprocess.Popen(wrk_cmd + [f"http://127.0.0.1:{server.port}{path}"],
                               stdout=subprocess.PIPE, text=True)
        try:
            time.sleep(1.5)  # let wrk open its connections: sampling starts under steady load
            spy = ["taskset", "-c", "1", str(PY_SPY), "record", "--pid", str(server.pid),
                   "--duration", str(args.duration), "--rate", str(args.rate),
                   "--format", "raw", "-o", str(raw)]
            spy += ["--native"] if args.native else []
            spy += ["--nonblocking"] if args.nonblocking else []
            subprocess.run(spy, check=True, capture_output=True, timeout=args.duration + 60)
            out, _ = wrk.communicate(timeout=args.duration + 60)
        finally:
            if wrk.poll() is None:
                wrk.kill()
                wrk.wait()
    rps = parse_wrk(out)["requests_per_s"]
    print(f"\n## {variant} {ep.method} {path}  (req/s while sampled: {rps:,.0f})\n")
    print(f"collapsed stacks: {raw.relative_to(BENCH_DIR.parent)}\n")
    print(summarise(parse_collapsed(raw), args.top), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--variant", default="pyframe")
    parser.add_argument("--endpoints", default="plaintext,json")
    parser.add_argument("--duration", type=int, default=10, help="seconds of sampling")
    parser.add_argument("--rate", type=int, default=200, help="samples per second")
    parser.add_argument("--native", action="store_true", help="include C frames")
    parser.add_argument("--nonblocking", action="store_true",
                        help="sample without pausing the server (less accurate stacks)")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--nice", type=int, default=-10)
    args = parser.parse_args()
    if not PY_SPY.exists():
        sys.exit("py-spy is not in bench/.venv-peers: run bench/setup_peers.sh")
    for endpoint in args.endpoints.split(","):
        profile(args.variant, endpoint, args)


if __name__ == "__main__":
    main()
