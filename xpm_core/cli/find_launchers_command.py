"""``xpm find-launchers SPEC``: read a requirement spec and show the launcher launchers.py picks for it."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Optional

import click

if TYPE_CHECKING:
    from xpm_core.launcherfinder.specs import HostSimpleRequirement


def _describe(requirement: HostSimpleRequirement) -> list[str]:
    """Lines describing one alternative: duration, CPU, accelerators, in plain words."""
    from xpm_core.launcherfinder.specs import SPEC_KEYWORDS
    from xpm_core.launcherfinder.units import format_duration, format_size

    cpu = requirement.cpu
    needs = [f"{cpu.cores} core(s)"] if cpu.cores else []
    needs += [f"{format_size(cpu.memory)} of memory"] if cpu.memory else []
    lines = [f"cpu: {', '.join(needs) or 'no requirement'}"]
    if requirement.accelerators:
        devices = ", ".join(
            f"{SPEC_KEYWORDS[device.kind]}" + (f" with {format_size(device.memory)}" if device.memory else "")
            for device in requirement.accelerators
        )
        lines.append(f"accelerators: {len(requirement.accelerators)} ({devices})")
    lines.append(f"duration: {format_duration(requirement.duration) if requirement.duration else 'not limited'}")
    return lines


@click.command("find-launchers")
@click.argument("spec")
@click.option("--config", "config_dir", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="The configuration folder holding launchers.py (default: $XPM_CONFIG_DIR or ~/.config/xpm).")
@click.option("--tag", "tags", multiple=True, metavar="TAG", help="A tag passed to launchers.py (repeatable).")
def find_launchers_command(spec: str, config_dir: Optional[Path], tags: tuple[str, ...]) -> None:
    """Show how SPEC is read and which launcher launchers.py returns for it.

    SPEC is a requirement spec, e.g. "duration=4h & cuda(mem=16G) * 2 | cpu(cores=8)"
    (alternatives in priority order, see docs/launchers.md). Without launchers.py, every job
    runs on this machine with the direct launcher.
    """
    from xpm_core.launcherfinder import (
        LauncherNotFoundError,
        LaunchersFileError,
        RequirementSpecError,
        config_directory,
        find_launcher,
        parse,
    )
    from xpm_core.launcherfinder.finder import LAUNCHERS_FILE

    try:
        requirement = parse(spec)
    except RequirementSpecError as error:
        raise click.BadParameter(str(error), param_hint="SPEC") from None
    click.echo(f"Requirement: {requirement}")
    for position, alternative in enumerate(requirement.requirements, 1):
        click.echo(f"  alternative {position}: {alternative}")
        for line in _describe(alternative):
            click.echo(f"    {line}")

    launchers_file = config_directory(config_dir) / LAUNCHERS_FILE
    try:
        launcher = find_launcher(spec, tags=tags, config_dir=config_dir)
    except LauncherNotFoundError as error:
        raise click.ClickException(str(error)) from None
    except LaunchersFileError as error:
        raise click.ClickException(f"launchers.py failed: {error}") from None
    click.echo(f"Launcher: {launcher!r}")
    if launchers_file.is_file():
        click.echo(f"  (chosen by {launchers_file})")
    else:
        click.echo(f"  (there is no {launchers_file}: every job runs on this machine)")
