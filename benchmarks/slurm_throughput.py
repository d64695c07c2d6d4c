"""Slurm throughput benchmark: N trivial jobs through a real Slurm, with and without job arrays.

For each mode it reports the wall time from the first submission to the last job seen finished,
and how many times sbatch, sacct and squeue ran. The driver loop is the scheduler's: each job is
submitted from its own asyncio task (the launcher gathers those arriving together into arrays),
then one ``poll`` of all live jobs per interval, so status queries grow with the number of
polling intervals, not with the number of jobs.

Needs xpm-slurm installed and a Slurm cluster (``plugins/xpm-slurm/ci/start-slurm.sh``).
Not part of ``benchmarks/run.py``: that runner compares xpm with experimaestro on one machine,
while this measures command counts against a cluster.

    python benchmarks/slurm_throughput.py --jobs 200
    python benchmarks/slurm_throughput.py --jobs 50 --poll-interval 0.5 --json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path, PurePosixPath
from typing import Any, Sequence


def _counting_connector() -> Any:
    """The local connector, counting the commands it runs by program name."""
    from xpm_core.builtin.local.connector import LocalConnector
    from xpm_core.plugin.connector import CommandResult

    class CountingConnector(LocalConnector):
        def __init__(self) -> None:
            super().__init__()
            self.calls: Counter[str] = Counter()

        def run(self, args: Sequence[str], **kwargs: Any) -> CommandResult:
            self.calls[PurePosixPath(args[0]).name] += 1
            return super().run(args, **kwargs)

    return CountingConnector()


async def _drive(launcher: Any, launches: list[Any]) -> tuple[int, Counter[str], int]:
    """Submit every job from its own task (as the scheduler does), then poll the live ones once per
    interval until all ended."""
    from xpm_core.plugin.launcher import ProcessStatus

    refs = await asyncio.gather(*(launcher.submit(launch) for launch in launches))
    live = {ref.id: ref for ref in refs}
    failed = 0
    intervals = 0
    while live:
        await asyncio.sleep(launcher.poll_interval)
        intervals += 1
        states = await launcher.poll(list(live.values()))
        for job_id, state in states.items():
            if state.status is ProcessStatus.FINISHED:
                failed += state.exit_code != 0
                del live[job_id]
    return intervals, launcher.connector.calls, failed


def run_mode(jobs: int, arrays: bool, poll_interval: float, root: Path) -> dict[str, Any]:
    """One measured run; returns its figures."""
    from xpm_core.plugin.launcher import JobLaunch
    from xpm_slurm.launcher import SlurmLauncher

    mode = "arrays" if arrays else "no-arrays"
    launches = []
    for index in range(jobs):
        directory = root / mode / f"job{index:05d}"
        directory.mkdir(parents=True)
        launches.append(
            JobLaunch(
                job_id=f"{index:064d}",
                task_id="benchmark.Trivial",
                directory=PurePosixPath(directory),
                name="trivial",
                command=("true",),
            )
        )
    launcher = SlurmLauncher(_counting_connector(), poll_interval=poll_interval, arrays=arrays)
    start = time.perf_counter()
    intervals, calls, failed = asyncio.run(_drive(launcher, launches))
    wall = time.perf_counter() - start
    return {
        "mode": mode,
        "jobs": jobs,
        "failed": failed,
        "wall_seconds": round(wall, 2),
        "poll_intervals": intervals,
        "sbatch": calls["sbatch"],
        "sacct": calls["sacct"],
        "squeue": calls["squeue"],
        "other_commands": sum(
            count for name, count in calls.items() if name not in ("sbatch", "sacct", "squeue")
        ),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Time N trivial jobs through a real Slurm cluster with xpm-slurm, with and "
        "without job arrays, and count the sbatch / sacct / squeue invocations.",
    )
    parser.add_argument(
        "--jobs", type=int, default=200, help="number of trivial jobs per mode (default: 200)"
    )
    parser.add_argument(
        "--poll-interval", type=float, default=1.0, help="seconds between two status polls (default: 1.0)"
    )
    parser.add_argument(
        "--mode",
        choices=("both", "arrays", "no-arrays"),
        default="both",
        help="submit as job arrays, one sbatch per job, or both (default)",
    )
    parser.add_argument(
        "--workdir",
        type=Path,
        default=None,
        help="where job folders go; must be visible from the compute nodes (default: a temporary folder)",
    )
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    options = parser.parse_args(argv)
    modes = {"both": (True, False), "arrays": (True,), "no-arrays": (False,)}[options.mode]

    with tempfile.TemporaryDirectory(prefix="xpm-slurm-bench-", dir=options.workdir) as folder:
        results = []
        for arrays in modes:
            print(f"running {options.jobs} jobs ({'arrays' if arrays else 'no arrays'}) ...", file=sys.stderr)
            results.append(run_mode(options.jobs, arrays, options.poll_interval, Path(folder)))
    if options.json:
        print(json.dumps(results, indent=2))
    else:
        columns = (
            "mode",
            "jobs",
            "failed",
            "wall_seconds",
            "poll_intervals",
            "sbatch",
            "sacct",
            "squeue",
            "other_commands",
        )
        widths = [max(len(column), *(len(str(row[column])) for row in results)) for column in columns]
        print("  ".join(column.ljust(width) for column, width in zip(columns, widths)))
        for row in results:
            print("  ".join(str(row[column]).ljust(width) for column, width in zip(columns, widths)))
    return 0 if all(row["failed"] == 0 for row in results) else 1


if __name__ == "__main__":
    sys.exit(main())
