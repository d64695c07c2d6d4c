"""A workspace of many finished jobs written as files (what a driver leaves), for monitor tests and benchmarks."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path


def write_workspace(root: Path, jobs: int, *, experiment: str = "big", failed_every: int = 7) -> Path:
    """``jobs`` jobs of task ``bench.Sweep`` in one run of ``experiment``; every ``failed_every``-th failed.

    The index is built by ``xpm experiments sync``, as a user would rebuild it.
    """
    run = root / "experiments" / experiment / "20260101-000000"
    run.mkdir(parents=True)
    now = time.time()
    lines = []
    for i in range(jobs):
        job_id = f"{i:064x}"
        directory = root / "jobs" / "bench.Sweep" / job_id
        directory.mkdir(parents=True)
        if i % failed_every == 0:
            (directory / "Sweep.failed").write_text(json.dumps({"reason": "failed", "exit_code": 1}))
            (directory / "Sweep.err").write_text(f"job {i} failed\n")
        else:
            (directory / "Sweep.done").write_text("")
            (directory / "Sweep.err").write_text(f"job {i} done\n" * 3)
        lines.append(
            json.dumps(
                {"job_id": job_id, "task_id": "bench.Sweep", "tags": {"i": i, "lr": i % 10 / 100}, "timestamp": now + i}
            )
        )
    (run / "jobs.jsonl").write_text("\n".join(lines) + "\n")
    (run / "status.json").write_text(
        json.dumps({"status": "done", "hostname": "remote", "started_at": now, "ended_at": now + jobs})
    )
    (root / "experiments" / experiment / "current").symlink_to(run.name)
    subprocess.run(
        [sys.executable, "-m", "xpm_core", "experiments", "sync", "--workdir", str(root)],
        check=True,
        capture_output=True,
    )
    return root
