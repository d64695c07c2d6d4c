"""experimaestro's ``experimaestro.scheduler`` (porting by changing imports): experiments, jobs, scheduler."""

from xpm_core.plugin.job_state import JobState
from xpm_core.runtime.dirty_git import DirtyGitError
from xpm_core.runtime.exits import FailedExperiment, GracefulExperimentExit
from xpm_core.runtime.experiment import RunMode, experiment
from xpm_core.runtime.failure_status import JobFailureStatus
from xpm_core.runtime.job import Job, JobContext
from xpm_core.runtime.job_dependency import JobDependency
from xpm_core.runtime.listeners import Listener
from xpm_core.runtime.scheduler import Scheduler
from xpm_core.runtime.workspace_object import Workspace

__all__ = [
    "DirtyGitError",
    "FailedExperiment",
    "GracefulExperimentExit",
    "Job",
    "JobContext",
    "JobDependency",
    "JobFailureStatus",
    "JobState",
    "Listener",
    "RunMode",
    "Scheduler",
    "Workspace",
    "experiment",
]
