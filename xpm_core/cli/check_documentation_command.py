"""``xpm check-documentation OBJECTS_INV PACKAGE``: the configurations and tasks a Sphinx documentation misses."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click


@click.command("check-documentation")
@click.argument("objects_inv", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("package")
@click.option("--skip", metavar="A,B", default="",
              help="Comma-separated sub-packages or modules (absolute, or relative to PACKAGE) not to check.")
def check_documentation_command(objects_inv: Path, package: str, skip: str) -> None:
    """Report the configuration and task classes of PACKAGE that OBJECTS_INV does not document.

    OBJECTS_INV is the objects.inv that Sphinx writes in its HTML output folder. Every module
    of PACKAGE is imported (from the current folder too, as "python -m" would); a class is
    documented when the inventory has it under its defining name or a name PACKAGE re-exports
    it by. Exits with 1 when a class is undocumented or a module cannot be imported.
    """
    from xpm_core.maintenance.documentation import analyze
    from xpm_core.maintenance.sphinx_inventory import InventoryError, read_inventory

    try:
        inventory = read_inventory(objects_inv)
    except InventoryError as error:
        raise click.BadParameter(str(error), param_hint="OBJECTS_INV") from None
    # The package is usually the project being documented, run from its root folder.
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        report = analyze(package, inventory.python_names(), [part.strip() for part in skip.split(",")])
    except ModuleNotFoundError as error:
        if error.name and package.startswith(error.name):
            raise click.BadParameter(f"cannot import {package!r}: {error}", param_hint="PACKAGE") from None
        raise click.ClickException(f"importing {package} failed: {error}") from None
    except Exception as error:  # the user's package raised while being imported
        raise click.ClickException(f"importing {package} failed: {type(error).__name__}: {error}") from None

    for problem in report.import_errors:
        click.echo(f"cannot import {problem}", err=True)
    for name in report.undocumented:
        click.echo(name)
    documented = len(report.configurations) - len(report.undocumented)
    click.echo(
        f"{documented} of {len(report.configurations)} configuration(s) of {package} documented in {objects_inv}"
        + (f"; {len(report.undocumented)} undocumented (listed above)." if report.undocumented else "."),
        err=bool(report.undocumented),
    )
    if report.undocumented or report.import_errors:
        sys.exit(1)
