"""experimaestro's ``experimaestro.notifications`` (porting by changing imports): a task's progress reports."""

from xpm_core.runtime.task_progress import progress, tqdm

__all__ = ["progress", "tqdm"]
