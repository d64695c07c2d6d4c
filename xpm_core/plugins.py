"""Old location of :mod:`xpm_core.plugin.manager`, kept for the 0.1 series: import from ``xpm_core.plugin``."""

from xpm_core.plugin.manager import *  # noqa: F401,F403
from xpm_core.plugin.registry import get_registry  # noqa: F401 - was defined here
