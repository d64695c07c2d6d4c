"""A whole experiment whose jobs run over SSH (loopback: the workspace has the same path on both sides)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from xpm_core import DirectLauncher, Param, Task, experiment
from xpm_ssh import SshConnector, SshError

pytestmark = pytest.mark.usefixtures("fresh_sessions")


class Square(Task):
    """Writes x² and the host's view of its connection."""

    x: Param[int]

    def execute(self) -> None:
        import os

        print(self.x * self.x, os.environ.get("SSH_CONNECTION", "") != "")


def test_jobs_of_an_experiment_run_over_ssh(ssh_server, tmp_path) -> None:
    connector = SshConnector(**ssh_server.connector_options(), python=sys.executable)
    with experiment(tmp_path / "ws", "squares", launcher=DirectLauncher(connector=connector)):
        jobs = [Square.C(x=x).submit() for x in range(3)]
    for x, job in enumerate(jobs):
        folder = Path(job.__xpm__.job.path)
        assert list(folder.glob("*.done"))
        [out] = folder.glob("*.out")
        assert out.read_text().split() == [str(x * x), "True"]  # it ran in an SSH session
    assert connector.session.connections_opened == 1


def test_a_missing_remote_interpreter_stops_before_any_job(ssh_server, tmp_path) -> None:
    connector = SshConnector(**ssh_server.connector_options(), python="/nowhere/python3")
    with pytest.raises(SshError, match="xpm-ssh-ci.*/nowhere/python3"):
        with experiment(tmp_path / "ws", "squares", launcher=DirectLauncher(connector=connector)):
            Square.C(x=1).submit()
    assert not list((tmp_path / "ws").glob("jobs/*/*/*.pid")) and not list((tmp_path / "ws").glob("jobs/*/*/*.py"))
