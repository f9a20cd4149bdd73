"""CORS for pyframe, following the Fetch standard."""

from .config import CorsConfig
from .middleware import CORSMiddleware
from .plugin import CorsPlugin

__all__ = ["CORSMiddleware", "CorsConfig", "CorsPlugin"]
