"""``xpm parameters-difference P1 P2``: why two jobs have different identifiers, parameter by parameter."""

from __future__ import annotations

import sys
from pathlib import Path

import click


@click.command("parameters-difference")
@click.argument("path1", type=click.Path(exists=True, path_type=Path))
@click.argument("path2", type=click.Path(exists=True, path_type=Path))
def parameters_difference_command(path1: Path, path2: Path) -> None:
    """Print the parameters that differ between two jobs, e.g. "model.hidden_size: 128 → 256".

    PATH1 and PATH2 are params.json files or job folders. The files are read as they are: the
    tasks' code is not imported. Sub-configurations with the same identifier are not compared
    further (they are the same as far as the job is concerned).

    Exit code: 0 when the parameters are the same, 1 when some differ, 2 when a file cannot be read.
    """
    from xpm_core.maintenance.params_diff import ParamsFileError, compare

    try:
        left, right, found = compare(path1, path2)
    except ParamsFileError as error:
        raise click.BadParameter(str(error), param_hint="PATH1/PATH2") from None
    same_job = bool(left.identifier) and left.identifier == right.identifier
    if not found:
        click.echo(f"No difference: both are {left}.")
        return
    click.echo(f"{left} → {right}")
    for difference in found:
        click.echo(f"  {difference}")
    if same_job:
        click.echo("Same identifier: these are meta-parameters, which do not change the job.")
    sys.exit(1)
