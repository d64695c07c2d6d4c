"""OAR throughput benchmark: N trivial jobs through a real OAR cluster, with and without arrays.

For each mode it reports the wall time from the first submission to the last job seen finished,
and how many times oarsub and oarstat ran. The driver loop is the scheduler's: each job is
submitted from its own asyncio task (the launcher gathers those arriving together into arrays),
then one ``poll`` of all live jobs per interval: oarstat calls follow the polling intervals, not
the number of jobs.

Needs xpm-oar installed and an OAR cluster (``plugins/xpm-oar/ci/start-oar.sh``). As root, jobs
are submitted as ``--submit-user`` (default: xpmoar, the user that script creates). Not part of
``benchmarks/run.py``, which compares xpm with experimaestro on one machine.

    python benchmarks/oar_throughput.py --jobs 100
    python benchmarks/oar_throughput.py --jobs 20 --mode arrays --json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path, PurePosixPath
from typing import Any, Sequence


def _counting_connector() -> Any:
    """The local connector, counting the commands it runs by program (``runuser -u U --`` skipped)."""
    from xpm_core import LocalConnector
    from xpm_core.plugin import CommandResult

    class CountingConnector(LocalConnector):
        def __init__(self) -> None:
            super().__init__()
            self.calls: Counter[str] = Counter()

        def run(self, args: Sequence[str], **kwargs: Any) -> CommandResult:
            program = list(args)
            if program[:1] == ["runuser"] and "--" in program:
                program = program[program.index("--") + 1 :]
            self.calls[PurePosixPath(program[0]).name] += 1
            return super().run(args, **kwargs)

    return CountingConnector()


async def _drive(launcher: Any, launches: list[Any]) -> tuple[int, int, float]:
    """Submit every job from its own task, then poll the live ones once per interval until all ended.

    Returns the polling intervals, the failed jobs, and the seconds the submissions took.
    """
    from xpm_core.plugin import ProcessStatus

    start = time.perf_counter()
    refs = await asyncio.gather(*(launcher.submit(launch) for launch in launches))
    submitted = time.perf_counter() - start
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
    return intervals, failed, submitted


def run_mode(jobs: int, arrays: bool, poll_interval: float, root: Path, submit_user: str | None) -> dict[str, Any]:
    """One measured run; returns its figures."""
    from xpm_core.plugin import JobLaunch
    from xpm_oar.launcher import OarLauncher

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
    (root / mode).chmod(0o755)
    connector = _counting_connector()
    launcher = OarLauncher(
        connector, poll_interval=poll_interval, arrays=arrays, submit_user=submit_user, walltime="0:10:00"
    )
    start = time.perf_counter()
    intervals, failed, submitted = asyncio.run(_drive(launcher, launches))
    wall = time.perf_counter() - start
    calls = connector.calls
    return {
        "mode": mode,
        "jobs": jobs,
        "failed": failed,
        "wall_seconds": round(wall, 1),
        "submit_seconds": round(submitted, 1),
        "poll_intervals": intervals,
        "oarsub": calls["oarsub"],
        "oarstat": calls["oarstat"],
        "other_commands": " ".join(
            f"{name}={count}" for name, count in sorted(calls.items()) if name not in ("oarsub", "oarstat")
        ),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Time N trivial jobs through a real OAR cluster with xpm-oar, with and without "
        "arrays, and count the oarsub / oarstat invocations.",
    )
    parser.add_argument("--jobs", type=int, default=100, help="number of trivial jobs per mode (default: 100)")
    parser.add_argument(
        "--poll-interval", type=float, default=1.0, help="seconds between two status polls (default: 1.0)"
    )
    parser.add_argument(
        "--mode",
        choices=("both", "arrays", "no-arrays"),
        default="both",
        help="submit as OAR arrays, one oarsub per job, or both (default)",
    )
    parser.add_argument(
        "--submit-user",
        default="xpmoar" if os.geteuid() == 0 else None,
        help="user that submits when run as root (OAR refuses root's jobs; default as root: xpmoar)",
    )
    parser.add_argument(
        "--workdir",
        type=Path,
        default=Path("/tmp"),
        help="where job folders go; the submit user must reach it (default: /tmp)",
    )
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    options = parser.parse_args(argv)
    modes = {"both": (True, False), "arrays": (True,), "no-arrays": (False,)}[options.mode]

    with tempfile.TemporaryDirectory(prefix="xpm-oar-bench-", dir=options.workdir) as folder:
        os.chmod(folder, 0o755)
        results = []
        for arrays in modes:
            print(f"running {options.jobs} jobs ({'arrays' if arrays else 'no arrays'}) ...", file=sys.stderr)
            results.append(run_mode(options.jobs, arrays, options.poll_interval, Path(folder), options.submit_user))
    if options.json:
        print(json.dumps(results, indent=2))
    else:
        columns = list(results[0])
        widths = [max(len(column), *(len(str(row[column])) for row in results)) for column in columns]
        print("  ".join(column.ljust(width) for column, width in zip(columns, widths)))
        for row in results:
            print("  ".join(str(row[column]).ljust(width) for column, width in zip(columns, widths)))
    return 0 if all(row["failed"] == 0 for row in results) else 1


if __name__ == "__main__":
    sys.exit(main())
