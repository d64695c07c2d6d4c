"""Old location of :mod:`xpm_core.plugin.hookspecs`, kept for the 0.1 series: import from ``xpm_core.plugin``."""

from xpm_core.plugin.hookspecs import *  # noqa: F401,F403
