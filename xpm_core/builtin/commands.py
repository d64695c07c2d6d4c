"""Built-in plugin contributing the core's ``xpm`` sub-commands."""

from __future__ import annotations

from typing import Iterator

from xpm_core.components import CommandType
from xpm_core.hookspecs import hookimpl


@hookimpl
def xpm_commands() -> Iterator[CommandType]:
    yield CommandType(
        name="plugins",
        factory="xpm_core.cli.plugins_command:plugins_command",
        summary="List installed plugins and what they provide.",
    )
