"""``SlurmLauncher(connector=SshConnector(...))``: sbatch and sacct run on a login node reached over SSH."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
from pathlib import PurePosixPath

import pytest

from xpm_core.plugin import JobLaunch, ProcessStatus, get_registry
from xpm_ssh import SshConnector


@pytest.fixture(scope="module")
def slurm_cluster() -> None:
    """The real Slurm of plugins/xpm-slurm/ci/start-slurm.sh; required with XPM_REQUIRE_SLURM=1."""
    import os

    problem = None
    if shutil.which("sinfo") is None:
        problem = "sinfo is not installed (plugins/xpm-slurm/ci/start-slurm.sh starts a cluster)"
    else:
        result = subprocess.run(["sinfo", "--noheader", "--format=%P"], capture_output=True, text=True, timeout=20)
        if "debug" not in result.stdout:
            problem = f"sinfo does not list partition debug: {(result.stderr or result.stdout).strip()}"
    if problem is not None:
        if os.environ.get("XPM_REQUIRE_SLURM") == "1":
            pytest.fail(problem)
        pytest.skip(problem)


@pytest.mark.usefixtures("fresh_sessions", "slurm_cluster")
def test_slurm_submits_and_polls_through_ssh(ssh_server, tmp_path) -> None:
    connector = SshConnector(**ssh_server.connector_options(), python=sys.executable)
    launcher = get_registry().launchers()["slurm"].create(connector=connector, poll_interval=0.3)
    directory = PurePosixPath(tmp_path) / "job"
    connector.mkdir(directory)
    job = JobLaunch(
        job_id="e" * 64,
        task_id="ssh.slurm",
        directory=directory,
        name="overssh",
        command=(sys.executable, "-c", "import os; print('slurm job', os.environ['SLURM_JOB_ID'])"),
    )

    async def scenario():
        ref = await launcher.submit(job)
        return ref, await asyncio.wait_for(launcher.wait(ref), 150)

    ref, state = asyncio.run(scenario())
    assert (state.status, state.exit_code) == (ProcessStatus.FINISHED, 0)
    assert connector.read_text(job.stdout).strip() == f"slurm job {ref.id}"
    assert ref.connector["name"] == "ssh" and ref.host == ssh_server.alias
    # sbatch and every sacct/squeue went through the one SSH connection
    assert connector.session.connections_opened == 1 and connector.session.commands_run >= 2
