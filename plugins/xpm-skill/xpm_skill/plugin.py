"""xpm-skill's entry module: declares the ``xpm install-skill`` command."""

from __future__ import annotations

from typing import Iterator

from xpm_core.plugin import CommandType, hookimpl


@hookimpl
def xpm_commands() -> Iterator[CommandType]:
    yield CommandType(
        name="install-skill",
        factory="xpm_skill.cli:install_skill_command",
        summary="Install the xpm agent skill for coding assistants (Claude Code, Cursor, ...).",
    )
