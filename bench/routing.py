"""Router.match in-process: static path, one dynamic route, and the last of N dynamic routes.

    uv run python bench/routing.py [--number 200000]

Shows that matching does not grow with the route count: the 1 000- and 10 000-route tables
match their last route in about the time a one-route table takes.
"""

from __future__ import annotations

import argparse
import statistics
import timeit

from pyframe.routing import Route, Router


async def handler(context):  # never called: only matched
    return ""


def table(n: int, pattern: str) -> Router:
    router = Router()
    router.add(Route("/plaintext", ["GET"], handler))
    for i in range(n):
        router.add(Route(pattern.format(i=i), ["GET"], handler))
    return router


CASES = [
    # (label, routes, pattern, path)
    ("static /plaintext", 0, "", "/plaintext"),
    ("1 dynamic route, /users/<int:id>", 1, "/users/<int:id>", "/users/42"),
    ("1 000 dynamic routes, last /r999/<int:id>", 1000, "/r{i}/<int:id>", "/r999/42"),
    ("10 000 dynamic routes, last /r9999/<int:id>", 10_000, "/r{i}/<int:id>", "/r9999/42"),
    # Every route shares the first, dynamic segment: the trie descends one param node, then
    # picks the static tail by dict lookup.
    ("1 000 routes /items/<int:id>/f{i}, last", 1000, "/items/<int:id>/f{i}", "/items/42/f999"),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--number", type=int, default=200_000, help="matches per repeat")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    print(f"Router.match, best and median of {args.repeat} x {args.number:,} calls")
    print("| case | routes | best ns/match | median ns/match |\n|---|---:|---:|---:|")
    for label, n, pattern, path in CASES:
        router = table(n if pattern else 0, pattern)
        route, params = router.match("GET", path)  # the case must really match
        assert route.path != "/plaintext" or path == "/plaintext", (label, route)
        if pattern:
            assert params.get("id") == 42, (label, params)
        times = timeit.repeat(lambda: router.match("GET", path), number=args.number,
                              repeat=args.repeat)
        per = [t / args.number * 1e9 for t in times]
        print(f"| {label} | {len(router):,} | {min(per):.0f} | {statistics.median(per):.0f} |",
              flush=True)


if __name__ == "__main__":
    main()
