"""The summary ``xpm run-experiment`` prints at the end: job counts, then each failed job and its log."""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterable

from xpm_core.experiments.progress import StateCounts
from xpm_core.plugin.job_state import JobState

if TYPE_CHECKING:
    from xpm_core.runtime.job import Job


def summary_lines(experiment_id: str, jobs: Iterable[Job]) -> list[str]:
    """``experiment grid: 4 jobs: 3 done, ...`` and, per failed job, its reason and ``NAME.err``."""
    jobs = list(jobs)
    counts = StateCounts.of(job.state for job in jobs)
    lines = [f"experiment {experiment_id}: {counts.total} jobs: {counts}"]
    for job in sorted(jobs, key=lambda job: (job.task_id, job.identifier)):
        if job.state is JobState.ERROR:
            lines.append(f"  failed ({job.failure_reason or 'failed'}): {job.task_id}/{job.identifier}")
            lines.append(f"    log: {job.stderr}")
    return lines
