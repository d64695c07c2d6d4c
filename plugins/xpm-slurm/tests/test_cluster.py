"""xpm-slurm on the real Slurm cluster: arrays, time-out and resume, cancel, re-attach, unknown states."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path, PurePosixPath

import pytest

from xpm_core.plugin import JobLaunch, ProcessRef, ProcessState, ProcessStatus, get_registry
from xpm_slurm.launcher import SlurmLauncher

pytestmark = pytest.mark.usefixtures("slurm_cluster")

PATIENCE = 150.0
POLL = 0.3


def run(coroutine):
    return asyncio.run(asyncio.wait_for(coroutine, PATIENCE))


def make_job(root: Path, name: str, code: str) -> JobLaunch:
    directory = root / name
    directory.mkdir(parents=True, exist_ok=True)
    return JobLaunch(
        job_id=f"{name:0<64}"[:64],
        task_id=f"slurm.{name}",
        directory=PurePosixPath(directory),
        name=name,
        command=(sys.executable, "-c", code),
    )


async def wait_all(launcher: SlurmLauncher, refs: list[ProcessRef]) -> dict[str, ProcessState]:
    """Poll all jobs together, as the scheduler does, until each has finished."""
    states: dict[str, ProcessState] = {}
    while True:
        states = await launcher.poll(refs)
        if all(state.status is ProcessStatus.FINISHED for state in states.values()):
            return states
        await asyncio.sleep(launcher.poll_interval)


async def wait_running(launcher: SlurmLauncher, ref: ProcessRef) -> None:
    while (await launcher.poll([ref]))[ref.id].status is not ProcessStatus.RUNNING:
        await asyncio.sleep(launcher.poll_interval)


def squeue_field(job_id: str, field: str) -> str:
    return subprocess.run(
        ["squeue", "--noheader", "--states=all", f"--jobs={job_id}", f"--format={field}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


# ---- time-out then resume ------------------------------------------------------------------
# Slurm's shortest time limit is one minute, and slurmctld checks limits every 30 s: this job
# is submitted when the module starts, and checked by the module's last test, so that its
# minute overlaps the other tests instead of adding to them.

RESUMABLE = """
import os, pathlib
from xpm_slurm.remaining import remaining_time
checkpoint = pathlib.Path('checkpoint')
if checkpoint.exists():
    print('resumed from', checkpoint.read_text(), flush=True)
else:
    left = remaining_time()
    checkpoint.write_text('step 1')
    print('first attempt, seconds left:', left, flush=True)
    import time; time.sleep(600)
"""


@pytest.fixture(scope="module")
def timed_out_job(tmp_path_factory, slurm_cluster):
    launcher = SlurmLauncher(time="1:00", poll_interval=POLL)
    job = make_job(tmp_path_factory.mktemp("timeout"), "resumable", RESUMABLE)
    ref = run(launcher.submit(job))
    return launcher, job, ref


def test_timeout_job_started(timed_out_job):
    """Runs first in this module, so the one-minute job starts early."""
    launcher, _job, ref = timed_out_job
    run(wait_running(launcher, ref))


# ---- arrays ----------------------------------------------------------------------------------


def test_jobs_submitted_together_go_as_one_array(tmp_path, counting_connector):
    launcher = SlurmLauncher(counting_connector, poll_interval=POLL)
    jobs = [
        make_job(tmp_path, f"task{i}", f"import sys; print('job {i}'); sys.exit({i % 3})") for i in range(5)
    ]
    refs = run(launcher.submit_many(jobs))
    array_id = refs[0].id.partition("_")[0]
    assert [ref.id for ref in refs] == [f"{array_id}_{i}" for i in range(5)]
    assert counting_connector.calls["sbatch"] == 1
    states = run(wait_all(launcher, refs))
    assert [states[ref.id].exit_code for ref in refs] == [0, 1, 2, 0, 1]
    for i, job in enumerate(jobs):
        assert Path(job.stdout).read_text() == f"job {i}\n"
        assert (Path(job.directory) / f"{job.name}.sh").exists()


def test_jobs_submitted_one_by_one_together_form_an_array(tmp_path, counting_connector):
    """The scheduler submits each job from its own task: those arriving together share an sbatch."""
    launcher = SlurmLauncher(counting_connector, poll_interval=POLL)
    jobs = [make_job(tmp_path, f"alone{i}", f"print('alone {i}')") for i in range(4)]

    async def scheduler() -> dict[str, ProcessState]:
        refs = await asyncio.gather(*(launcher.submit(job) for job in jobs))
        assert len({ref.id.partition("_")[0] for ref in refs}) == 1
        return await wait_all(launcher, list(refs))

    states = run(scheduler())
    assert {state.exit_code for state in states.values()} == {0}
    assert counting_connector.calls["sbatch"] == 1
    assert [Path(job.stdout).read_text() for job in jobs] == [f"alone {i}\n" for i in range(4)]


def test_arrays_are_split_and_throttled(tmp_path, counting_connector):
    launcher = SlurmLauncher(counting_connector, poll_interval=POLL, max_array_size=2, array_throttle=1)
    jobs = [make_job(tmp_path, f"part{i}", f"print({i})") for i in range(5)]
    refs = run(launcher.submit_many(jobs))
    arrays = {ref.id.partition("_")[0] for ref in refs}
    assert len(arrays) == counting_connector.calls["sbatch"] == 3
    # The last chunk holds one job: it goes as a plain job, not an array of one.
    assert [ref.id.partition("_")[2] for ref in refs] == ["0", "1", "0", "1", ""]
    for array_id in {ref.id.partition("_")[0] for ref in refs[:4]}:
        detail = subprocess.run(["scontrol", "show", "job", array_id], capture_output=True, text=True).stdout
        assert "ArrayTaskThrottle=1" in detail
    states = run(wait_all(launcher, refs))
    assert {state.exit_code for state in states.values()} == {0}
    assert [Path(job.stdout).read_text() for job in jobs] == [f"{i}\n" for i in range(5)]


def test_arrays_follow_the_cluster_max_array_size(tmp_path):
    launcher = SlurmLauncher(poll_interval=POLL)
    assert run(launcher._array_size()) == 100  # MaxArraySize=100 in ci/start-slurm.sh


def test_without_arrays_each_job_is_one_sbatch(tmp_path, counting_connector):
    launcher = SlurmLauncher(counting_connector, poll_interval=POLL, arrays=False)
    refs = run(launcher.submit_many([make_job(tmp_path, f"single{i}", "pass") for i in range(3)]))
    assert counting_connector.calls["sbatch"] == 3
    assert all("_" not in ref.id for ref in refs)
    run(wait_all(launcher, refs))


# ---- polling -----------------------------------------------------------------------------------


def test_one_poll_is_one_sacct_call_for_all_jobs(tmp_path, counting_connector):
    launcher = SlurmLauncher(counting_connector, poll_interval=POLL, arrays=False)
    refs = run(launcher.submit_many([make_job(tmp_path, f"polled{i}", "pass") for i in range(6)]))
    states = run(wait_all(launcher, refs))
    assert len(states) == 6
    before = counting_connector.calls.copy()
    run(launcher.poll(refs))
    assert counting_connector.calls["sacct"] - before["sacct"] == 1
    assert counting_connector.calls["squeue"] == before["squeue"]  # sacct knew every job


def test_fatal_pending_reason_rejects_and_cancels(tmp_path):
    launcher = SlurmLauncher(poll_interval=POLL, time="1:00:00")  # debug allows 10 minutes
    ref = run(launcher.submit(make_job(tmp_path, "too_long", "pass")))
    state = run(launcher.wait(ref))
    assert state == ProcessState(ProcessStatus.FINISHED, failure="rejected: PartitionTimeLimit")
    assert squeue_field(ref.id, "%T") == "CANCELLED"


def test_cancelled_job_reports_cancelled(tmp_path):
    launcher = SlurmLauncher(poll_interval=POLL)
    job = make_job(tmp_path, "cancelled", "import time; time.sleep(300)")

    async def scenario() -> ProcessState:
        ref = await launcher.submit(job)
        await wait_running(launcher, ref)
        await launcher.cancel(ref)
        await launcher.cancel(ref)  # cancelling an ended job is not an error
        return await launcher.wait(ref)

    state = run(scenario())
    assert (state.status, state.failure) == (ProcessStatus.FINISHED, "cancelled")


def test_failing_job_reports_its_exit_code(tmp_path):
    launcher = SlurmLauncher(poll_interval=POLL)
    job = make_job(tmp_path, "failing", "import sys; print('oops', file=sys.stderr); sys.exit(7)")
    state = run(launcher.wait(run(launcher.submit(job))))
    assert state == ProcessState(ProcessStatus.FINISHED, exit_code=7)
    assert "oops" in Path(job.stderr).read_text()


def test_invalid_option_fails_the_submission_with_sbatch_message(tmp_path):
    from xpm_slurm.submission import SlurmSubmitError

    launcher = SlurmLauncher(poll_interval=POLL, partition="nosuchpartition")
    with pytest.raises(SlurmSubmitError, match="sbatch refused job bad .*invalid partition"):
        run(launcher.submit(make_job(tmp_path, "bad", "pass")))


def test_submit_limit_refusals_are_retried(tmp_path):
    # Account cilimit allows one job at a time (MaxSubmitJobs=1 in ci/start-slurm.sh).
    launcher = SlurmLauncher(
        poll_interval=POLL, account="cilimit", arrays=False, submit_backoff=0.5, submit_backoff_max=2.0
    )
    jobs = [make_job(tmp_path, f"limited{i}", "import time; time.sleep(0.5)") for i in range(3)]

    async def scenario() -> dict[str, ProcessState]:
        refs = await launcher.submit_many(jobs)
        return await wait_all(launcher, refs)

    states = run(scenario())
    assert {state.exit_code for state in states.values()} == {0}
    assert launcher.submit_retries >= 2


def test_array_larger_than_the_submit_limit_is_split_until_it_fits(tmp_path, counting_connector):
    launcher = SlurmLauncher(
        counting_connector, poll_interval=POLL, account="cilimit", submit_backoff=0.5, submit_backoff_max=2.0
    )
    jobs = [make_job(tmp_path, f"split{i}", f"print({i})") for i in range(3)]

    async def scenario() -> dict[str, ProcessState]:
        return await wait_all(launcher, await launcher.submit_many(jobs))

    states = run(scenario())
    assert {state.exit_code for state in states.values()} == {0}
    assert [Path(job.stdout).read_text() for job in jobs] == ["0\n", "1\n", "2\n"]
    assert counting_connector.calls["sbatch"] > 3  # the refused arrays, then the pieces


# ---- unknown states ----------------------------------------------------------------------------


def test_reused_job_id_is_unknown_not_the_old_state(tmp_path):
    launcher = SlurmLauncher(poll_interval=POLL)
    old = run(launcher.submit(make_job(tmp_path, "old", "import sys; sys.exit(4)")))
    assert run(launcher.wait(old)).exit_code == 4
    # A new job that got the same id after a job-id reset: other name, submitted later.
    newer = ProcessRef(
        launcher="slurm",
        id=old.id,
        host=old.host,
        connector=old.connector,
        details={"name": "xpm-new-job-00000000", "submitted": time.time() + 7200},
    )
    assert run(launcher.poll([newer]))[old.id] == ProcessState(ProcessStatus.UNKNOWN)


def test_job_unknown_to_slurm_is_unknown(tmp_path):
    launcher = SlurmLauncher(poll_interval=POLL)
    ghost = ProcessRef(
        launcher="slurm", id="987654", host="x", details={"name": "xpm-ghost-0", "submitted": time.time()}
    )
    assert run(launcher.poll([ghost])) == {"987654": ProcessState(ProcessStatus.UNKNOWN)}


def _binpath_with_sacct(tmp_path: Path, sacct_script: str) -> str:
    """A folder with the real Slurm commands, except sacct, which behaves as ``sacct_script`` says."""
    folder = tmp_path / "bin"
    folder.mkdir()
    for command in ("sbatch", "squeue", "scancel", "scontrol"):
        (folder / command).symlink_to(
            subprocess.run(["which", command], capture_output=True, text=True).stdout.strip()
        )
    (folder / "sacct").write_text(f"#!/bin/sh\n{sacct_script}\n")
    (folder / "sacct").chmod(0o755)
    return str(folder)


def test_accounting_unreachable_falls_back_to_squeue_then_unknown(tmp_path):
    # slurmdbd down: sacct fails; the controller (squeue) still answers for the jobs it knows.
    binpath = _binpath_with_sacct(
        tmp_path,
        "echo 'sacct: error: Problem talking to the database: Connection refused' >&2; exit 1",
    )
    launcher = SlurmLauncher(poll_interval=POLL, binpath=binpath)
    job = make_job(tmp_path, "no_accounting", "import time; time.sleep(300)")

    async def scenario() -> tuple[dict[str, ProcessState], dict[str, ProcessState]]:
        ref = await launcher.submit(job)
        await wait_running(launcher, ref)
        ghost = ProcessRef(launcher="slurm", id="987655", host="x", details={"name": "xpm-ghost-1"})
        both = await launcher.poll([ref, ghost])
        await launcher.cancel(ref)
        while True:
            after = await launcher.poll([ref])
            if after[ref.id].status is ProcessStatus.FINISHED:
                return both, after
            await asyncio.sleep(POLL)

    both, after = run(scenario())
    assert [state.status for state in both.values()] == [ProcessStatus.RUNNING, ProcessStatus.UNKNOWN]
    assert launcher.accounting == "auto"  # an outage is not a cluster without accounting
    assert list(after.values())[0].failure == "cancelled"


def test_cluster_without_accounting_is_followed_with_squeue(tmp_path):
    binpath = _binpath_with_sacct(tmp_path, "echo 'Slurm accounting storage is disabled' >&2; exit 1")
    launcher = SlurmLauncher(poll_interval=POLL, binpath=binpath)
    ref = run(launcher.submit(make_job(tmp_path, "squeue_only", "pass")))
    state = run(launcher.wait(ref))
    assert state == ProcessState(ProcessStatus.FINISHED, exit_code=0)
    assert launcher.accounting == "squeue"
    assert ref.details["binpath"] == binpath


# ---- re-attach -----------------------------------------------------------------------------------


def test_reattach_after_the_driver_died(tmp_path):
    """A driver submits, writes NAME.pid and dies; a new one rebuilds the launcher from NAME.pid."""
    job = make_job(tmp_path, "reattached", "import time; time.sleep(2); print('survived')")
    driver = f"""
import asyncio, json, sys
from pathlib import PurePosixPath
from xpm_core.plugin import JobLaunch
from xpm_slurm.launcher import SlurmLauncher
job = JobLaunch(job_id="r" * 64, task_id="t", directory=PurePosixPath({str(job.directory)!r}),
                name="reattached",
                command={list(job.command)!r})
ref = asyncio.run(SlurmLauncher(poll_interval={POLL}).submit(job))
open({str(job.directory / 'reattached.pid')!r}, "w").write(json.dumps(ref.to_json()))
"""
    subprocess.run([sys.executable, "-c", driver], check=True, env=dict(os.environ))
    ref = ProcessRef.from_json(json.loads(Path(job.directory, "reattached.pid").read_text()))
    launcher = get_registry().launchers()[ref.launcher].load().for_process(ref, get_registry())
    assert isinstance(launcher, SlurmLauncher) and launcher.poll_interval == POLL
    state = run(launcher.wait(ref))
    assert state == ProcessState(ProcessStatus.FINISHED, exit_code=0)
    assert Path(job.stdout).read_text() == "survived\n"


# ---- the command line ----------------------------------------------------------------------------


def test_xpm_slurm_partitions(xpm_cli):
    result = xpm_cli("slurm", "partitions", "--json")
    partitions = {row["name"]: row for row in json.loads(result.output)}
    assert partitions["debug"]["default"] is True
    assert partitions["debug"]["time_limit"] == "10:00"
    assert partitions["long"]["time_limit"] == "infinite"
    table = xpm_cli("slurm", "partitions").output
    assert table.splitlines()[0].split()[:3] == ["PARTITION", "STATE", "TIME"]
    assert "debug (default)" in table


def test_xpm_slurm_check(xpm_cli):
    output = xpm_cli("slurm", "check").output
    assert "up to 100 tasks per array" in output
    assert "sacct answers" in output


# ---- time-out then resume (last: the job started with the module) ---------------------------------


def test_timeout_then_resume(timed_out_job):
    launcher, job, ref = timed_out_job
    state = run(launcher.wait(ref))
    assert state.failure == "timeout"
    # What a ResumableTask retry does: submit the same job again, in the same folder.
    again = run(launcher.submit(job))
    assert run(launcher.wait(again)) == ProcessState(ProcessStatus.FINISHED, exit_code=0)
    first, second = Path(job.stdout).read_text().splitlines()
    seconds_left = float(first.rpartition(" ")[2])
    assert 0 < seconds_left <= 60
    assert second == "resumed from step 1"
