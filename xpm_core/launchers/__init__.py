"""experimaestro's ``experimaestro.launchers`` (porting by changing imports): the launcher base class."""

from xpm_core.plugin.launcher import Launcher

__all__ = ["Launcher"]
