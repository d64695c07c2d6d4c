"""What event hooks receive: read-only views of a running experiment and of a job."""

from __future__ import annotations

from pathlib import Path
from typing import Mapping, Protocol, runtime_checkable

from xpm_core.plugin.job_state import JobState


@runtime_checkable
class ExperimentView(Protocol):
    """The parts of an experiment run that event hooks may rely on."""

    @property
    def id(self) -> str:
        """The experiment identifier (``experiments/<id>/`` in the workspace)."""

    @property
    def run_id(self) -> str:
        """The run identifier (``YYYYmmdd_HHMMSS[.N]``)."""

    @property
    def workspace(self) -> Path:
        """The workspace directory."""

    @property
    def run_dir(self) -> Path:
        """The directory holding this run's records (``experiments/<id>/<run_id>``)."""


@runtime_checkable
class JobView(Protocol):
    """The parts of a job that event hooks may rely on."""

    @property
    def identifier(self) -> str:
        """The job's hexadecimal identifier (the hash of its parameters)."""

    @property
    def task_id(self) -> str:
        """The task type identifier (``jobs/<task_id>/<identifier>``)."""

    @property
    def path(self) -> Path:
        """The job directory."""

    @property
    def state(self) -> JobState:
        """The job's current state."""

    @property
    def tags(self) -> Mapping[str, object]:
        """The tags of the job's configuration."""
