"""xpm-oar's entry module: declares the ``oar`` launcher and the ``xpm oar`` commands."""

from __future__ import annotations

from typing import Iterator

from xpm_core.plugin import CommandType, LauncherType, hookimpl


@hookimpl
def xpm_launchers() -> Iterator[LauncherType]:
    yield LauncherType(
        name="oar",
        factory="xpm_oar.launcher:OarLauncher",
        settings="xpm_oar.settings:OarSettings",
        summary="Submit jobs to OAR with oarsub -S (job arrays, batched oarstat polling)",
    )


@hookimpl
def xpm_commands() -> Iterator[CommandType]:
    yield CommandType(
        name="oar",
        factory="xpm_oar.cli:oar_group",
        summary="Inspect the OAR cluster as the oar launcher sees it (queues, resources).",
    )
