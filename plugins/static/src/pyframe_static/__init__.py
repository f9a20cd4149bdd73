"""Static file serving for pyframe."""

from .config import MountConfig, StaticConfig
from .plugin import StaticPlugin

__all__ = ["StaticPlugin", "StaticConfig", "MountConfig"]
