"""xpm-ssh against the core's contracts, on the real OpenSSH server of ci/start-sshd.sh."""

from __future__ import annotations

import sys

import pytest

from xpm_core.plugin import Connector, get_registry
from xpm_core.testing import ConnectorContract, LauncherContract, PluginPackageContract


class TestSshPackage(PluginPackageContract):
    distribution = "xpm-ssh"


class _OnTheServer:
    """Reaches the test server through its ssh_config alias, with strict host keys."""

    @pytest.fixture(autouse=True)
    def _server(self, ssh_server) -> None:
        self.server = ssh_server

    def make_connector(self) -> Connector:
        return get_registry().connectors()["ssh"].create(**self.server.connector_options(), python=sys.executable)


class TestSshConnector(_OnTheServer, ConnectorContract):
    connector_name = "ssh"
    url_example = "ssh://someone@cluster.example.org:2200/scratch/xp"


class TestDirectOverSsh(_OnTheServer, LauncherContract):
    """The direct launcher runs jobs on the SSH host (loopback: the test's interpreter exists there)."""

    launcher_name = "direct"
    reads_files_when_polled = True  # the state of all jobs and the markers of ended ones: one command
