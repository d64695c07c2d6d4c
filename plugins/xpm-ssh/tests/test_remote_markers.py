"""Job markers are read through the connector: a driver that cannot see the job folders still
learns how each job ended (done, or failed and why), and does not run a done job again.

The SSH server runs on this machine, so the driver is started in a mount namespace of its own
where an empty tmpfs hides the workspace's ``jobs/`` folder: only the SSH side (sshd, outside
that namespace) sees the real job folders, as a remote host would.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

TASKS = '''
from xpm_core import GracefulTimeout, Param, Task


class Square(Task):
    x: Param[int]

    def execute(self) -> None:
        print(self.x * self.x)


class GivesUp(Task):
    """Fails with a reason only its own NAME.failed marker tells (its exit code says "failed")."""

    def execute(self) -> None:
        raise GracefulTimeout("out of time")
'''

DRIVER = '''
import json, os, sys
from xpm_core import DirectLauncher, experiment
from xpm_ssh import SshConnector
from tasks import GivesUp, Square

workspace, alias, ssh_config = sys.argv[1:4]
connector = SshConnector(alias, ssh_config=ssh_config, python=sys.executable)
jobs = []
try:
    with experiment(workspace, "hidden", launcher=DirectLauncher(connector=connector)):
        jobs = [Square.C(x=x).submit().__xpm__.job for x in range(3)] + [GivesUp.C().submit().__xpm__.job]
except Exception as exc:  # the experiment ends in error since one job failed: report, then exit
    print("experiment:", type(exc).__name__, exc, file=sys.stderr)
print(json.dumps([
    {"path": str(job.path), "state": job.state.value, "reason": job.failure_reason,
     "seen_locally": os.path.exists(job.path)}
    for job in jobs
]))
'''


def _can_hide_folders() -> str | None:
    """Why a private mount namespace cannot be made here, or None."""
    try:
        done = subprocess.run(
            ["unshare", "--mount", "--propagation", "private", "sh", "-c", "mount -t tmpfs xpm-probe /mnt"],
            capture_output=True,
            text=True,
            timeout=30,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return str(exc)
    return None if done.returncode == 0 else (done.stderr.strip() or f"exit code {done.returncode}")


@pytest.fixture
def hiding() -> None:
    problem = _can_hide_folders()
    if problem is not None:
        message = f"cannot hide the job folders from the driver (unshare --mount, as root): {problem}"
        if os.environ.get("XPM_REQUIRE_SSH") == "1":
            pytest.fail(message)
        pytest.skip(message)


def run_hidden_driver(tmp_path: Path, server) -> list[dict]:
    """Run the driver with ``WS/jobs`` hidden behind an empty tmpfs; the jobs it reports."""
    workspace = tmp_path / "ws"
    (workspace / "jobs").mkdir(parents=True, exist_ok=True)
    code = tmp_path / "code"
    code.mkdir(exist_ok=True)
    (code / "tasks.py").write_text(TASKS)
    (code / "driver.py").write_text(DRIVER)
    hide = 'mount -t tmpfs xpm-hidden "$0" && exec "$@"'
    done = subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "sh", "-c", hide, str(workspace / "jobs"),
         sys.executable, str(code / "driver.py"), str(workspace), server.alias, server.ssh_config],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=code,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_a_driver_that_cannot_see_the_job_folders_follows_jobs_to_their_end(ssh_server, hiding, tmp_path) -> None:
    jobs = run_hidden_driver(tmp_path, ssh_server)
    assert [job["seen_locally"] for job in jobs] == [False] * 4  # the driver never saw a job folder
    assert [(job["state"], job["reason"]) for job in jobs] == [("done", None)] * 3 + [("error", "timeout")]
    for x, job in enumerate(jobs[:3]):  # the real folders (the SSH side's) hold what the jobs wrote
        folder = Path(job["path"])
        assert (folder / "square.done").exists()
        assert (folder / "square.out").read_text().split() == [str(x * x)]
    failed = json.loads((Path(jobs[3]["path"]) / "givesup.failed").read_text())
    assert failed["reason"] == "timeout" and "out of time" in failed["message"]

    # A second driver reads the markers through SSH too: done jobs are not run again.
    for job in jobs[:3]:
        (Path(job["path"]) / "square.out").write_text("kept\n")
    again = run_hidden_driver(tmp_path, ssh_server)
    assert [(job["state"], job["reason"]) for job in again] == [("done", None)] * 3 + [("error", "timeout")]
    assert all((Path(job["path"]) / "square.out").read_text() == "kept\n" for job in jobs[:3])


def _ended_jobs(connector, launcher, tmp_path, count: int):
    """``count`` jobs of the SSH host, all ended, each with a ``.done`` marker; their refs and markers."""
    import asyncio

    from xpm_core.plugin import JobLaunch

    refs, markers = [], []
    for n in range(count):
        folder = tmp_path / f"job{n}"
        connector.mkdir(folder)
        connector.write_text(folder / "t.done", f"done {n}")
        launch = JobLaunch(job_id=str(n), task_id="t", directory=folder, name="t", command=["true"])
        refs.append(asyncio.run(launcher.submit(launch)))
        markers.append([str(folder / "t.done"), str(folder / "t.failed")])
    for ref in refs:  # all of them have ended before the poller first looks
        asyncio.run(launcher.wait(ref))
    return refs, markers


def _follow_all(launcher, refs, markers) -> list:
    """What the scheduler's poller returns for each job, followed together until they end."""
    import asyncio

    from xpm_core.runtime.scheduler import Poller

    async def follow_all():
        poller = Poller(launcher)
        return await asyncio.gather(*(poller.follow(r, lambda s: None, m) for r, m in zip(refs, markers)))

    return asyncio.run(follow_all())


def test_jobs_that_ended_together_cost_one_remote_command_with_their_markers(ssh_server, tmp_path) -> None:
    """One remote command per polling interval for all the jobs of a host, even when some of
    them ended in it: their markers come in the same command, never one more, never one per job."""
    from xpm_core.plugin import get_registry
    from xpm_ssh import SshConnector

    connector = SshConnector(**ssh_server.connector_options(), python=sys.executable)
    launcher = get_registry().launchers()["direct"].create(connector=connector)
    refs, markers = _ended_jobs(connector, launcher, tmp_path, 5)

    before = connector.session.commands_run
    ended = _follow_all(launcher, refs, markers)
    assert connector.session.commands_run - before == 1  # the status and the markers of all
    for n, ((state, files), (done, failed)) in enumerate(zip(ended, markers)):
        assert state.status.value == "finished" and files == {done: f"done {n}", failed: None}


def test_a_launcher_whose_poll_reads_no_files_gets_them_read_for_all_ended_jobs_at_once(ssh_server, tmp_path) -> None:
    """A launcher written before polls could read files (its ``poll`` has no ``files``) still
    works: the markers of all the jobs that ended in an interval come with one more command."""
    from xpm_core.plugin import get_registry
    from xpm_ssh import SshConnector

    direct = get_registry().launchers()["direct"].load()

    class PlainPoll(direct):  # type: ignore[misc, valid-type]
        async def poll(self, refs):
            return await super().poll(refs)

    connector = SshConnector(**ssh_server.connector_options(), python=sys.executable)
    launcher = PlainPoll(connector=connector)
    refs, markers = _ended_jobs(connector, launcher, tmp_path, 5)

    before = connector.session.commands_run
    ended = _follow_all(launcher, refs, markers)
    assert connector.session.commands_run - before == 2  # the status of all, the markers of all
    for n, ((state, files), (done, failed)) in enumerate(zip(ended, markers)):
        assert state.status.value == "finished" and files == {done: f"done {n}", failed: None}


def test_thousands_of_jobs_and_their_markers_are_read_with_one_remote_command(ssh_server, tmp_path) -> None:
    """Running, ended and unknown processes with long marker paths: more arguments than one
    ``sh`` may get (ARG_MAX), still one remote command, and each file read only for ended jobs."""
    from xpm_ssh import SshConnector

    connector = SshConnector(**ssh_server.connector_options(), python=sys.executable)
    deep = tmp_path / ("d" * 200)
    connector.mkdir(deep)
    connector.write_text(deep / "running.done", "must not be read: the job runs")
    connector.write_text(deep / "ended.done", "ended")
    common = {"cwd": str(tmp_path), "env": {}, "stdout": str(tmp_path / "out"), "stderr": str(tmp_path / "err")}
    running = connector.spawn(["sleep", "300"], **common)
    ended = connector.spawn(["true"], **common)
    try:
        deadline = time.monotonic() + 60
        while connector.process_info(*ended).running:
            assert time.monotonic() < deadline, "true did not end within a minute"
        # Pids no process has (above the pids of the kernel's default pid_max) with a start stamp
        # no process has: ended, as a job whose host rebooted.
        gone = [(4_200_000 + n, "0") for n in range(2000)]
        files = {pid: [str(deep / f"gone{pid}" / f"t.{suffix}") for suffix in ("done", "failed", "pid")] for pid, _ in gone}
        files[running[0]] = [str(deep / "running.done")]
        files[ended[0]] = [str(deep / "ended.done"), str(deep / "ended.failed")]
        connector.mkdir(deep / "gone4200007")
        connector.write_text(deep / "gone4200007" / "t.failed", '{"reason": "failed"}')  # one of them failed
        assert sum(len(a) + 1 for paths in files.values() for a in paths) > 400_000  # several sh at least

        before = connector.session.commands_run
        infos = connector.processes_and_files([running, ended, *gone], files)
        assert connector.session.commands_run - before == 1
    finally:
        connector.kill(running[0], force=True)
    assert infos[running[0]].running and infos[running[0]].files is None
    assert not infos[ended[0]].running
    assert infos[ended[0]].files == {str(deep / "ended.done"): "ended", str(deep / "ended.failed"): None}
    assert len(infos) == 2002 and not any(infos[pid].running for pid, _ in gone)
    failed = str(deep / "gone4200007" / "t.failed")
    assert {path: text for pid, _ in gone for path, text in (infos[pid].files or {}).items() if text} == {
        failed: '{"reason": "failed"}'
    }
    assert all(set(infos[pid].files or {}) == set(files[pid]) for pid, _ in gone)
