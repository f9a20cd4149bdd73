"""Rate limiting for pyframe: GCRA limits shared across workers and machines.

``RateLimitMiddleware`` and ``RateLimitPlugin`` wire the limiter into an app; the other names
are its pure parts (no pyframe import in their modules): the limiter's math and its Lua twin,
client keys, the answer's fields, the route rules and the ``@limit`` / ``@exempt`` decorators.
"""

from .config import RateLimitConfig, RouteConfig
from .decorators import exempt, limit
from .gcra import Decision, LimitState, Rate, decide
from .headers import Answer, policy_field, ratelimit_field
from .keys import AddressKey, FunctionKey, HeaderKey, UserKey, build_key_func, parse_key_spec
from .limiter import Limiter
from .limits import Limit, LimitSyntaxError, parse_limit, parse_limits
from .middleware import RateLimitMiddleware, UserKeyedLimits
from .ops import GCRA_OP, atomic_op
from .plugin import RateLimitPlugin
from .proxies import TrustedProxies, client_address
from .rules import RouteLimits, RouteRule, RuleSet
from .strategy import GCRA_LUA, BucketStore, GcraStrategy, RateLimitStrategy, ScriptError

__all__ = [
    "AddressKey", "Answer", "BucketStore", "Decision", "FunctionKey", "GCRA_LUA", "GCRA_OP",
    "GcraStrategy", "HeaderKey", "Limit", "LimitState", "Limiter", "LimitSyntaxError", "Rate",
    "RateLimitConfig", "RateLimitMiddleware", "RateLimitPlugin", "RateLimitStrategy",
    "RouteConfig", "RouteLimits", "RouteRule", "RuleSet", "ScriptError", "TrustedProxies",
    "UserKey", "UserKeyedLimits",
    "atomic_op", "build_key_func", "client_address", "decide", "exempt", "limit",
    "parse_key_spec", "parse_limit", "parse_limits", "policy_field", "ratelimit_field",
]
