"""Optional adapters that let apps written for another framework's API run on pyframe.

Nothing here is imported by pyframe itself: an app that does not import an adapter does not
load it, and its request path is untouched. ``pyframe.compat.outside`` is the first.
"""

__all__: list[str] = []
