"""``xpm run PARAMS_JSON``: run the task of a job folder by hand, in this process, without locks or markers."""

from __future__ import annotations

import ast
import json
import os
import re
import sys
import traceback
from pathlib import Path

import click

# The job script's ``sys.path.insert(0, '...')`` lines: where the driver found the user's modules.
_PATH_INSERT = re.compile(r"^sys\.path\.insert\(0, (.+)\)$", re.MULTILINE)


def _job_folder(params: Path) -> Path:
    """The job folder of ``params`` (a ``params.json`` file or its folder), or a usage error."""
    if params.is_dir():
        params = params / "params.json"
    if params.name != "params.json":
        raise click.BadParameter(f"{params} is not a params.json file: give JOBDIR/params.json (or JOBDIR)",
                                 param_hint="PARAMS_JSON")
    if not params.is_file():
        raise click.BadParameter(f"{params} does not exist: give the params.json of a job folder "
                                 "(xpm jobs path JOB prints the folder)", param_hint="PARAMS_JSON")
    try:
        content = json.loads(params.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise click.BadParameter(f"{params} is not readable JSON ({error})", param_hint="PARAMS_JSON") from None
    if not isinstance(content, dict) or not isinstance(content.get("objects"), list) or not content["objects"]:
        raise click.BadParameter(f"{params} is not a job's params.json (no \"objects\" list)",
                                 param_hint="PARAMS_JSON")
    return params.parent.resolve()


def _user_paths(job_dir: Path) -> list[str]:
    """The directories the job scripts of ``job_dir`` add to ``sys.path`` (the user's code)."""
    paths: list[str] = []
    for script in sorted(job_dir.glob("*.py")):
        try:
            text = script.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        if "xpm_core.run" not in text:
            continue
        for literal in _PATH_INSERT.findall(text):
            try:
                value = ast.literal_eval(literal)
            except (ValueError, SyntaxError):
                continue
            if isinstance(value, str):
                paths.append(value)
    return paths


@click.command("run")
@click.argument("params_json", metavar="PARAMS_JSON", type=click.Path(path_type=Path))
def run_command(params_json: Path) -> None:
    """Run the task of a job folder's PARAMS_JSON here, by hand.

    The task runs in this process, in its job folder, with no job lock and no NAME.done /
    NAME.failed marker written: use it to debug a task (e.g. under pdb). To redo a job as the
    scheduler would (lock and markers), run its script instead: python JOBDIR/NAME.py.
    """
    job_dir = _job_folder(params_json)
    for path in reversed(_user_paths(job_dir)):
        if path not in sys.path:
            sys.path.insert(0, path)
    from xpm_core.run import load_task

    os.chdir(job_dir)  # as in the job process: relative paths are the job folder's
    try:
        run = load_task(job_dir)
    except (ImportError, AttributeError, OSError) as error:
        raise click.ClickException(
            f"cannot rebuild the task of {job_dir / 'params.json'}: {type(error).__name__}: {error}. "
            "Make the task's module importable (PYTHONPATH, or run from the project folder)."
        ) from None
    except (ValueError, KeyError, TypeError) as error:
        raise click.ClickException(f"cannot rebuild the task of {job_dir / 'params.json'}: "
                                   f"{type(error).__name__}: {error}") from None
    try:
        run()
    except Exception:  # the task's own failure: its traceback is what the user debugs
        traceback.print_exc()
        click.echo("xpm run: the task failed (traceback above); no marker was written", err=True)
        sys.exit(1)
    click.echo(f"task of {job_dir} done (run by hand: no marker written)", err=True)
