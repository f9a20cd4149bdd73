"""Rate limiting for pyframe: GCRA limits shared across workers and machines.

The modules re-exported here are pure (they do not import pyframe): the limiter's math and
its Lua twin, client keys, the answer's fields and the route rules.
"""

from .decorators import exempt, limit
from .gcra import Decision, LimitState, Rate, decide
from .headers import Answer, policy_field, ratelimit_field
from .keys import AddressKey, FunctionKey, HeaderKey, UserKey, build_key_func, parse_key_spec
from .limits import Limit, LimitSyntaxError, parse_limit, parse_limits
from .proxies import TrustedProxies, client_address
from .rules import RouteLimits, RouteRule, RuleSet
from .strategy import GCRA_LUA, BucketStore, GcraStrategy, RateLimitStrategy, ScriptError

__all__ = [
    "AddressKey", "Answer", "BucketStore", "Decision", "FunctionKey", "GCRA_LUA",
    "GcraStrategy", "HeaderKey", "Limit", "LimitState", "LimitSyntaxError", "Rate",
    "RateLimitStrategy", "RouteLimits", "RouteRule", "RuleSet", "ScriptError", "TrustedProxies",
    "UserKey",
    "build_key_func", "client_address", "decide", "exempt", "limit", "parse_key_spec",
    "parse_limit", "parse_limits", "policy_field", "ratelimit_field",
]
