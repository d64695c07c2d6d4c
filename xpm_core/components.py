"""Old location of :mod:`xpm_core.plugin.components`, kept for the 0.1 series: import from ``xpm_core.plugin``."""

from xpm_core.plugin.components import *  # noqa: F401,F403
