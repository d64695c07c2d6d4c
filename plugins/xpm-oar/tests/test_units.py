"""Unit tests on recorded OAR outputs: states, exit codes, options, scripts, oarsub answers, commands."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path, PurePosixPath

import pytest

from xpm_core.plugin import CommandResult, JobLaunch, ProcessState, ProcessStatus, SubmitPolicy
from xpm_oar import status
from xpm_oar.cli import parse_queues, parse_resources
from xpm_oar.launcher import OarLauncher
from xpm_oar.options import OarOptions, format_walltime, parse_walltime
from xpm_oar.script import array_script, job_script
from xpm_oar.settings import OarSettings
from xpm_oar.submission import OarSubmitError, OarSubmitThrottle, parse_job_ids, refusal

DATA = Path(__file__).parent / "data"


def recorded() -> dict[str, status.JobRow]:
    return status.parse_oarstat((DATA / "oarstat-full.json").read_text())


# ---- status -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("wait_status", "code"), [(0, 0), (768, 3), (1792, 7), (256, 1), (9, 137), (15, 143), (None, None)]
)
def test_exit_code_is_decoded_from_the_wait_status(wait_status, code):
    assert status.exit_code(wait_status) == code


def test_recorded_states():
    rows = recorded()
    states = {job_id: status.state_of(row) for job_id, row in rows.items()}
    # exit 3: Terminated, exit_code 768
    assert states["2"] == ProcessState(ProcessStatus.FINISHED, exit_code=3)
    # stopped by the checkpoint signal before its walltime: a timeout (a ResumableTask resumes)
    assert states["5"] == ProcessState(ProcessStatus.FINISHED, exit_code=7, failure="timeout")
    # killed by OAR to free resources for a normal job
    assert states["6"] == ProcessState(ProcessStatus.FINISHED, failure="timeout")
    # oardel
    assert states["35"] == ProcessState(ProcessStatus.FINISHED, failure="cancelled")


def test_recorded_resubmission_is_read_from_the_events():
    rows = recorded()
    assert rows["9"].resubmitted_as == "11"
    assert rows["6"].resubmitted_as is None


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        ("Waiting", ProcessStatus.QUEUED),
        ("Hold", ProcessStatus.QUEUED),
        ("toLaunch", ProcessStatus.QUEUED),
        ("toAckReservation", ProcessStatus.QUEUED),
        ("Launching", ProcessStatus.QUEUED),
        ("Running", ProcessStatus.RUNNING),
        ("Suspended", ProcessStatus.RUNNING),
        ("Resuming", ProcessStatus.RUNNING),
        ("Finishing", ProcessStatus.RUNNING),
        ("toError", ProcessStatus.UNKNOWN),
        ("Terminated", ProcessStatus.FINISHED),
        ("Error", ProcessStatus.FINISHED),
        ("SomethingNew", ProcessStatus.UNKNOWN),
    ],
)
def test_every_oar_state_is_mapped(state, expected):
    row = status.JobRow(id="1", state=state, wait_status=0, events=(), resubmitted_as=None)
    assert status.state_of(row).status is expected


def test_every_documented_state_is_known():
    documented = {
        "Waiting", "Hold", "toLaunch", "toError", "toAckReservation", "Launching", "Running",
        "Suspended", "Resuming", "Finishing", "Terminated", "Error",
    }  # fmt: skip
    assert documented == status.STATES


def test_error_without_events_says_so():
    row = status.JobRow(id="1", state="Error", wait_status=None, events=(), resubmitted_as=None, message="boom")
    assert status.state_of(row).failure == "error: boom"


def test_empty_oarstat_output_means_no_job():
    assert status.parse_oarstat("") == {}
    assert status.parse_oarstat("\n") == {}


def test_oarstat_command_asks_for_every_job_at_once():
    assert status.oarstat_command("/opt/oar/", ["3", "4"]) == ["/opt/oar/oarstat", "-f", "-J", "-j", "3", "-j", "4"]


# ---- oarsub answers ---------------------------------------------------------------------------


def test_job_ids_of_an_array_in_order():
    assert parse_job_ids((DATA / "oarsub-array.txt").read_text()) == ["143", "144"]


def test_negative_job_id_is_a_refusal():
    with pytest.raises(OarSubmitError):
        parse_job_ids("OAR_JOB_ID=-5\n")


def test_refusal_keeps_oar_own_message():
    unknown_queue = CommandResult(248, "", (DATA / "oarsub-unknown-queue.txt").read_text())
    assert refusal(unknown_queue) == "ERROR : The queue nosuch does not exist"
    root = CommandResult(254, "", (DATA / "oarsub-root.txt").read_text())
    assert refusal(root) == "[ADMISSION RULE] root and oar users are not allowed to submit jobs."


def test_refusal_is_not_retried_and_unreachable_server_is():
    throttle = OarSubmitThrottle(SubmitPolicy(backoff=0.01, interval=0))
    answers = [
        CommandResult(1, "", "DBI connect('dbname=oar') failed: Connection refused"),
        CommandResult(0, "OAR_JOB_ID=12\n", ""),
    ]

    async def oarsub() -> CommandResult:
        return answers.pop(0)

    assert asyncio.run(throttle.submit("job x", oarsub)) == "12"
    assert throttle.retries == 1

    async def refused() -> CommandResult:
        return CommandResult(248, "", "ERROR : The queue nosuch does not exist")

    with pytest.raises(OarSubmitError, match="oarsub refused job x: ERROR : The queue nosuch does not exist"):
        asyncio.run(throttle.submit("job x", refused))


# ---- options ----------------------------------------------------------------------------------


def test_walltime_forms():
    assert format_walltime(90) == "0:01:30"
    assert format_walltime(3600 * 30 + 0.2) == "30:00:01"
    assert parse_walltime("2:00:00") == 7200 and parse_walltime("1:30") == 5400 and parse_walltime("3") == 10800
    assert OarOptions(walltime=120).walltime == "0:02:00"
    with pytest.raises(ValueError):
        OarOptions(walltime="two hours")


def test_directives():
    options = OarOptions(
        resources="host=1/gpu=2",
        walltime="4:00:00",
        queue="production",
        properties="gpu_model = 'A100'",
        project="team",
        types=["besteffort", "idempotent"],
        notification="mail:me@example.org",
        checkpoint=120,
    )
    assert options.directives() == [
        "-l host=1/gpu=2,walltime=4:00:00",
        "-q production",
        "-p gpu_model = 'A100'",
        "--project team",
        "--notify mail:me@example.org",
        "-t besteffort",
        "-t idempotent",
        "--checkpoint 120",
        "--signal 15",
    ]
    assert options.besteffort


def test_options_reject_multi_line_values_and_unknown_names():
    with pytest.raises(ValueError, match="one line"):
        OarOptions(properties="a\nb")
    with pytest.raises(TypeError, match="unknown OAR option.*'partition'"):
        OarOptions().merge(partition="x")


def test_config_returns_a_modified_copy():
    launcher = OarLauncher(resources="core=1", poll_interval=5)
    gpu = launcher.config(resources="host=1/gpu=1", queue="production")
    assert (launcher.options.resources, launcher.options.queue) == ("core=1", None)
    assert (gpu.options.resources, gpu.options.queue) == ("host=1/gpu=1", "production")
    assert gpu.poll_interval == 5 and gpu._cluster is launcher._cluster
    with pytest.raises(TypeError, match="unknown OarLauncher setting"):
        OarLauncher(partition="debug")


LAUNCHERS_PY = """
from xpm_oar import OarLauncher

def find_launcher(requirement, tags):
    return OarLauncher(queue="production", memory_property="memnode").for_requirement(requirement)
"""


def test_requirements_map_to_oar_resources(tmp_path):
    from xpm_core import find_launcher

    (tmp_path / "launchers.py").write_text(LAUNCHERS_PY)
    cores = find_launcher("cpu(cores=4, mem=8GiB) & duration=2h", config_dir=tmp_path)
    assert isinstance(cores, OarLauncher)
    options = cores.options
    assert (options.resources, options.walltime, options.properties) == ("host=1/core=4", "2:00:00", "memnode >= 8192")
    assert options.queue == "production"
    gpus = find_launcher("cuda(mem=16G) * 2 & duration=30m", config_dir=tmp_path).options
    assert (gpus.resources, gpus.walltime, gpus.properties) == ("host=1/gpu=2", "0:30:00", None)


def test_besteffort_jobs_are_made_idempotent_unless_disabled():
    assert "-t idempotent" in OarLauncher(types=["besteffort"])._directives()
    assert "-t idempotent" not in OarLauncher(types=["besteffort"], besteffort_resubmit=False)._directives()
    assert "-t idempotent" not in OarLauncher()._directives()


def test_settings_yaml_section_builds_the_launcher():
    import cattrs

    settings = cattrs.structure({"resources": "core=2", "types": ["besteffort"], "submit_user": "me"}, OarSettings)
    launcher = OarLauncher.from_settings(settings)
    assert launcher.options.resources == "core=2" and launcher.options.types == ("besteffort",)
    assert launcher.settings.submit_user == "me"


# ---- scripts -----------------------------------------------------------------------------------


def _launch(name: str = "task") -> JobLaunch:
    return JobLaunch(
        job_id="0" * 64,
        task_id="t",
        directory=PurePosixPath("/w/jobs/t/abc"),
        name=name,
        command=("/usr/bin/python3", "NAME.py"),
        env={"A": "x y"},
    )


def test_job_script():
    text = job_script(_launch(), job_name="xpm-task-1", directives=["-l core=1", "-q default"], environ={"B": "1"})
    lines = text.splitlines()
    assert lines[0] == "#!/bin/sh"
    assert lines[2:7] == [
        "#OAR -n xpm-task-1",
        "#OAR -O /w/jobs/t/abc/task.out",
        "#OAR -E /w/jobs/t/abc/task.err",
        "#OAR -l core=1",
        "#OAR -q default",
    ]
    assert "export A='x y'" in lines and "export B=1" in lines
    assert "export XPM_REMAINING_TIME=xpm_oar.remaining:remaining_time" in lines
    assert lines[-1] == "exec /usr/bin/python3 NAME.py"


def test_array_script_runs_each_job_by_its_index():
    text = array_script([_launch("a"), _launch("b")], job_name="xpm-array-1", directives=["-l core=1"])
    assert "#OAR --array 2" in text and "#OAR -O /dev/null" in text
    assert "1) exec >>/w/jobs/t/abc/a.out 2>>/w/jobs/t/abc/a.err; exec /bin/sh /w/jobs/t/abc/a.sh ;;" in text
    assert "2) exec >>/w/jobs/t/abc/b.out" in text


def test_remaining_time(monkeypatch):
    import time

    from xpm_oar.remaining import remaining_time

    monkeypatch.delenv("OAR_JOB_WALLTIME_SECONDS", raising=False)
    assert remaining_time() is None
    monkeypatch.setenv("OAR_JOB_WALLTIME_SECONDS", "100")
    monkeypatch.setenv("XPM_OAR_STARTED", str(int(time.time()) - 30))
    assert 68 <= remaining_time() <= 71


# ---- the xpm oar commands' parsers --------------------------------------------------------------


def test_parse_queues():
    queues = parse_queues((DATA / "oarnotify-l.txt").read_text())
    by_name = {queue.name: queue for queue in queues}
    assert by_name["besteffort"].priority == 0 and by_name["default"].state == "Active"


def test_parse_resources():
    hosts = parse_resources((DATA / "oarnodes.json").read_text())
    assert [host.host for host in hosts] == ["localhost"]
    assert hosts[0].cores == 4 and hosts[0].gpus == 0 and hosts[0].besteffort
    records = json.loads((DATA / "oarnodes.json").read_text())
    gpu = {"99": {**next(iter(records.values())), "host": "gpu-1", "core": 1, "gpu": 1}}
    assert parse_resources(json.dumps(gpu))[0].gpus == 1


def test_malformed_job_id_is_unknown_without_asking_oar():
    # binpath names no OAR: any oarstat call would raise FileNotFoundError.
    launcher = OarLauncher(binpath="/nonexistent/")
    ref = launcher.process_ref(_launch(), "not-a-number")
    assert asyncio.run(launcher.poll([ref])) == {ref.id: ProcessState(ProcessStatus.UNKNOWN)}
