"""The built-in value serializers (paths, enumerations); importing them loads no plugin machinery."""

from __future__ import annotations

import importlib
from enum import Enum
from pathlib import Path, PurePath
from typing import Any

from xpm_core.plugin.value_serializer import DeserializationContext, SerializationContext, ValueSerializer


class PathSerializer(ValueSerializer):
    """``{"type": "path", "value": ..., "base": "job" | "workspace"}`` (experimaestro's params.json v3 form).

    A path under the job directory (else the workspace) is written relative to it, so that a
    job directory can move with its workspace; other paths are absolute.
    """

    def serialize(self, value: PurePath, context: SerializationContext) -> dict[str, Any]:
        for base, root in (("job", context.job_path), ("workspace", context.workspace_path)):
            if root is not None:
                try:
                    return {"type": "path", "value": str(value.relative_to(root)), "base": base}
                except ValueError:
                    pass
        return {"type": "path", "value": str(value)}

    def deserialize(self, data: dict[str, Any], context: DeserializationContext) -> Path:
        if data["type"] == "path.serialized":
            # experimaestro's DataPath copies, stored relative to the saved directory
            return Path(data["value"])
        base = data.get("base")
        if base is None:
            return Path(data["value"])
        root = (
            context.job_path
            if base == "job"
            else context.workspace_path if base == "workspace" else None
        )
        if base not in ("job", "workspace"):
            raise ValueError(
                f"unknown path base {base!r} in {data!r}: expected 'job' or 'workspace'"
            )
        if root is None:
            raise ValueError(
                f"cannot resolve the {base}-relative path {data['value']!r}: the {base} directory is unknown "
                "(load job parameters with from_task_dir(job_directory))"
            )
        return root / data["value"]


class EnumSerializer(ValueSerializer):
    """``{"type": "enum", "module": ..., "enum": "Qual.Name", "value": "MEMBER"}``."""

    def serialize(self, value: Enum, context: SerializationContext) -> dict[str, Any]:
        cls = type(value)
        return {
            "type": "enum",
            "module": cls.__module__,
            "enum": cls.__qualname__,
            "value": value.name,
        }

    def deserialize(self, data: dict[str, Any], context: DeserializationContext) -> Enum:
        target: Any = importlib.import_module(data["module"])
        for part in data["enum"].split("."):
            target = getattr(target, part)
        return target[data["value"]]


#: JSON tags read by the built-in serializers. Built-ins are registered first, so the registry
#: always picks them for these tags: a job process reading params.json uses this table
#: directly instead of loading every plugin.
BUILTIN_TAGS: dict[str, type[ValueSerializer]] = {
    "path": PathSerializer,
    "path.serialized": PathSerializer,
    "enum": EnumSerializer,
}
