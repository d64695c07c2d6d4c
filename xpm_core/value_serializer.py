"""Old location of :mod:`xpm_core.plugin.value_serializer`, kept for the 0.1 series: import from ``xpm_core.plugin``."""

from xpm_core.plugin.value_serializer import *  # noqa: F401,F403
