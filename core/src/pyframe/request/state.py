"""Typed per-app state: ``app.state[KEY]`` with keys that cannot collide.

A plugin or an app keeps objects for the app's lifetime under an :class:`AppKey`, made once at
module level (``DB = AppKey("myplugin.db", Database)``); two keys with the same name are still
different keys, so plugins never overwrite each other. aiohttp's ``AppKey`` is the model.
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar, overload

__all__ = ["AppKey", "AppState"]

T = TypeVar("T")


class AppKey(Generic[T]):
    """A key of ``app.state``: identity-compared, with a name for messages and a value type."""

    __slots__ = ("name", "type")

    def __init__(self, name: str, type: type[T] | None = None) -> None:  # noqa: A002
        self.name = name
        self.type = type

    def __repr__(self) -> str:
        kind = getattr(self.type, "__qualname__", None)
        return f"<AppKey {self.name}{f' ({kind})' if kind else ''}>"


class AppState(dict):
    """``app.state``: a dict whose typed keys are :class:`AppKey` objects.

    String keys still work for an app's own use; plugins use AppKeys. A missing key's error
    names the key.
    """

    @overload
    def __getitem__(self, key: AppKey[T]) -> T: ...
    @overload
    def __getitem__(self, key: str) -> Any: ...

    def __getitem__(self, key: Any) -> Any:
        try:
            return dict.__getitem__(self, key)
        except KeyError:
            name = key.name if isinstance(key, AppKey) else key
            raise KeyError(f"app.state has no {name!r}") from None

    @overload
    def get(self, key: AppKey[T], default: None = None) -> T | None: ...
    @overload
    def get(self, key: AppKey[T], default: T) -> T: ...
    @overload
    def get(self, key: str, default: Any = None) -> Any: ...

    def get(self, key: Any, default: Any = None) -> Any:
        return dict.get(self, key, default)

    def setdefault(self, key: Any, default: Any = None) -> Any:
        return dict.setdefault(self, key, default)
