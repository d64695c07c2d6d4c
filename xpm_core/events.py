"""Old location of :mod:`xpm_core.plugin.events`, kept for the 0.1 series: import from ``xpm_core.plugin``."""

from xpm_core.plugin.events import *  # noqa: F401,F403
