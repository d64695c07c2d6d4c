"""experimaestro's ``experimaestro.scheduler.workspace`` (porting by changing imports): run modes, workspace."""

from xpm_core.runtime.experiment import RunMode
from xpm_core.runtime.workspace_object import Workspace

__all__ = ["RunMode", "Workspace"]
