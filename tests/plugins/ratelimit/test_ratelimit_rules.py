"""Route rules and decorators: which limits a route gets, and what is refused at set-up."""

from __future__ import annotations

import functools

import pytest

from pyframe_ratelimit import Limit, RouteRule, RuleSet, exempt, limit, parse_limit
from pyframe_ratelimit.decorators import HandlerMark, mark_of
from pyframe_ratelimit.rules import parse_pattern, pattern_matches

DEFAULT = (Limit.per_minute(60, 10),)


def covers(rule: str, route: str) -> bool:
    return pattern_matches(parse_pattern(rule), parse_pattern(route))


@pytest.mark.parametrize("rule, route, expected", [
    ("/login", "/login", True),
    ("/login", "/login/", False),
    ("/login", "/logout", False),
    ("/", "/", True),
    ("/api/<path:rest>", "/api/users", True),
    ("/api/<path:rest>", "/api/users/<int:id>", True),
    ("/api/<path:rest>", "/api/<path:rest>", True),
    ("/api/<path:rest>", "/api", False),
    ("/api/<path:rest>", "/apis/x", False),
    ("/users/<id>", "/users/<int:user_id>", True),
    ("/users/<int:id>", "/users/me", True),
    ("/users/<id>", "/users/<id>/posts", False),
    ("/files/<name>", "/files/<path:p>", False),
    ("/<path:all>", "/", False),
    ("/<path:all>", "/anything/<int:x>/deep", True),
])
def test_rule_patterns_cover_route_patterns(rule, route, expected):
    assert covers(rule, route) is expected


@pytest.mark.parametrize("pattern, message", [
    ("login", "starts with '/'"),
    ("/a/<path:rest>/b", "must be the last segment"),
    ("/a/x<id>", "fills a whole segment"),
    ("/a/<bogus:id>", "unknown converter 'bogus'"),
])
def test_bad_patterns_are_refused_like_the_router_does(pattern, message):
    with pytest.raises(ValueError, match=message):
        parse_pattern(pattern)
    with pytest.raises(ValueError, match=message):
        RouteRule(pattern, ("1/second",))


def test_the_default_applies_without_rules_and_to_unrouted_requests():
    rules = RuleSet(DEFAULT)
    resolved = rules.resolve("/anything", "GET")
    assert resolved.limits == DEFAULT and resolved.scope == "default"
    assert resolved.source == "default" and resolved.key is None
    assert rules.resolve(None, "GET") is resolved  # 404s are limited too
    assert RuleSet().resolve("/x", "GET").limits == ()


def test_the_most_specific_rule_wins():
    rules = RuleSet(DEFAULT, [
        RouteRule("/api/<path:rest>", ("100/minute",)),
        RouteRule("/api/v1/<path:rest>", ("50/minute",)),
        RouteRule("/api/v1/users/<id>", ("20/minute",)),
        RouteRule("/api/v1/users/me", exempt=True),
    ])
    assert rules.resolve("/api/v2/x", "GET").limits == (parse_limit("100/minute"),)
    assert rules.resolve("/api/v1/x", "GET").limits == (parse_limit("50/minute"),)
    assert rules.resolve("/api/v1/users/<int:id>", "GET").limits == (parse_limit("20/minute"),)
    me = rules.resolve("/api/v1/users/me", "GET")
    assert me.exempt and me.limits == ()
    assert rules.resolve("/other", "GET").limits == DEFAULT


def test_a_rule_shares_its_buckets_across_the_routes_it_covers():
    rules = RuleSet(DEFAULT, [RouteRule("/api/<path:rest>", ("100/minute",))])
    assert rules.resolve("/api/a", "GET").scope == rules.resolve("/api/b/<x>", "GET").scope
    assert rules.resolve("/api/a", "GET").scope == "rule:/api/<path:rest>"
    assert rules.resolve("/api/a", "GET").source == "rule /api/<path:rest>"


def test_method_rules():
    rules = RuleSet(DEFAULT, [
        RouteRule("/login", ("5/minute",), methods=("post",)),
        RouteRule("/page", ("10/minute",), methods=("GET",)),
        RouteRule("/login", exempt=True),
    ])
    assert rules.resolve("/login", "POST").limits == (parse_limit("5/minute"),)
    assert rules.resolve("/login", "POST").scope == "rule:POST:/login"
    assert rules.resolve("/login", "GET").exempt
    assert rules.resolve("/page", "HEAD").limits == (parse_limit("10/minute"),)
    assert rules.resolve("/page", "POST").limits == DEFAULT


@pytest.mark.parametrize("rules", [
    [RouteRule("/a/<x>", ("1/second",)), RouteRule("/a/<int:y>", ("2/second",))],
    [RouteRule("/a", ("1/second",), methods=("GET", "POST")),
     RouteRule("/a", ("2/second",), methods=("POST",))],
    [RouteRule("/a/<path:p>", ("1/second",)), RouteRule("/a/<path:q>", exempt=True)],
])
def test_rules_that_cover_the_same_routes_are_refused(rules):
    with pytest.raises(ValueError, match="cover the same routes"):
        RuleSet(DEFAULT, rules)


def test_rules_with_disjoint_methods_may_share_a_pattern():
    RuleSet(DEFAULT, [RouteRule("/a", ("1/second",), methods=("GET",)),
                      RouteRule("/a", ("2/second",), methods=("POST",))])


@pytest.mark.parametrize("kwargs, error, message", [
    ({"pattern": "/a"}, ValueError, "give it limits or exempt"),
    ({"pattern": "/a", "limits": ("1/second",), "exempt": True}, ValueError,
     "give it limits or exempt"),
    ({"pattern": "/a", "limits": ("1/sec",)}, ValueError, "unknown unit"),
    ({"pattern": "/a", "limits": ("1/second",), "methods": ("FETCH",)}, ValueError,
     "unknown method 'FETCH'"),
    ({"pattern": "/a", "limits": ("1/second",), "methods": "GET"}, TypeError,
     "methods is a list"),
    ({"pattern": "/a", "limits": ("1/second",), "key": "cookie"}, ValueError, "unknown key"),
    ({"pattern": "/a", "limits": ("1/second", "1/second")}, ValueError, "two limits"),
])
def test_bad_rules_are_refused(kwargs, error, message):
    with pytest.raises(error, match=message):
        RouteRule(**kwargs)


def test_a_rule_set_takes_rules_only():
    with pytest.raises(TypeError, match="RouteRule objects"):
        RuleSet(DEFAULT, [{"pattern": "/a"}])  # type: ignore[list-item]


def test_decorated_handlers_win_over_rules_and_get_their_own_buckets():
    @limit("5/minute", "100/hour", key="user")
    async def login(context):
        return "ok"

    @exempt
    async def health(context):
        return "ok"

    rules = RuleSet(DEFAULT, [RouteRule("/<path:all>", ("1/second",))])
    resolved = rules.resolve("/login", "POST", login)
    assert resolved.limits == (parse_limit("5/minute"), parse_limit("100/hour"))
    assert resolved.key == "user" and resolved.scope == "route:/login"
    assert resolved.source == "handler"
    assert rules.resolve("/health", "GET", health).exempt
    assert rules.resolve("/other", "GET", lambda c: c).limits == (parse_limit("1/second"),)


def test_resolving_is_cached_per_route():
    rules = RuleSet(DEFAULT, [RouteRule("/api/<path:rest>", ("100/minute",))])
    assert rules.resolve("/api/x", "GET") is rules.resolve("/api/x", "GET")


def test_the_decorator_marks_the_same_function():
    async def handler(context):
        return "ok"

    assert limit("5/minute")(handler) is handler
    assert mark_of(handler) == HandlerMark((parse_limit("5/minute"),))
    assert mark_of(lambda c: c) is None


def test_marks_survive_functools_wraps():
    @limit("5/minute")
    def inner(context):
        return "ok"

    @functools.wraps(inner)
    def outer(context):
        return inner(context)

    assert mark_of(outer) == mark_of(inner)


def test_stacked_limits_add_up_and_conflicts_are_refused():
    @limit("10/second")
    @limit("100/hour")
    def handler(context):
        return "ok"

    assert [lim.name for lim in mark_of(handler).limits] == ["100-per-hour", "10-per-second"]

    with pytest.raises(ValueError, match="@exempt and @limit"):
        limit("1/second")(exempt(lambda c: c))
    with pytest.raises(ValueError, match="@limit and @exempt"):
        exempt(limit("1/second")(lambda c: c))
    with pytest.raises(ValueError, match="two limits are named"):
        limit("1/second")(limit("1/second")(lambda c: c))
    with pytest.raises(ValueError, match="name two keys"):
        limit("1/second", key="ip")(limit("1/hour", key="user")(lambda c: c))


def test_decorator_mistakes_fail_at_import_time():
    with pytest.raises(TypeError, match="at least one limit"):
        limit()
    with pytest.raises(TypeError, match=r"write @limit\('5/minute'\)"):
        limit(lambda c: c)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown unit"):
        limit("5/minit")
    with pytest.raises(ValueError, match="unknown key"):
        limit("5/minute", key="session")
    with pytest.raises(TypeError, match="cannot mark"):
        limit("5/minute")(len)
