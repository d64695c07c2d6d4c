"""The ``console`` monitor: a live text view of an experiment's jobs, read from the workspace index."""

from __future__ import annotations

import shutil
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence, TextIO

from xpm_core.experiments.progress import StateCounts
from xpm_core.plugin.job_state import JobState
from xpm_core.plugin.monitor import Monitor

if TYPE_CHECKING:
    from xpm_core.workspace.index import WorkspaceIndex
    from xpm_core.workspace.records import JobRecord

#: First line of every frame; also how a reader of the stream finds where the last frame starts.
HEADER = "xpm monitor"
#: Lines kept for the header, the counts and the failures when fitting jobs to a terminal.
_RESERVED_LINES = 8


def log_path(record: JobRecord) -> Path:
    """The job's stderr log, ``NAME.err`` in its folder (NAME: the task's class name)."""
    return Path(record.path) / f"{record.task_id.rsplit('.', 1)[-1]}.err"


def _tags(tags: dict[str, Any]) -> str:
    return " ".join(f"{key}={value}" for key, value in sorted(tags.items()))


class ConsoleMonitor(Monitor):
    """Redraws the jobs of an experiment's latest run (or the list of experiments) on a stream.

    On a terminal the screen is redrawn in place; on any other stream a new frame is written
    when what it shows changed, each starting with a line beginning with ``xpm monitor``.
    """

    def __init__(
        self,
        workspace: str | Path,
        *,
        experiment_id: str | None = None,
        run_id: str | None = None,
        interval: float | None = None,
        stream: TextIO | None = None,
    ) -> None:
        """:param stream: where to draw (default: standard output)."""
        super().__init__(workspace, experiment_id=experiment_id, run_id=run_id, interval=interval)
        self.stream = stream if stream is not None else sys.stdout
        self._tty = self.stream.isatty()
        self._index: WorkspaceIndex | None = None
        self._last_frame: str | None = None

    # ---- Monitor -------------------------------------------------------------------------

    def refresh(self) -> None:
        if self._index is None:
            from xpm_core.workspace.index import WorkspaceIndex

            self._index = WorkspaceIndex(self.workspace)
        frame = self.render(self._index) + "".join(
            f"\nwarning: {warning.description}\n  fix: {' or '.join(warning.actions)}" for warning in self.api.warnings()
        )
        if frame == self._last_frame:
            return
        if self._tty:
            self.stream.write("\x1b[H\x1b[2J" + frame)  # cursor home, clear screen
        else:
            self.stream.write(frame + "\n")
        self.stream.flush()
        self._last_frame = frame

    def _closed_hook(self) -> None:
        # One last frame, so that what stays on the screen is the final state.
        if self.started:
            self._guarded_refresh()
        if self._index is not None:
            self._index.close()
            self._index = None

    # ---- what is drawn -------------------------------------------------------------------

    def render(self, index: WorkspaceIndex) -> str:
        """The frame for the current content of ``index``."""
        if self.experiment_id is None:
            return self._render_workspace(index)
        return self._render_experiment(index, self.experiment_id)

    def _clock(self) -> str:
        # On a terminal the time shows the view is alive; in a log it would make every frame
        # differ from the last one, and a frame is written only when something changed.
        return f" · {time.strftime('%H:%M:%S')}" if self._tty else ""

    def _render_workspace(self, index: WorkspaceIndex) -> str:
        lines = [f"{HEADER} · workspace {self.workspace}{self._clock()}"]
        experiments = index.experiments()
        if not experiments:
            lines.append("no experiment has run in this workspace yet")
            return "\n".join(lines)
        rows = [("EXPERIMENT", "LATEST RUN", "STATUS", "JOBS")]
        for experiment in experiments:
            run_id = experiment.latest_run_id
            status = "-"
            if run_id is not None:
                runs = index.runs(experiment.experiment_id)
                status = (runs[-1].status or "unknown") if runs else "-"
            counts = StateCounts.of(
                record.state for record in index.jobs(experiment_id=experiment.experiment_id, run_id=run_id)
            ) if run_id is not None else StateCounts()
            rows.append((experiment.experiment_id, run_id or "-", status, str(counts)))
        lines.extend(_table(rows))
        return "\n".join(lines)

    def _render_experiment(self, index: WorkspaceIndex, experiment_id: str) -> str:
        runs = index.runs(experiment_id)
        if self.run_id is not None:
            runs = [run for run in runs if run.run_id == self.run_id]
        if not runs:
            wanted = f"run {self.run_id} of experiment" if self.run_id else "experiment"
            return (
                f"{HEADER} · experiment {experiment_id}{self._clock()}\n"
                f"waiting for {wanted} {experiment_id} to start in {self.workspace}"
            )
        run = runs[-1]
        lines = [
            f"{HEADER} · experiment {experiment_id} · run {run.run_id} ({run.status or 'unknown'}){self._clock()}"
        ]
        jobs = index.jobs(experiment_id=experiment_id, run_id=run.run_id)
        lines.append(f"jobs: {StateCounts.of(job.state for job in jobs)}")
        failed = [job for job in jobs if job.state is JobState.ERROR]
        shown = jobs
        if self._tty:
            room = max(shutil.get_terminal_size().lines - _RESERVED_LINES - 2 * len(failed), 3)
            shown = jobs[:room]
        rows = [("STATE", "JOB", "TAGS")]
        rows += [(_state(job), f"{job.task_id}/{job.job_id[:12]}", _tags(job.tags)) for job in shown]
        lines.extend(_table(rows))
        if len(shown) < len(jobs):
            lines.append(f"  ... and {len(jobs) - len(shown)} more")
        if failed:
            lines.append("failed:")
            for job in failed:
                lines.append(f"  {job.task_id}/{job.job_id[:12]} ({job.failure_reason or 'failed'})")
                lines.append(f"    log: {log_path(job)}")
        return "\n".join(lines)


def _state(job: JobRecord) -> str:
    """The state column: ``RUNNING 42% epochs › 7%`` for a running job reporting its progress."""
    if job.state is not JobState.RUNNING:
        return job.state.name
    from xpm_core.runtime.progress_file import progress_text, read_progress

    levels = read_progress(job.path)
    return f"RUNNING {progress_text(levels)}" if levels else "RUNNING"


def _table(rows: Sequence[Sequence[str]]) -> list[str]:
    """Rows as left-aligned columns, indented by two spaces."""
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    return ["  " + "  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows]
