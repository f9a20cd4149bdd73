"""The HTTP benchmark: every server variant under wrk, interleaved, with medians and ratios.

    uv run python bench/run.py [--rounds N] [--duration S] [--only NAMES] [--endpoints NAMES]

Each server runs pinned to core 0 (taskset -c 0), wrk pinned to core 1, 127.0.0.1 only. Each
round starts every variant in turn (A B C A B C ...), checks that every endpoint answers
correctly, warms it up, then measures it. Ratios are to the plain aiohttp Application.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from benchlib import (BENCH_DIR, PEERS_PYTHON, Server, dump_json, export_commit, fetch, median,
                      run_wrk, wait_for_quiet)

REFERENCE = "aiohttp_app"
POST_BODY = (BENCH_DIR / "post.lua").read_text().split("wrk.body = '")[1].split("'")[0]


@dataclass(frozen=True)
class Endpoint:
    name: str
    method: str
    path: str
    expect: Any  # the decoded JSON body, or the exact bytes for plaintext
    # The API reference's response shapes, on pyframe only: the classic endpoint with the same
    # body, which the row is compared with (on pyframe, and on servers that have no shapes).
    twin: str = ""


ENDPOINTS = {
    "plaintext": Endpoint("plaintext", "GET", "/plaintext", b"Hello, World!"),
    "json": Endpoint("json", "GET", "/json", {"message": "Hello, World!"}),
    "users": Endpoint("users", "GET", "/users/42", {"id": 42}),
    "echo": Endpoint("echo", "POST", "/echo", json.loads(POST_BODY)),
    # {'status': 200, 'headers': {'Content-Type': 'text/plain'}, 'body': 'Hello, World!'}
    "plaintext_dict": Endpoint("plaintext_dict", "GET", "/ref/plaintext", b"Hello, World!",
                               twin="plaintext"),
    # The same with 'application/json' and a dict body.
    "json_dict": Endpoint("json_dict", "GET", "/ref/json", {"message": "Hello, World!"},
                          twin="json"),
    "json_class": Endpoint("json_class", "GET", "/ref/json-class",
                           {"message": "Hello, World!"}, twin="json"),
    "html_class": Endpoint("html_class", "GET", "/ref/html", b"Hello, World!",
                           twin="plaintext"),
}
CLASSIC = ("plaintext", "json", "users", "echo")


@dataclass(frozen=True)
class Variant:
    name: str
    script: str
    peer: bool = False  # runs from bench/.venv-peers
    endpoints: tuple[str, ...] = CLASSIC
    paths: dict[str, str] = field(default_factory=dict)  # endpoint -> path when it differs
    modules: tuple[str, ...] = ()  # what a peer needs importable
    optional: bool = False  # only run when named with --only
    env: dict[str, str] = field(default_factory=dict)  # extra environment for the server
    # What the server logs grows by a line per request (the access-log variants): deleted
    # once the variant's runs are over.
    discard_log: bool = False


ALL = tuple(ENDPOINTS)
# The access log on, as production runs: compared with `pyframe` (access log off).
LOG_ON = {"PYFRAME_LOGGING__ACCESS_LOG": "true"}


VARIANTS = [
    Variant("aiohttp_app", "aiohttp_app.py"),
    Variant("aiohttp_lowlevel", "aiohttp_lowlevel.py"),
    Variant("pyframe", "pyframe_app.py", endpoints=ALL),
    Variant("pyframe_log_json", "pyframe_app.py", discard_log=True,
            env={**LOG_ON, "PYFRAME_LOGGING__FORMAT": "json"}),
    Variant("pyframe_log_console", "pyframe_app.py", discard_log=True,
            env={**LOG_ON, "PYFRAME_LOGGING__FORMAT": "console"}),
    Variant("pyframe_noop_plugin", "pyframe_noop_plugin.py"),
    Variant("pyframe_all_plugins", "pyframe_all_plugins.py", endpoints=ALL),
    # Compared with `pyframe`'s users row (a one-route dynamic table).
    Variant("pyframe_1000_routes", "pyframe_1000_routes.py", endpoints=("users",),
            paths={"users": "/r999/42"}),
    # Measurement aid: pyframe with the handler timeout and the request<->context cycle off.
    Variant("pyframe_whatif", "pyframe_whatif.py", optional=True),
    Variant("pyframe_whatif_timeout", "pyframe_whatif.py", optional=True,
            env={"BENCH_WHATIF": "timeout"}),
    Variant("pyframe_whatif_cycle", "pyframe_whatif.py", optional=True,
            env={"BENCH_WHATIF": "cycle"}),
    Variant("starlette_uvicorn", "starlette_app.py", peer=True, modules=("starlette", "uvicorn")),
    Variant("sanic", "sanic_app.py", peer=True, modules=("sanic",)),
    Variant("blacksheep_uvicorn", "blacksheep_app.py", peer=True,
            modules=("blacksheep", "uvicorn")),
    Variant("falcon_uvicorn", "falcon_app.py", peer=True, modules=("falcon", "uvicorn")),
    Variant("starlette_granian", "starlette_granian.py", peer=True,
            modules=("starlette", "granian")),
    # Only with --only: Starlette on uvicorn with uvicorn's access log on (its default).
    Variant("starlette_uvicorn_log", "starlette_app.py", peer=True, optional=True,
            modules=("starlette", "uvicorn"), env={"BENCH_ACCESS_LOG": "1"},
            discard_log=True),
]
# Sent by every request to every server: a real client asks for compression, and it makes the
# compression plugin negotiate instead of returning at the first header check.
HEADERS = {"Accept-Encoding": "gzip"}


def peers_available(variants: list[Variant]) -> dict[str, str]:
    """Peer variant name -> why it is skipped, for peers the peers venv cannot run."""
    skipped = {}
    for v in variants:
        if not v.peer:
            continue
        if not PEERS_PYTHON.exists():
            skipped[v.name] = "no bench/.venv-peers (run bench/setup_peers.sh)"
            continue
        check = "import " + ", ".join(v.modules + ("uvloop",))
        done = subprocess.run([str(PEERS_PYTHON), "-c", check], capture_output=True, timeout=60)
        if done.returncode != 0:
            skipped[v.name] = done.stderr.decode(errors="replace").strip().splitlines()[-1]
    return skipped


def check_endpoint(port: int, endpoint: Endpoint, path: str) -> str | None:
    """None when the endpoint answers 200 with the expected body, else what went wrong."""
    body = POST_BODY.encode() if endpoint.method == "POST" else None
    headers = {"Content-Type": "application/json"} if body else {}
    try:
        status, got = fetch(port, endpoint.method, path, body, headers)
    except OSError as exc:
        return f"{endpoint.method} {path}: {exc}"
    if status != 200:
        return f"{endpoint.method} {path}: status {status}: {got[:200]!r}"
    ok = got == endpoint.expect if isinstance(endpoint.expect, bytes) else \
        _json_or_none(got) == endpoint.expect
    return None if ok else f"{endpoint.method} {path}: unexpected body {got[:200]!r}"


def _json_or_none(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return None


def bench_variant(v: Variant, args: argparse.Namespace, log_dir: Path,
                  results: dict[str, Any], notes: dict[str, str]) -> None:
    python = str(PEERS_PYTHON) if v.peer else sys.executable
    env = {"PYFRAME_LOGGING__ACCESS_LOG": "false", **v.env}
    if args.pythonpath and not v.peer:
        env["PYTHONPATH"] = args.pythonpath
    with Server(v.script, python, env=env, log_dir=log_dir, nice=args.nice) as server:
        startup = server.start()
        if v.name == "pyframe_all_plugins":
            line = next((l for l in server.log_text().splitlines()
                         if l.startswith("PLUGINS_ENABLED:")), "PLUGINS_ENABLED: ?")
            notes[v.name] = "plugins: " + line.split(":", 1)[1].strip()
        for name in v.endpoints:
            if name not in args.endpoints:
                continue
            ep = ENDPOINTS[name]
            path = v.paths.get(name, ep.path)
            problem = check_endpoint(server.port, ep, path)
            key = f"{v.name}/{name}"
            if problem:
                print(f"  {key}: SKIPPED, wrong answer: {problem}", flush=True)
                notes[key] = f"wrong answer: {problem}"
                continue
            url = f"http://127.0.0.1:{server.port}{path}"
            script = BENCH_DIR / "post.lua" if ep.method == "POST" else None
            wrk = dict(connections=args.connections, threads=args.threads, script=script,
                       server_pid=server.pid, headers=HEADERS, nice=args.nice)
            if args.quiet_wait > 0:
                busy, waited = wait_for_quiet(limit=args.noise_limit, timeout=args.quiet_wait)
                if waited > 1:
                    print(f"  {key}: waited {waited:.0f} s for quiet cores (busiest {busy:.0%})",
                          flush=True)
            if args.warmup > 0:
                run_wrk(url, duration=args.warmup, **wrk)
            r = run_wrk(url, duration=args.duration, **wrk)
            for _ in range(args.retries):
                if r.core_other_share <= args.noise_limit:
                    break
                # Something else ran on the server's core (a shared machine): measure again
                # and keep the quietest run, so one busy neighbour does not set a median.
                print(f"  {key}: {r.core_other_share:.0%} of core 0 went elsewhere; re-running",
                      flush=True)
                if args.quiet_wait > 0:
                    wait_for_quiet(limit=args.noise_limit, timeout=args.quiet_wait)
                again = run_wrk(url, duration=args.duration, **wrk)
                r = min(r, again, key=lambda x: x.core_other_share)
            results.setdefault(key, []).append(r.as_dict())
            flag = "" if not (r.non_2xx or r.socket_errors) else \
                f"  (non-2xx {r.non_2xx}, socket errors {r.socket_errors})"
            print(f"  {key:34} {r.requests_per_s:10.0f} req/s  p99 {r.p99_ms:7.2f} ms  "
                  f"wrk cpu {r.wrk_cpu_share:4.0%}  server cpu {r.server_cpu_share:4.0%}  "
                  f"core0 other {r.core_other_share:4.0%}{flag}", flush=True)
        if server.proc is not None and server.proc.poll() is not None:
            raise RuntimeError(f"{v.name} died during the run:\n{server.log_tail()}")
        results.setdefault(f"{v.name}/startup_s", []).append(startup)
    if v.discard_log:
        server.log_path.unlink(missing_ok=True)


def summarise(results: dict[str, list[dict[str, Any]]], variants: list[Variant],
              endpoints: list[str]) -> list[dict[str, Any]]:
    rows = []
    for v in variants:
        for name in endpoints:
            runs = results.get(f"{v.name}/{name}")
            if not runs:
                continue
            rps = median([r["requests_per_s"] for r in runs])
            per_cpu = median([_per_cpu(r) for r in runs])
            ref = results.get(f"{REFERENCE}/{name}") or \
                results.get(f"{REFERENCE}/{ENDPOINTS[name].twin}")
            ratio = rps / median([r["requests_per_s"] for r in ref]) if ref else float("nan")
            ratio_cpu = per_cpu / median([_per_cpu(r) for r in ref]) if ref else float("nan")
            rows.append({
                "variant": v.name, "endpoint": name, "path": v.paths.get(name, ENDPOINTS[name].path),
                "rps": rps, "ratio": ratio, "rps_per_cpu": per_cpu, "ratio_cpu": ratio_cpu,
                "p50_ms": median([r["p50_ms"] for r in runs]),
                "p99_ms": median([r["p99_ms"] for r in runs]),
                "wrk_cpu": median([r["wrk_cpu_share"] for r in runs]),
                "server_cpu": median([r["server_cpu_share"] for r in runs]),
                "core_other": median([r["core_other_share"] for r in runs]),
                "errors": sum(r["non_2xx"] + r["socket_errors"] for r in runs),
                "samples": [round(r["requests_per_s"]) for r in runs],
            })
    return rows


def _per_cpu(run: dict[str, Any]) -> float:
    """Requests per second of server CPU time: what the server would do with its core to itself.

    On a shared machine the server's core is sometimes taken by other processes; req/s falls
    with it, req/s per CPU-second much less. Both columns are printed.
    """
    share = run["server_cpu_share"]
    return run["requests_per_s"] / share if share > 0 else float("nan")


def markdown_table(rows: list[dict[str, Any]]) -> str:
    out = ["| variant | endpoint | req/s (median) | × aiohttp_app | req per server CPU-s | × aiohttp_app "
           "(per CPU-s) | p50 ms | p99 ms | wrk CPU | server CPU | core 0 other | errors "
           "| req/s per round |",
           "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for r in rows:
        endpoint = r["endpoint"] if r["path"] == ENDPOINTS[r["endpoint"]].path else \
            f"{r['endpoint']} (`{r['path']}`)"
        out.append(f"| {r['variant']} | {endpoint} | {r['rps']:,.0f} | {r['ratio']:.2f} | "
                   f"{r['rps_per_cpu']:,.0f} | {r['ratio_cpu']:.2f} | "
                   f"{r['p50_ms']:.2f} | {r['p99_ms']:.2f} | {r['wrk_cpu']:.0%} | "
                   f"{r['server_cpu']:.0%} | {r['core_other']:.0%} | {r['errors']} | "
                   f"{', '.join(f'{s:,}' for s in r['samples'])} |")
    return "\n".join(out)


def comparisons(rows: list[dict[str, Any]], variants: list[Variant]) -> str:
    """The targets' ratios from one table: each reference shape against its bare twin on the
    same server, the access log on against off, every plugin against none, and pyframe against
    the fastest peer on each endpoint (a peer's shape row is its twin's)."""
    rps = {(r["variant"], r["endpoint"]): r["rps"] for r in rows}
    out = []

    def ratio(a: tuple[str, str], b: tuple[str, str]) -> str:
        return f"{rps[a] / rps[b]:.2f}" if a in rps and b in rps else "—"

    shapes = [e for e in ENDPOINTS.values() if e.twin]
    out += ["| variant | " + " | ".join(f"{e.name} / {e.twin}" for e in shapes) + " |",
            "|---|" + "---:|" * len(shapes)]
    for v in variants:
        if any((v.name, e.name) in rps for e in shapes):
            out.append(f"| {v.name} | " + " | ".join(
                ratio((v.name, e.name), (v.name, e.twin)) for e in shapes) + " |")
    pairs = [("pyframe_log_json", "pyframe"), ("pyframe_log_console", "pyframe"),
             ("pyframe_all_plugins", "pyframe"), ("starlette_uvicorn_log", "starlette_uvicorn")]
    out += ["", "| variant / against | " + " | ".join(ENDPOINTS) + " |",
            "|---|" + "---:|" * len(ENDPOINTS)]
    for a, b in pairs:
        if any((a, e) in rps for e in ENDPOINTS):
            out.append(f"| {a} / {b} | " + " | ".join(ratio((a, e), (b, e)) for e in ENDPOINTS)
                       + " |")
    peers = [v.name for v in variants if v.peer and not v.optional]
    if peers:
        out += ["", "| endpoint | fastest peer | its req/s | pyframe × it | pyframe_all_plugins × it |",
                "|---|---|---:|---:|---:|"]
        for e in ENDPOINTS.values():
            own = e.name if e.twin == "" else e.twin
            best = max(((rps[(p, own)], p) for p in peers if (p, own) in rps), default=None)
            if best is None:
                continue
            cells = [f"{rps[(n, e.name)] / best[0]:.2f}" if (n, e.name) in rps else "—"
                     for n in ("pyframe", "pyframe_all_plugins")]
            out.append(f"| {e.name} | {best[1]} | {best[0]:,.0f} | " + " | ".join(cells) + " |")
    return "\n".join(out)


def machine() -> dict[str, str]:
    model = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo")
                  if l.startswith("model name")), "?")
    import uvloop

    return {"nproc": str(os.cpu_count()), "cpu": model, "python": platform.python_version(),
            "aiohttp": aiohttp.__version__, "uvloop": uvloop.__version__,
            "kernel": platform.release(),
            "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}


def _git(*cmd: str) -> str:
    return subprocess.run(["git", *cmd], cwd=BENCH_DIR.parent, capture_output=True, text=True,
                          timeout=30).stdout.strip()


def _head() -> str:
    return _git("rev-parse", "HEAD")


def _dirty() -> bool:
    return bool(_git("status", "--porcelain", "--", "core", "plugins"))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--rounds", type=int, default=3, help="interleaved rounds (default 3)")
    p.add_argument("--duration", type=int, default=10, help="seconds per wrk run (default 10)")
    p.add_argument("--warmup", type=int, default=1,
                   help="seconds of unmeasured wrk load before each run, 0 for none (default 1)")
    p.add_argument("--connections", type=int, default=64)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--nice", type=int, default=-10 if os.geteuid() == 0 else 0,
                   help="niceness of servers and wrk (default -10 as root, so a busy shared "
                        "machine steals less of the pinned cores; 0 otherwise)")
    p.add_argument("--noise-limit", type=float, default=0.15,
                   help="re-run once when more than this share of core 0 went to something "
                        "other than the server (default 0.15)")
    p.add_argument("--quiet-wait", type=float, default=30.0,
                   help="before each run, wait up to this many seconds until cores 0 and 1 are "
                        "idle (others' processes below --noise-limit); 0 to skip (default 30)")
    p.add_argument("--retries", type=int, default=2,
                   help="at most this many re-runs of a noisy run (default 2)")
    p.add_argument("--commit", default="",
                   help="benchmark pyframe as of this git revision (its core/ and plugins/ "
                        "exported to a temp dir and put first on PYTHONPATH) instead of the "
                        "working tree")
    p.add_argument("--only", default="", help="comma-separated variant names (default: all)")
    p.add_argument("--endpoints", default=",".join(ENDPOINTS),
                   help=f"comma-separated endpoints (default: {','.join(ENDPOINTS)})")
    p.add_argument("--no-extras", action="store_true",
                   help="skip the routing micro-benchmark and the cold-start measurement")
    p.add_argument("--json", type=Path, help="also write every raw result to this file")
    args = p.parse_args(argv)
    args.endpoints = [e for e in args.endpoints.split(",") if e]
    unknown = set(args.endpoints) - set(ENDPOINTS)
    if unknown:
        p.error(f"unknown endpoints {sorted(unknown)}; known: {', '.join(ENDPOINTS)}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if (os.cpu_count() or 1) < 2:
        print("warning: one CPU: server and wrk share it, ratios still hold but not absolutes")
    names = [n for n in args.only.split(",") if n]
    known = {v.name for v in VARIANTS}
    if set(names) - known:
        print(f"unknown variants {sorted(set(names) - known)}; known: {', '.join(sorted(known))}")
        return 2
    variants = [v for v in VARIANTS if v.name in names or (not names and not v.optional)]
    skipped = peers_available(variants)
    for name, why in skipped.items():
        print(f"skipping {name}: {why}")
    variants = [v for v in variants if v.name not in skipped]
    runs_per_round = sum(len([e for e in v.endpoints if e in args.endpoints]) for v in variants)
    estimate = args.rounds * runs_per_round * (args.duration + args.warmup + 0.3) \
        + args.rounds * len(variants) * 2
    info = machine()
    args.pythonpath = ""
    if args.commit:
        sha, args.pythonpath = export_commit(args.commit, Path(tempfile.mkdtemp(prefix="pyframe-src-")))
        info["pyframe"] = f"commit {sha}"
    else:
        info["pyframe"] = f"working tree at {_head()}" + (" (uncommitted changes)" if _dirty() else "")
    print(f"pyframe: {info['pyframe']}")
    print(f"{info['date']}  nproc={info['nproc']}  cpu={info['cpu']}  python {info['python']}  "
          f"aiohttp {info['aiohttp']}  uvloop {info['uvloop']}")
    print(f"{len(variants)} variants, {runs_per_round} wrk runs per round, {args.rounds} rounds: "
          f"about {estimate / 60:.1f} min", flush=True)
    log_dir = Path(os.environ.get("TMPDIR", "/tmp")) / f"pyframe-bench-{os.getpid()}"
    log_dir.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {}
    notes: dict[str, str] = {}
    began = time.perf_counter()
    for rnd in range(1, args.rounds + 1):
        print(f"round {rnd}/{args.rounds}", flush=True)
        for v in variants:
            try:
                bench_variant(v, args, log_dir, results, notes)
            except (RuntimeError, TimeoutError, OSError) as exc:
                print(f"  {v.name}: FAILED: {exc}", flush=True)
                notes[v.name] = f"failed: {str(exc).splitlines()[0]}"
    rows = summarise(results, variants, args.endpoints)
    print(f"\nwrk -t{args.threads} -c{args.connections} -d{args.duration:g}s --latency, "
          f"{args.rounds} rounds, medians; took {(time.perf_counter() - began) / 60:.1f} min\n")
    print(markdown_table(rows))
    print("\n" + comparisons(rows, variants))
    startups = {v.name: median(results.get(f"{v.name}/startup_s", [])) for v in variants}
    print("\nstart-up to first answer (s, median): " +
          ", ".join(f"{k} {s:.2f}" for k, s in startups.items()))
    for key, note in notes.items():
        print(f"note: {key}: {note}")
    if args.json:
        dump_json(args.json, {"machine": info, "args": {k: str(v) for k, v in vars(args).items()},
                              "rows": rows, "raw": results, "notes": notes,
                              "skipped": skipped})
    if not args.no_extras and not names:
        env = {**os.environ, **({"PYTHONPATH": args.pythonpath} if args.pythonpath else {})}
        for extra in ("routing.py", "coldstart.py"):
            print(f"\n$ python bench/{extra}", flush=True)
            subprocess.run([sys.executable, str(BENCH_DIR / extra)], timeout=600, check=False,
                           env=env)
    return 0


if __name__ == "__main__":
    sys.exit(main())
