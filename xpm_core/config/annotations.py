"""Small experimaestro annotations kept for old code: ``Array[T]`` and ``@config_only``."""

from __future__ import annotations

import inspect
from typing import Any, Callable, List


class Array:
    """``Array[T]``: the old spelling of ``list[T]``."""

    def __class_getitem__(cls, item: Any) -> Any:
        return List[item]


def config_only(method: Callable[..., Any]) -> Callable[..., Any]:
    """Marks a method only meant for configurations (experimaestro accepts bound methods only)."""
    if not inspect.ismethod(method):
        raise TypeError(f"@config_only applies to a method, not {method!r}")
    return method
