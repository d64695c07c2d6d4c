"""Built-in plugin declaring the value serializers of params.json (paths, enumerations)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterator

from xpm_core.plugin.hookspecs import hookimpl

if TYPE_CHECKING:
    from xpm_core.plugin.components import SerializerType


@hookimpl
def xpm_serializers() -> Iterator[SerializerType]:
    from xpm_core.plugin.components import SerializerType  # noqa: PLC0415 - attrs only when registering

    yield SerializerType(
        name="path",
        factory="xpm_core.builtin.serializers.standard_types:PathSerializer",
        python_types=("pathlib:PurePath",),
        type_tags=("path", "path.serialized"),
        summary="filesystem paths, relative to the job or workspace when possible",
    )
    yield SerializerType(
        name="enum",
        factory="xpm_core.builtin.serializers.standard_types:EnumSerializer",
        python_types=("enum:Enum",),
        summary="enumeration members, by name",
    )
