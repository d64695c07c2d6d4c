"""``WorkspaceStateProvider``: the read API over a workspace (experiments, runs, jobs, tags, configs).

Questions about one run (its tags, its configurations) are answered from the run directory
itself, the truth; questions across the workspace (listings, filters) go through the index.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Iterable, Mapping, Optional, Union

from xpm_core.workspace import disk
from xpm_core.workspace.index import StateLike, WorkspaceIndex
from xpm_core.workspace.records import ExperimentRecord, JobRecord, RunRecord


class UnknownExperimentError(LookupError):
    """No such experiment, or no such run of it, in the workspace."""


class WorkspaceStateProvider:
    """Read access to a workspace; the name and ``load_xp_info``/``get_tags_map`` follow experimaestro.

    ``process_alive`` is the launcher layer's liveness check for ``NAME.pid`` processes.
    """

    def __init__(
        self,
        path: Union[str, os.PathLike],
        *,
        process_alive: Optional[disk.ProcessProbe] = None,
    ) -> None:
        self.path = Path(path).expanduser().absolute()
        if not self.path.is_dir():
            raise FileNotFoundError(f"no workspace at {self.path}: the directory does not exist")
        self._process_alive = process_alive
        self._index: Optional[WorkspaceIndex] = None

    @property
    def index(self) -> WorkspaceIndex:
        """The workspace index, opened (and built if needed) on first use."""
        if self._index is None:
            self._index = WorkspaceIndex(self.path, process_alive=self._process_alive)
        return self._index

    def close(self) -> None:
        if self._index is not None:
            self._index.close()
            self._index = None

    def __enter__(self) -> WorkspaceStateProvider:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    # -- one run, read from its directory ---------------------------------------------------

    def run_directory(self, name: str, run_id: Optional[str] = None) -> Path:
        """The directory of run ``run_id`` of experiment ``name`` (the latest run when None)."""
        experiment_dir = self.path / disk.EXPERIMENTS_DIR / name
        if run_id is None:
            latest = disk.latest_run_directory(self.path, name)
            if latest is None:
                raise UnknownExperimentError(
                    f"no experiment {name!r} with a run in workspace {self.path}; "
                    f"known experiments: {self._known(self.path / disk.EXPERIMENTS_DIR)}"
                )
            return latest
        run_dir = experiment_dir / run_id
        if not disk.is_run_directory(run_dir):
            raise UnknownExperimentError(
                f"experiment {name!r} has no run {run_id!r} in workspace {self.path} "
                f"(no {run_dir}); known runs: {self._known(experiment_dir)}"
            )
        return run_dir

    @staticmethod
    def _known(directory: Path) -> str:
        names = [path.name for path in sorted(directory.iterdir()) if path.is_dir() and path.name != "current"] \
            if directory.is_dir() else []
        return ", ".join(names) if names else "none"

    def load_xp_info(self, name: str, run_id: Optional[str] = None) -> Any:
        """The configurations (and actions) submitted by a run, from its ``objects.jsonl``."""
        run_dir = self.run_directory(name, run_id)
        # Imported on use: config loading pulls in the whole object model.
        import xpm_core

        return xpm_core.load_xp_info(run_dir)

    def get_tags_map(self, name: str, run_id: Optional[str] = None) -> dict[str, dict[str, Any]]:
        """job id -> {tag: value} for the jobs of a run of ``name`` (the latest when None)."""
        run_dir = self.run_directory(name, run_id)
        return {entry.job_id: dict(entry.tags) for entry in disk.read_run_jobs(run_dir)}

    # -- across the workspace, through the index --------------------------------------------

    def experiments(self) -> list[ExperimentRecord]:
        return self.index.experiments()

    def runs(self, experiment_id: str) -> list[RunRecord]:
        return self.index.runs(experiment_id)

    def jobs(
        self,
        experiment_id: Optional[str] = None,
        run_id: Optional[str] = None,
        task_id: Optional[str] = None,
        states: Optional[Iterable[StateLike]] = None,
        tags: Optional[Mapping[str, Any]] = None,
        *,
        verify: bool = False,
    ) -> list[JobRecord]:
        """See ``WorkspaceIndex.jobs``."""
        return self.index.jobs(experiment_id, run_id, task_id, states, tags, verify=verify)

    def job(self, job_id: str) -> Optional[JobRecord]:
        return self.index.job(job_id)

    def get_dependencies_map(
        self, experiment_id: Optional[str] = None, run_id: Optional[str] = None
    ) -> dict[str, list[str]]:
        return self.index.get_dependencies_map(experiment_id, run_id)

    def sync(self) -> None:
        """Rebuild the index from the files (``xpm experiments sync``)."""
        self.index.rebuild()
