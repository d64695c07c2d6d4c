"""experimaestro's ``experimaestro.launchers`` (porting by changing imports): the launcher base class
and ``DynamicLauncher``."""

from xpm_core.launchers.dynamic import DynamicLauncher
from xpm_core.plugin.launcher import Launcher

__all__ = ["DynamicLauncher", "Launcher"]
