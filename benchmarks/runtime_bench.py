"""Runtime benchmark: N trivial jobs through the direct launcher, a no-op re-run, a chain, the floor.

Prints, for xpm (and experimaestro 2.7.0 with ``--against-experimaestro``): wall time, time per
job, peak memory of the driver, the time from process start to exit and the CPU time that
process and its children used (user + system: on a machine loaded by other work, the figure
that moves least), and the floor (``python -c "import PACKAGE"`` started N times, two at a
time) that per-job overhead is compared with.

Scenarios run with Python's bytecode cache on, as users have it: ``PYTHONDONTWRITEBYTECODE`` is
removed from their environment (with it, every process compiles every module it imports, which
doubled the cost of an experiment without jobs).
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import click

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent))

from benchmarks.experimaestro_venv import VenvError, ensure_experimaestro_venv  # noqa: E402

SCENARIO = ROOT / "runtime_scenario.py"


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def measure(python: str, package: str, scenario: str, size: int, timeout: float) -> dict:
    """The scenario's own figures, ``process``: its wall time from process start to exit, and
    ``cpu``: the CPU time of that process and of the processes it waited for (jobs, imports)."""
    cpu = _children_cpu()
    started = time.perf_counter()
    try:
        done = subprocess.run(
            [python, str(SCENARIO), "--package", package, "--scenario", scenario, "--size", str(size)],
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=ROOT.parent,
            env={name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"},
        )
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:.0f} s"}
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return {"error": f"exit {done.returncode}: {last}"}
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    figures["process"] = time.perf_counter() - started
    figures["cpu"] = _children_cpu() - cpu
    return figures


def best_of(repeat: int, *args: object) -> dict:
    """The run with the shortest process time of ``repeat`` (the least disturbed by other load)."""
    runs = [measure(*args) for _ in range(repeat)]  # type: ignore[arg-type]
    good = [run for run in runs if "error" not in run]
    return min(good, key=lambda run: run["process"]) if good else runs[0]


@click.command(help=__doc__)
@click.option("--against-experimaestro", is_flag=True, help="Also measure experimaestro 2.7.0 (own venv).")
@click.option("--sizes", default="10,100,1000", show_default=True, help="Numbers of trivial jobs.")
@click.option("--chain", "chain_size", default=100, show_default=True, help="Length of the dependent chain.")
@click.option("--timeout", default=1800.0, show_default=True, help="Seconds allowed per scenario.")
@click.option("--fixed-costs", is_flag=True, help="Only the fixed costs: an experiment without jobs, 10 trivial "
              "jobs and their floor, each the best of --repeat runs, timed from process start to exit.")
@click.option("--repeat", default=5, show_default=True, help="Runs per scenario with --fixed-costs.")
def main(against_experimaestro: bool, sizes: str, chain_size: int, timeout: float, fixed_costs: bool,
         repeat: int) -> None:
    try:
        counts = [int(size) for size in sizes.split(",")]
    except ValueError:
        raise click.BadParameter(f"expected numbers separated by commas, got {sizes!r}", param_hint="--sizes")
    implementations = [("xpm", sys.executable, "xpm_core")]
    if against_experimaestro:
        try:
            python = ensure_experimaestro_venv(ROOT / ".venv-experimaestro", lambda line: click.echo(line, err=True))
        except VenvError as error:
            raise click.ClickException(str(error))
        implementations.append(("experimaestro 2.7.0", str(python), "experimaestro"))

    scenarios = [(f"{n} trivial jobs", "jobs", n) for n in counts]
    scenarios += [(f"re-run of {max(counts)} done jobs", "rerun", max(counts))]
    scenarios += [(f"chain of {chain_size} jobs", "chain", chain_size)]
    scenarios += [(f"floor: {n} imports, 2 at a time", "floor", n) for n in counts]
    if fixed_costs:
        scenarios = [("experiment without jobs", "empty", 1), ("floor: 1 import", "floor", 1),
                     ("10 trivial jobs", "jobs", 10), ("floor: 10 imports, 2 at a time", "floor", 10)]

    header = ("scenario", "implementation", "wall", "per job", "driver peak", "process start to exit", "cpu")
    rows = [header]
    process_times: dict[tuple[str, str, int], float] = {}
    for label, scenario, size in scenarios:
        for name, python, package in implementations:
            click.echo(f"running {label} on {name}...", err=True)
            figures = best_of(repeat if fixed_costs else 1, python, package, scenario, size, timeout)
            if "error" in figures:
                rows.append((label, name, "-", "-", figures["error"], "-", "-"))
                continue
            process_times[scenario, name, size] = figures["process"]
            rows.append(
                (
                    label,
                    name,
                    f"{figures['wall']:.2f} s",
                    f"{1000 * figures['wall'] / size:.1f} ms",
                    f"{figures['peak_rss_mib']:.0f} MiB" if scenario != "floor" else "-",
                    f"{figures['process']:.3f} s",
                    f"{figures['cpu']:.3f} s",
                )
            )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    for row in rows:
        click.echo("  ".join(value.ljust(width) for value, width in zip(row, widths)).rstrip())
    if fixed_costs:
        for name, _, _ in implementations:
            jobs, floor = process_times.get(("jobs", name, 10)), process_times.get(("floor", name, 10))
            if jobs and floor:
                click.echo(f"{name}: 10 trivial jobs take {jobs / floor:.2f} x the floor (process start to exit)")


if __name__ == "__main__":
    main()
