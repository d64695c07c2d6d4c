"""xpm-slurm's entry module: declares the ``slurm`` launcher, the ``xpm slurm`` commands and its agent-skill section."""

from __future__ import annotations

from typing import Iterator

from xpm_core.plugin import CommandType, LauncherType, SkillSectionType, hookimpl


@hookimpl
def xpm_launchers() -> Iterator[LauncherType]:
    yield LauncherType(
        name="slurm",
        factory="xpm_slurm.launcher:SlurmLauncher",
        settings="xpm_slurm.settings:SlurmSettings",
        summary="Submit jobs to Slurm with sbatch (job arrays, batched sacct polling)",
    )


@hookimpl
def xpm_commands() -> Iterator[CommandType]:
    yield CommandType(
        name="slurm",
        factory="xpm_slurm.cli:slurm_group",
        summary="Inspect the Slurm cluster as the slurm launcher sees it (partitions, limits).",
    )


@hookimpl
def xpm_skill_sections() -> Iterator[SkillSectionType]:
    yield SkillSectionType(
        name="slurm",
        title="Slurm launcher options",
        factory="xpm_slurm.skill:section",
        summary="SlurmLauncher, SlurmOptions (sbatch options), launcher settings, xpm slurm commands",
    )
