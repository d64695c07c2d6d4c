"""experimaestro's ``experimaestro.core.types`` (porting by changing imports): class-level types and hooks."""

from typing import Any

from xpm_core.config.submit_hooks import SubmitHook
from xpm_core.config.xpmtype import ObjectType

__all__ = ["Any", "ObjectType", "SubmitHook"]
