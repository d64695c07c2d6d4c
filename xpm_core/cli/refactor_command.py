"""``xpm refactor default-values``: rewrite bare parameter defaults as explicit ``field(...)`` calls."""

from __future__ import annotations

import sys
from pathlib import Path

import click


@click.group("refactor")
def refactor_group() -> None:
    """Rewrite deprecated patterns in your Python sources (dry run unless --perform)."""


@refactor_group.command("default-values")
@click.argument("path", type=click.Path(exists=True, path_type=Path), default=".")
@click.option("--perform", is_flag=True, help="Write the changes (the default only shows them).")
def default_values_command(path: Path, perform: bool) -> None:
    """Make bare defaults explicit, e.g. "x: Param[int] = 23" becomes
    "x: Param[int] = field(default=23, ignore_default=True)".

    \b
    Example:
      xpm refactor default-values src/          # show the diff
      xpm refactor default-values src/ --perform

    A bare default is left out of the identifier when the value equals it; the rewrite keeps
    that behaviour (identifiers do not change) and says so explicitly. Param, Meta and Option
    annotations are rewritten, multi-line defaults included; field is imported when needed.

    PATH is a Python file or a folder (default: the current one), searched recursively
    (virtual environments and caches skipped). Without --perform, prints the diff and exits
    with 1 when something would change (usable in CI); with --perform, writes the files.
    """
    from xpm_core.maintenance.default_values import python_files, refactor_file

    refactorings = []
    for file in python_files(path):
        try:
            refactoring = refactor_file(file)
        except SyntaxError as error:
            click.echo(f"xpm: skipping {file}: it does not parse (line {error.lineno}: {error.msg})", err=True)
            continue
        except (OSError, UnicodeDecodeError) as error:
            click.echo(f"xpm: skipping {file}: cannot read it ({error})", err=True)
            continue
        if refactoring is not None:
            refactorings.append(refactoring)

    for refactoring in refactorings:
        for default in refactoring.defaults:
            click.echo(f"{refactoring.path}:{default.line}: {default.class_name}.{default.name} = {default.value}")
        if perform:
            try:
                refactoring.path.write_text(refactoring.rewritten, encoding="utf-8")
            except OSError as error:
                raise click.ClickException(f"cannot write {refactoring.path}: {error}") from None
        else:
            click.echo(refactoring.diff())

    count = sum(len(refactoring.defaults) for refactoring in refactorings)
    if not count:
        click.echo("No bare default value found.")
        return
    if perform:
        click.echo(f"Rewrote {count} bare default value(s) in {len(refactorings)} file(s).")
        return
    click.echo(f"Found {count} bare default value(s) in {len(refactorings)} file(s). Run with --perform to rewrite them.")
    sys.exit(1)
