"""experimaestro's ``experimaestro.scheduler.workspace`` (porting by changing imports): run modes."""

from xpm_core.runtime.experiment import RunMode

__all__ = ["RunMode"]
