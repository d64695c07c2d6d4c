"""xpm-oar against the core's contracts: the package, and the launcher on the real OAR cluster."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path, PurePosixPath
from typing import Iterator

import pytest

from xpm_core.plugin import Connector, Launcher, get_registry
from xpm_core.testing import LauncherContract, PluginPackageContract


class TestOarPackage(PluginPackageContract):
    distribution = "xpm-oar"


@pytest.mark.usefixtures("oar_cluster")
class TestOarLauncher(LauncherContract):
    launcher_name = "oar"
    # A job goes through Almighty, the scheduler, bipbip and the node's sshd: allow for a loaded
    # CI machine (a job usually takes 2-3 s).
    patience = 120.0

    @pytest.fixture(autouse=True)
    def _oar_context(self, oar_python: str, oar_submit_user: str | None) -> Iterator[None]:
        # Jobs run as the submit user when the tests run as root: with an interpreter that user
        # can run, in folders it can reach (pytest's tmp_path is under a root-only folder).
        self.python = oar_python  # type: ignore[misc]
        self.submit_user = oar_submit_user
        self.roots: list[Path] = []
        yield
        for root in self.roots:
            shutil.rmtree(root, ignore_errors=True)

    def make_launcher(self, connector: Connector) -> Launcher:
        # Polled often so the suite stays short; re-attached launchers read it from NAME.pid.
        return (
            get_registry()
            .launchers()["oar"]
            .create(connector=connector, poll_interval=0.3, submit_user=self.submit_user)
        )

    def job_root(self, tmp_path) -> PurePosixPath:
        root = Path(tempfile.mkdtemp(prefix="xpm-oar-contract-", dir="/tmp"))
        root.chmod(0o755)
        self.roots.append(root)
        return PurePosixPath(root)
