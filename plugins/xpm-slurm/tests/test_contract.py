"""xpm-slurm against the core's contracts: the package, and the launcher on the real Slurm cluster."""

from __future__ import annotations

import pytest

from xpm_core.plugin import Connector, Launcher, get_registry
from xpm_core.testing import LauncherContract, PluginPackageContract


class TestSlurmPackage(PluginPackageContract):
    distribution = "xpm-slurm"


@pytest.mark.usefixtures("slurm_cluster")
class TestSlurmLauncher(LauncherContract):
    launcher_name = "slurm"
    # A job goes through slurmctld, slurmd and slurmdbd: allow for a loaded CI machine.
    patience = 120.0

    def make_launcher(self, connector: Connector) -> Launcher:
        # Polled often so the suite stays short; re-attached launchers read it from NAME.pid.
        return get_registry().launchers()["slurm"].create(connector=connector, poll_interval=0.3)
