"""The interface of value serializers: how a non-JSON value type is written to and read from JSON.

A serializer is declared by a plugin's ``xpm_serializers()`` hook with a
:class:`~xpm_core.plugin.components.SerializerType` naming the Python types it writes and the ``"type"``
tags it reads; the core picks it by the value's class (nearest base first) or by the tag.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, Optional

# Plain classes (not attrs): job processes read params.json through this module, and must
# import little.


class SerializationContext:
    """Where the JSON goes: values under ``job_path`` or ``workspace_path`` may be written relative
    to them. Both are None for a location-independent file (``objects.jsonl``: absolute paths).
    """

    def __init__(
        self, job_path: Optional[Path] = None, workspace_path: Optional[Path] = None
    ) -> None:
        self.job_path = job_path
        self.workspace_path = workspace_path

    def __repr__(self) -> str:
        return f"SerializationContext(job_path={self.job_path!r}, workspace_path={self.workspace_path!r})"


class DeserializationContext:
    """Where the JSON was read from: the bases to resolve relative values against (None if unknown)."""

    def __init__(
        self, job_path: Optional[Path] = None, workspace_path: Optional[Path] = None
    ) -> None:
        self.job_path = job_path
        self.workspace_path = workspace_path

    def __repr__(self) -> str:
        return f"DeserializationContext(job_path={self.job_path!r}, workspace_path={self.workspace_path!r})"


class ValueSerializer(ABC):
    """Writes values of some Python types as JSON objects ``{"type": <tag>, ...}`` and reads them back.

    Implementations must be stateless (one instance serves a whole process) and must only produce
    JSON-native data (dict, list, str, int, float, bool, None).
    """

    @abstractmethod
    def serialize(self, value: Any, context: SerializationContext) -> dict[str, Any]:
        """The JSON object for ``value``; its ``"type"`` is one of the serializer's tags."""

    @abstractmethod
    def deserialize(self, data: dict[str, Any], context: DeserializationContext) -> Any:
        """The value of a JSON object written by :meth:`serialize` (or by experimaestro for the same tag)."""
