"""xpm-oar on the real OAR cluster: arrays, walltime then resume, besteffort, cancel, re-attach, unknown states."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path, PurePosixPath

import pytest

import xpm_oar
from xpm_core.plugin import JobLaunch, ProcessRef, ProcessState, ProcessStatus
from xpm_oar.launcher import OarLauncher
from xpm_oar.submission import OarSubmitError

pytestmark = pytest.mark.usefixtures("oar_cluster")

PATIENCE = 150.0
POLL = 0.3
#: Lets a job's interpreter import xpm_oar.remaining (stdlib only) from the source tree.
PLUGIN_SOURCE = str(Path(xpm_oar.__file__).resolve().parent.parent)


def run(coroutine):
    return asyncio.run(asyncio.wait_for(coroutine, PATIENCE))


@pytest.fixture
def make_job(job_root: Path, oar_python: str):
    """``make_job(name, python_code)`` -> a JobLaunch in its own folder under ``job_root``."""

    def make(name: str, code: str) -> JobLaunch:
        directory = job_root / name
        directory.mkdir(parents=True, exist_ok=True)
        return JobLaunch(
            job_id=f"{name:0<64}"[:64],
            task_id=f"oar.{name}",
            directory=PurePosixPath(directory),
            name=name,
            command=(oar_python, "-c", code),
            env={"PYTHONPATH": PLUGIN_SOURCE},
        )

    return make


@pytest.fixture
def launcher(oar_submit_user, counting_connector) -> OarLauncher:
    return OarLauncher(counting_connector, poll_interval=POLL, submit_user=oar_submit_user)


async def wait_all(launcher: OarLauncher, refs: list[ProcessRef]) -> dict[str, ProcessState]:
    """Poll all jobs together, as the scheduler does, until each has finished."""
    while True:
        states = await launcher.poll(refs)
        if all(state.status is ProcessStatus.FINISHED for state in states.values()):
            return states
        await asyncio.sleep(launcher.poll_interval)


async def wait_running(launcher: OarLauncher, ref: ProcessRef) -> None:
    while (await launcher.poll([ref]))[ref.id].status is not ProcessStatus.RUNNING:
        await asyncio.sleep(launcher.poll_interval)


def oarstat(job_id: str) -> dict:
    output = subprocess.run(["oarstat", "-f", "-J", "-j", job_id], capture_output=True, text=True, check=True)
    return json.loads(output.stdout)[job_id]


# ---- arrays --------------------------------------------------------------------------------


def test_jobs_submitted_together_go_as_one_array(launcher, make_job, counting_connector):
    jobs = [make_job(f"array{i}", f"print('job {i}'); raise SystemExit({i})") for i in range(4)]

    async def scenario():
        refs = await launcher.submit_many(jobs)
        return refs, await wait_all(launcher, refs)

    refs, states = run(scenario())
    assert counting_connector.calls["oarsub"] == 1
    # One OAR array: every job its own id, in the same array.
    arrays = {oarstat(ref.id)["array_id"] for ref in refs}
    assert len(arrays) == 1 and len({ref.id for ref in refs}) == 4
    # Each id is the job it names: its own output, its own exit code.
    for index, (job, ref) in enumerate(zip(jobs, refs)):
        assert Path(job.stdout).read_text() == f"job {index}\n"
        assert states[ref.id].exit_code == index


def test_jobs_submitted_one_by_one_together_form_an_array(launcher, make_job, counting_connector):
    jobs = [make_job(f"alone{i}", "print('ok')") for i in range(3)]

    async def scenario():
        refs = await asyncio.gather(*(launcher.submit(job) for job in jobs))
        return refs, await wait_all(launcher, list(refs))

    refs, states = run(scenario())
    assert counting_connector.calls["oarsub"] == 1
    assert {state.exit_code for state in states.values()} == {0}
    assert all(Path(job.stdout).read_text() == "ok\n" for job in jobs)


def test_without_arrays_each_job_is_one_oarsub(oar_submit_user, counting_connector, make_job):
    launcher = OarLauncher(counting_connector, poll_interval=POLL, submit_user=oar_submit_user, arrays=False)
    jobs = [make_job(f"single{i}", "print('ok')") for i in range(3)]

    async def scenario():
        refs = await launcher.submit_many(jobs)
        return await wait_all(launcher, refs)

    states = run(scenario())
    assert counting_connector.calls["oarsub"] == 3
    assert {state.exit_code for state in states.values()} == {0}


def test_one_poll_is_one_oarstat_call_for_all_jobs(launcher, make_job, counting_connector):
    jobs = [make_job(f"poll{i}", "import time; time.sleep(1)") for i in range(4)]

    async def scenario():
        refs = await launcher.submit_many(jobs)
        before = counting_connector.calls["oarstat"]
        # Polls made at the same moment (one per job, as the scheduler does) share one oarstat.
        await asyncio.gather(*(launcher.poll([ref]) for ref in refs))
        assert counting_connector.calls["oarstat"] == before + 1
        await wait_all(launcher, refs)

    run(scenario())


# ---- failures, refusals, cancel -------------------------------------------------------------


def test_failing_job_reports_its_exit_code(launcher, make_job):
    job = make_job("failing", "raise SystemExit(3)")

    async def scenario():
        ref = await launcher.submit(job)
        return ref, await launcher.wait(ref)

    ref, state = run(scenario())
    assert (state.status, state.exit_code, state.failure) == (ProcessStatus.FINISHED, 3, None)
    assert oarstat(ref.id)["exit_code"] == 768  # OAR records a wait status: decoded to 3


def test_refused_submission_is_one_error_with_oar_message(launcher, make_job):
    bad = launcher.config(queue="nosuchqueue")
    with pytest.raises(OarSubmitError, match="The queue nosuchqueue does not exist"):
        run(bad.submit(make_job("refused", "pass")))


@pytest.mark.skipif(os.geteuid() != 0, reason="only root's submissions are refused")
def test_root_without_submit_user_gets_the_admission_rule(make_job, counting_connector):
    launcher = OarLauncher(counting_connector, poll_interval=POLL)
    with pytest.raises(OarSubmitError, match=r"root and oar users are not allowed.*submit_user"):
        run(launcher.submit(make_job("root", "pass")))


def test_cancelled_job_reports_cancelled(launcher, make_job):
    job = make_job("cancelled", "import time; time.sleep(300)")

    async def scenario():
        ref = await launcher.submit(job)
        await wait_running(launcher, ref)
        await launcher.cancel(ref)
        state = await launcher.wait(ref)
        await launcher.cancel(ref)  # a second cancel of an ended job is harmless
        return ref, state

    ref, state = run(scenario())
    assert (state.status, state.failure) == (ProcessStatus.FINISHED, "cancelled")
    assert oarstat(ref.id)["state"] == "Error"


def test_lost_oarsub_answer_adopts_the_queued_job(oar_submit_user, make_job, losing_connector):
    connector = losing_connector
    launcher = OarLauncher(connector, poll_interval=POLL, submit_user=oar_submit_user, arrays=False, submit_backoff=0.1)
    job = make_job("lost", "print('once')")

    async def scenario():
        ref = await launcher.submit(job)
        return ref, await launcher.wait(ref)

    ref, state = run(scenario())
    assert connector.calls["oarsub"] == 1  # found by its unique name, not submitted again
    assert (state.status, state.exit_code) == (ProcessStatus.FINISHED, 0)
    assert oarstat(ref.id)["name"] == ref.details["name"]
    assert Path(job.stdout).read_text() == "once\n"


# ---- unknown states --------------------------------------------------------------------------


def test_job_unknown_to_oar_is_unknown(launcher, make_job):
    job = make_job("unknown", "pass")
    ref = launcher.process_ref(job, "987654321")
    assert run(launcher.poll([ref])) == {ref.id: ProcessState(ProcessStatus.UNKNOWN)}


def test_failing_oarstat_is_unknown_never_failed(launcher, make_job, tmp_path, oar_submit_user):
    # A binpath whose oarstat fails (the server unreachable), the other commands being OAR's.
    binpath = tmp_path / "bin"
    binpath.mkdir()
    for command in ("oarsub", "oardel"):
        (binpath / command).symlink_to(
            subprocess.run(["which", command], capture_output=True, text=True).stdout.strip()
        )
    (binpath / "oarstat").write_text("#!/bin/sh\necho 'DBI connect failed: could not connect to server' >&2\nexit 1\n")
    (binpath / "oarstat").chmod(0o755)
    broken = OarLauncher(launcher.connector, poll_interval=POLL, submit_user=oar_submit_user, binpath=str(binpath))
    job = make_job("blind", "import time; time.sleep(1)")

    async def scenario():
        ref = await launcher.submit(job)
        blind = await broken.poll([ref])
        return blind, await launcher.wait(ref)

    blind, final = run(scenario())
    assert [state.status for state in blind.values()] == [ProcessStatus.UNKNOWN]
    assert (final.status, final.exit_code) == (ProcessStatus.FINISHED, 0)


# ---- re-attach ------------------------------------------------------------------------------


def test_reattach_after_the_driver_died(launcher, make_job):
    """A new process reads NAME.pid, follows the job, and cancels it."""
    job = make_job("reattach", "import time; print('started', flush=True); time.sleep(300)")
    ref = run(launcher.submit(job))
    pid_file = Path(job.directory) / f"{job.name}.pid"
    pid_file.write_text(json.dumps(ref.to_json()))
    code = f"""
import asyncio, json, sys
from xpm_core.plugin import ProcessRef, ProcessStatus, get_registry
ref = ProcessRef.from_json(json.loads(open({str(pid_file)!r}).read()))
launcher = get_registry().launchers()[ref.launcher].load().for_process(ref, get_registry())
async def main():
    while (await launcher.poll([ref]))[ref.id].status is not ProcessStatus.RUNNING:
        await asyncio.sleep(0.3)
    await launcher.cancel(ref)
    state = await launcher.wait(ref)
    print(launcher.settings.submit_user, launcher.poll_interval, state.status.value, state.failure)
asyncio.run(main())
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=PATIENCE)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [str(launcher.settings.submit_user), str(POLL), "finished", "cancelled"]


# ---- walltime then resume --------------------------------------------------------------------

RESUMABLE = """
import pathlib, signal, sys, time
from xpm_oar.remaining import remaining_time
checkpoint = pathlib.Path('checkpoint')
if checkpoint.exists():
    print('resumed from', checkpoint.read_text(), flush=True)
    sys.exit(0)
def stop(signum, frame):
    checkpoint.write_text('step 1')
    print('stopped by signal', signum, flush=True)
    sys.exit(1)
signal.signal(signal.SIGTERM, stop)
print('seconds left:', round(remaining_time()), flush=True)
time.sleep(120)
"""


def test_walltime_checkpoint_then_resume(launcher, make_job):
    # Walltime 40 s, signalled 30 s before it: the job stops after about 10 s.
    near_end = launcher.config(walltime=40, checkpoint=30)
    job = make_job("resumable", RESUMABLE)

    async def scenario():
        first = await near_end.wait(await near_end.submit(job))
        second = await near_end.wait(await near_end.submit(job))
        return first, second

    first, second = run(scenario())
    assert (first.status, first.failure) == (ProcessStatus.FINISHED, "timeout")
    assert (second.status, second.exit_code, second.failure) == (ProcessStatus.FINISHED, 0, None)
    lines = Path(job.stdout).read_text().splitlines()
    left = int(lines[0].split()[-1])
    assert 30 <= left <= 40, lines
    assert lines[1:] == ["stopped by signal 15", "resumed from step 1"]


# ---- besteffort --------------------------------------------------------------------------------

BESTEFFORT = """
import pathlib, signal, sys, time
marker = pathlib.Path('attempts')
attempts = int(marker.read_text()) + 1 if marker.exists() else 1
marker.write_text(str(attempts))
print('attempt', attempts, flush=True)
if attempts > 1:
    sys.exit(0)
signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
time.sleep(120)
"""


def test_besteffort_job_killed_by_oar_is_resubmitted_and_followed(launcher, make_job):
    besteffort = launcher.config(types=["besteffort"], resources="nodes=1")
    job = make_job("besteffort", BESTEFFORT)
    urgent = make_job("urgent", "print('urgent')")

    async def scenario():
        ref = await besteffort.submit(job)
        await wait_running(besteffort, ref)
        # A normal job needing the whole node: OAR kills the besteffort job to run it.
        other = await launcher.config(resources="nodes=1").submit(urgent)
        states = await wait_all(launcher, [ref, other])
        return ref, states

    ref, states = run(scenario())
    assert states[ref.id] == ProcessState(ProcessStatus.FINISHED, exit_code=0)
    assert Path(job.stdout).read_text().splitlines() == ["attempt 1", "attempt 2"]
    record = oarstat(ref.id)
    assert record["state"] == "Error" and "idempotent" in record["types"]


# ---- the xpm oar commands ----------------------------------------------------------------------------


def test_xpm_oar_resources(xpm_cli):
    hosts = json.loads(xpm_cli("oar", "resources", "--json").output)
    localhost = next(host for host in hosts if host["host"] == "localhost")
    assert localhost["cores"] >= 2 and localhost["gpus"] == 0
    assert "Alive" in localhost["states"]
    assert "core" in localhost["properties"]
    table = xpm_cli("oar", "resources").output
    assert table.splitlines()[0].split()[:4] == ["HOST", "STATE", "CORES", "GPUS"]


@pytest.mark.skipif(os.geteuid() != 0, reason="oarnotify -l needs OAR admin rights")
def test_xpm_oar_queues(xpm_cli):
    queues = {queue["name"]: queue for queue in json.loads(xpm_cli("oar", "queues", "--json").output)}
    assert {"default", "besteffort"} <= set(queues)
    assert queues["besteffort"]["priority"] == 0 and queues["default"]["state"] == "Active"
    assert xpm_cli("oar", "queues").output.splitlines()[0].split() == ["QUEUE", "PRIORITY", "STATE", "SCHEDULER"]
