"""One runtime scenario in a fresh process: trivial jobs, a re-run of done jobs, a chain, an
experiment without jobs, or the floor.

Run by ``runtime_bench.py`` with the interpreter of the implementation measured (xpm from this
working tree, or experimaestro 2.7.0 in its own virtual environment); prints one JSON line:
``{"wall": seconds, "peak_rss_mib": ..., "jobs": n}``. The plan is written once against the
API both packages share, and the package is chosen with ``--package``.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

TASKS = '''
from typing import Optional
from {package} import Task, Param, field


class Trivial(Task):
    index: Param[int]

    def execute(self):
        pass


class Link(Task):
    index: Param[int]
    previous: Param[Optional[Task]] = field(default=None, ignore_default=True)

    def execute(self):
        pass
'''


def tasks_module(folder: Path, package: str):
    (folder / "bench_tasks.py").write_text(TASKS.format(package=package))
    sys.path.insert(0, str(folder))
    import bench_tasks

    return bench_tasks


def run_plan(package: str, workspace: Path, name: str, submit) -> None:
    module = __import__(package)
    with module.experiment(workspace, name):
        submit()


def floor(package: str, size: int) -> None:
    """Start ``size`` processes that only import the package, two at a time (the machine's cores)."""
    command = [sys.executable, "-c", f"import {package}"]
    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(lambda _: subprocess.run(command, check=True), range(size)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--package", choices=["xpm_core", "experimaestro"], required=True)
    parser.add_argument("--scenario", choices=["jobs", "rerun", "chain", "floor", "empty"], required=True)
    parser.add_argument("--size", type=int, required=True)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="xpm-bench-") as folder:
        root = Path(folder)
        workspace = root / "workspace"
        if args.scenario == "floor":
            start = time.perf_counter()
            floor(args.package, args.size)
            wall = time.perf_counter() - start
        else:
            tasks = tasks_module(root, args.package)

            def trivial() -> None:
                for index in range(args.size):
                    tasks.Trivial.C(index=index).submit()

            def chain() -> None:
                previous = tasks.Link.C(index=0).submit()
                for index in range(1, args.size):
                    previous = tasks.Link.C(index=index, previous=previous).submit()

            plan = {"chain": chain, "empty": lambda: None}.get(args.scenario, trivial)
            if args.scenario == "rerun":
                run_plan(args.package, workspace, "bench", plan)  # untimed: makes every job done
            start = time.perf_counter()
            run_plan(args.package, workspace, "bench", plan)
            wall = time.perf_counter() - start
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps({"wall": wall, "peak_rss_mib": peak, "jobs": args.size}))


if __name__ == "__main__":
    main()
