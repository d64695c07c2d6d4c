"""experimaestro's ``experimaestro.scheduler`` (porting by changing imports): experiments, jobs, scheduler."""

from xpm_core.plugin.job_state import JobState
from xpm_core.runtime.dirty_git import DirtyGitError
from xpm_core.runtime.experiment import RunMode, experiment
from xpm_core.runtime.job import Job, JobContext
from xpm_core.runtime.scheduler import Scheduler

__all__ = ["DirtyGitError", "Job", "JobContext", "JobState", "RunMode", "Scheduler", "experiment"]
