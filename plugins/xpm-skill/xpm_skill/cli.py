"""``xpm install-skill``: install, update, list and remove the xpm agent skill for coding assistants."""

from __future__ import annotations

from pathlib import Path

import click

from xpm_skill import __version__
from xpm_skill.installer import InstallError, install, status, uninstall
from xpm_skill.source import SKILL_NAME, build_skill
from xpm_skill.targets import DEFAULT_TARGET, TARGETS, NotInRepositoryError, Target, repository_root


def _shown(path: Path, home: Path) -> str:
    """``path`` with the home folder written ``~`` (shorter, and what users type)."""
    try:
        return "~/" + path.relative_to(home).as_posix()
    except ValueError:
        return str(path)


def _target_help() -> str:
    return "; ".join(f"{t.name}: {t.folder}/skills/ ({t.description})" for t in TARGETS.values())


@click.command(
    "install-skill",
    help=(
        "Install the xpm agent skill, which teaches coding assistants to write and run xpm "
        f"experiments, into each TARGET's skills folder (default: {DEFAULT_TARGET}).\n\n"
        f"Targets: {_target_help()}.\n\n"
        "Run it again after upgrading xpm or installing a plugin to update the skill. A skill file "
        "you edited is never overwritten (nor removed) without --force."
    ),
)
@click.argument("targets", nargs=-1, type=click.Choice(list(TARGETS)), metavar="[TARGET]...")
@click.option("--list", "list_", is_flag=True, help="Show every target: tool detected, skill installed, current.")
@click.option(
    "--project",
    is_flag=True,
    help="Use the current repository's .agents/, .claude/ or .cursor/ folder instead of the home folder.",
)
@click.option("--uninstall", is_flag=True, help="Remove the skill from the targets instead.")
@click.option("--force", is_flag=True, help="Overwrite (or remove) skill files you edited.")
@click.pass_context
def install_skill_command(
    ctx: click.Context, targets: tuple[str, ...], list_: bool, project: bool, uninstall: bool, force: bool
) -> None:
    home = Path.home()
    try:
        base = repository_root(Path.cwd()) if project else home
    except NotInRepositoryError as exc:
        raise click.ClickException(str(exc)) from None
    skill = build_skill()
    for problem in skill.problems:
        click.echo(f"xpm: warning: {problem}", err=True)

    if list_:
        _list(base, home, skill.files)
        return

    chosen = [TARGETS[name] for name in dict.fromkeys(targets or (DEFAULT_TARGET,))]
    failures = 0
    for target in chosen:
        try:
            if uninstall:
                _uninstall(target, base, home, force)
            else:
                _install(target, base, home, skill.files, force)
        except InstallError as exc:
            click.echo(f"Error: {target.name}: {exc}", err=True)
            failures += 1
    if failures:
        ctx.exit(1)


def _list(base: Path, home: Path, files: dict[str, str]) -> None:
    rows = []
    for target in TARGETS.values():
        folder = target.skill_dir(base)
        try:
            state = status(folder, files).describe()
        except InstallError as exc:
            state = f"unreadable ({exc})"
        tool = f"{target.tool}: {'detected' if target.detected(home) else 'not found'}"
        rows.append((target.name, _shown(folder, home), tool, state))
    header = ("TARGET", "FOLDER", "TOOL", "SKILL")
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(3)]
    for row in [header, *rows]:
        click.echo("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:3])) + "  " + row[3])


def _files(count: int) -> str:
    return f"{count} file" if count == 1 else f"{count} files"


def _install(target: Target, base: Path, home: Path, files: dict[str, str], force: bool) -> None:
    folder = target.skill_dir(base)
    shown = _shown(folder, home)
    outcome = install(folder, files, __version__, force=force)
    if not outcome.written and not outcome.removed:
        done = "is already current" if not outcome.kept else "was left as it is"
        click.echo(f"{target.name}: the {SKILL_NAME} skill in {shown} {done}")
    elif outcome.unchanged or outcome.removed or outcome.kept:
        changes = [f"{_files(len(outcome.written))} written"]
        if outcome.removed:
            changes.append(f"{_files(len(outcome.removed))} removed")
        click.echo(f"{target.name}: updated the {SKILL_NAME} skill in {shown} ({', '.join(changes)})")
    else:
        click.echo(f"{target.name}: installed the {SKILL_NAME} skill in {shown} ({_files(len(outcome.written))})")
    for relative in outcome.kept:
        click.echo(
            f"{target.name}: kept {shown}/{relative}: you edited it, so it was not overwritten and the "
            f"skill is not current (xpm install-skill --force {target.name} replaces it)",
            err=True,
        )


def _uninstall(target: Target, base: Path, home: Path, force: bool) -> None:
    folder = target.skill_dir(base)
    shown = _shown(folder, home)
    outcome = uninstall(folder, force=force)
    if outcome is None:
        click.echo(f"{target.name}: the {SKILL_NAME} skill is not installed in {shown}")
        return
    if outcome.kept:
        click.echo(f"{target.name}: removed {_files(len(outcome.removed))} of the {SKILL_NAME} skill from {shown}")
    else:
        click.echo(f"{target.name}: removed the {SKILL_NAME} skill from {shown} ({_files(len(outcome.removed))})")
    for relative in outcome.kept:
        click.echo(
            f"{target.name}: kept {shown}/{relative}: you edited it, so it was not removed "
            f"(xpm install-skill --uninstall --force {target.name} removes it)",
            err=True,
        )
