"""Command line of the benchmark runner: selects workloads, runs them in subprocesses, reports."""

from __future__ import annotations

import fnmatch
import json
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

import click

# Run as a script, only benchmarks/ is on sys.path; the repository root makes the
# `benchmarks` package importable.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.experimaestro_venv import (  # noqa: E402
    DEFAULT_VENV,
    VenvError,
    ensure_experimaestro_venv,
)
from benchmarks.registry import Workload, all_workloads  # noqa: E402
from benchmarks.results import EXPERIMAESTRO, XPM, Result, compare  # noqa: E402
from benchmarks.table import render_table  # noqa: E402

WORKER = Path(__file__).resolve().parent / "worker.py"


def matches(workload: Workload, pattern: str) -> bool:
    suite, short_name = workload.name.split(".", 1)
    return any(fnmatch.fnmatchcase(name, pattern) for name in (workload.name, suite, short_name))


def select(workloads: list[Workload], patterns: tuple[str, ...]) -> list[Workload]:
    """Workloads matching any of ``patterns`` (all if none); a pattern matching none is an error."""
    if not patterns:
        return workloads
    unmatched = [pattern for pattern in patterns if not any(matches(w, pattern) for w in workloads)]
    if unmatched:
        available = ", ".join(w.name for w in workloads)
        raise click.UsageError(
            f"no workload matches {', '.join(map(repr, unmatched))} (available: {available})"
        )
    return [w for w in workloads if any(matches(w, pattern) for pattern in patterns)]


def run_worker(
    python: Path, workload: Workload, implementation: str, size: int, repeat: int, timeout: float
) -> Result:
    """Run one workload in a fresh ``python`` process, so no import or interpreter state leaks."""
    with tempfile.TemporaryDirectory(prefix="xpm-benchmark-") as directory:
        result_path = Path(directory) / "result.json"
        request = {
            "workload": workload.name,
            "implementation": implementation,
            "size": size,
            "repeat": repeat,
            "result_path": str(result_path),
        }
        try:
            process = subprocess.run(
                [str(python), str(WORKER), json.dumps(request)],
                capture_output=True,
                text=True,
                timeout=timeout,
            )
        except subprocess.TimeoutExpired:
            return Result.crashed(
                workload.name, implementation, size, f"timed out after {timeout:g} s"
            )
        if not result_path.exists():
            lines = [line for line in process.stderr.splitlines() if line.strip()]
            reason = lines[-1] if lines else "no output"
            error = f"worker exited with status {process.returncode}: {reason}"
            return Result.crashed(workload.name, implementation, size, error)
        return Result.from_worker(
            workload.name, implementation, size, json.loads(result_path.read_text())
        )


def list_workloads(workloads: list[Workload]) -> None:
    rows = [(w.name, f"{w.size:,}", f"{w.quick_size:,}", w.description) for w in workloads]
    rows.insert(0, ("workload", "size", "quick size", "description"))
    widths = [max(len(cells[i]) for cells in rows) for i in range(3)]
    for name, size, quick_size, description in rows:
        columns = [name.ljust(widths[0]), size.rjust(widths[1]), quick_size.rjust(widths[2])]
        click.echo("  ".join([*columns, description]))


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--only",
    "patterns",
    multiple=True,
    metavar="NAME",
    help="Run only the workloads whose full name (suite.workload), suite or workload name matches "
    "this glob, e.g. 'identifiers', 'int_list' or '*chain*'. Repeatable.",
)
@click.option(
    "--repeat",
    type=click.IntRange(min=1),
    default=5,
    show_default=True,
    help="Timed repetitions of each workload (each on freshly built objects).",
)
@click.option(
    "--quick",
    is_flag=True,
    help="Use tiny sizes: a smoke test of the workloads, not a measurement.",
)
@click.option(
    "--against-experimaestro",
    is_flag=True,
    help="Also run every workload on experimaestro 2.7.0, from the virtual environment given by "
    "--experimaestro-venv (created and filled with pip on first use, reused afterwards).",
)
@click.option(
    "--experimaestro-venv",
    type=click.Path(file_okay=False, path_type=Path),
    default=DEFAULT_VENV,
    show_default="benchmarks/.venv-experimaestro",
    help="Virtual environment holding experimaestro 2.7.0.",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=900.0,
    show_default=True,
    help="Seconds allowed to each workload subprocess (all repetitions); "
    "beyond, the row reads 'timed out'.",
)
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print the results as JSON on stdout instead of a table.",
)
@click.option(
    "--list", "list_only", is_flag=True, help="List the workloads with their sizes, and exit."
)
def main(
    patterns: tuple[str, ...],
    repeat: int,
    quick: bool,
    against_experimaestro: bool,
    experimaestro_venv: Path,
    timeout: float,
    as_json: bool,
    list_only: bool,
) -> None:
    """Run the xpm benchmark workloads and print their timings.

    Each workload (see --list) runs in its own subprocess: the interpreter running this
    command for xpm (importing xpm_core from this working tree), the virtual environment's
    interpreter for experimaestro. Within it, the workload is built then timed --repeat
    times, each time on fresh objects; only the timed part counts in "best" and "median",
    the building time is shown as "build (median)". The garbage collector is paused
    during the timed part, as timeit does. The recursion limit is never changed: a
    workload hitting it is reported as a failed row.

    With --against-experimaestro, the "xpm speedup" column gives experimaestro's median
    divided by xpm's (above 1: xpm is faster), and the note says whether both computed the
    same output (e.g. the same identifiers). An implementation that cannot be imported
    yields "not available" rows. Progress goes to stderr.
    """
    workloads = select(all_workloads(), patterns)
    if list_only:
        list_workloads(workloads)
        return

    implementations = [(XPM, Path(sys.executable))]
    if against_experimaestro:
        try:
            python = ensure_experimaestro_venv(
                experimaestro_venv, lambda message: click.echo(message, err=True)
            )
        except VenvError as error:
            raise click.ClickException(str(error)) from error
        implementations.append((EXPERIMAESTRO, python))

    results = []
    total = len(workloads) * len(implementations)
    for workload in workloads:
        size = workload.quick_size if quick else workload.size
        for implementation, python in implementations:
            click.echo(
                f"[{len(results) + 1}/{total}] {workload.name} on {implementation} (size {size:,})",
                err=True,
            )
            results.append(run_worker(python, workload, implementation, size, repeat, timeout))

    comparisons = compare(results)
    if as_json:
        report = {
            "python": platform.python_version(),
            "repeat": repeat,
            "quick": quick,
            "results": [result.to_json() for result in results],
            "comparisons": [comparison.to_json() for comparison in comparisons.values()],
        }
        click.echo(json.dumps(report, indent=2))
    else:
        click.echo(render_table(results, comparisons))


if __name__ == "__main__":
    main()
