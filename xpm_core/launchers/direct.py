"""experimaestro's ``experimaestro.launchers.direct`` (porting by changing imports): the direct launcher."""

from xpm_core.builtin.local.direct_launcher import DirectLauncher

__all__ = ["DirectLauncher"]
