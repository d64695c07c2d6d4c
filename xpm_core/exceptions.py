"""experimaestro's ``experimaestro.exceptions`` (porting by changing imports): task exceptions."""

from xpm_core.runtime.errors import GracefulTimeout, TaskCancelled

__all__ = ["GracefulTimeout", "TaskCancelled"]
