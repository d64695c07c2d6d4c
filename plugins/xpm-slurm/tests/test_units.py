"""Fast tests without a cluster: parsing recorded sacct/squeue/sinfo outputs, scripts, options, retries."""

from __future__ import annotations

import asyncio
from pathlib import Path, PurePosixPath

import pytest

from xpm_core import LocalConnector
from xpm_core.plugin import CommandResult, JobLaunch, ProcessRef, ProcessState, ProcessStatus
from xpm_slurm import status
from xpm_slurm.cli import parse_sinfo
from xpm_slurm.launcher import SlurmLauncher
from xpm_slurm.options import SlurmOptions, format_time
from xpm_slurm.remaining import parse_duration
from xpm_slurm.script import array_script, job_script
from xpm_slurm.settings import SlurmSettings
from xpm_slurm.submission import SlurmSubmitError, SubmitPolicy, SubmitThrottle, is_transient, parse_job_id

DATA = Path(__file__).parent / "data"


def read(name: str) -> str:
    return (DATA / name).read_text()


def rows_by_id(rows):
    return {row.id: row for row in rows}


# ---- status parsing ---------------------------------------------------------------------------


def test_sacct_rows_expand_pending_array_tasks():
    rows = rows_by_id(status.parse_sacct(read("sacct-mixed.txt")))
    assert [f"24_{task}" in rows for task in range(6)] == [True] * 6
    assert rows["24_3"].state == "PENDING" and rows["24_0"].state == "RUNNING"
    assert rows["3"].state == "CANCELLED"  # "CANCELLED by 0"
    assert rows["1"].exit_code == 3
    assert rows["26"].submitted == 1795351178.0


def test_states_from_sacct():
    rows = rows_by_id(status.parse_sacct(read("sacct-mixed.txt")))
    finished = ProcessStatus.FINISHED
    assert status.state_of(rows["1"]) == ProcessState(finished, exit_code=3)
    assert status.state_of(rows["9_2"]) == ProcessState(finished, exit_code=0)
    assert status.state_of(rows["12"]) == ProcessState(finished, failure="timeout")
    assert status.state_of(rows["3"]) == ProcessState(finished, failure="rejected: PartitionTimeLimit")
    assert status.state_of(rows["26"]).status is ProcessStatus.RUNNING
    assert status.state_of(rows["24_5"]).status is ProcessStatus.QUEUED
    # sacct lags: its first reason for the job is PartitionConfig, which is not taken as fatal.
    assert status.state_of(rows["25"]).status is ProcessStatus.QUEUED
    assert not status.must_cancel(rows["25"])


def test_states_from_squeue():
    rows = rows_by_id(status.parse_squeue(read("squeue-mixed.txt")))
    assert rows["25"].reason == "PartitionTimeLimit"
    assert status.must_cancel(rows["25"])
    assert status.state_of(rows["25"]) == ProcessState(
        ProcessStatus.FINISHED, failure="rejected: PartitionTimeLimit"
    )
    assert status.state_of(rows["24_4"]).status is ProcessStatus.QUEUED
    assert rows["1"].exit_code is None  # squeue does not say


@pytest.mark.parametrize(
    ("state", "exit_code", "expected"),
    [
        ("OUT_OF_MEMORY", "0:125", ProcessState(ProcessStatus.FINISHED, exit_code=253, failure="memory")),
        (
            "CANCELLED by 1000",
            "0:15",
            ProcessState(ProcessStatus.FINISHED, exit_code=143, failure="cancelled"),
        ),
        ("NODE_FAIL", "0:0", ProcessState(ProcessStatus.FINISHED, failure="node failure")),
        ("FAILED", "0:9", ProcessState(ProcessStatus.FINISHED, exit_code=137)),
        ("REQUEUED", "0:0", ProcessState(ProcessStatus.QUEUED)),
        ("SOMETHING_NEW", "0:0", ProcessState(ProcessStatus.UNKNOWN)),
    ],
)
def test_state_mapping(state, exit_code, expected):
    (row,) = status.parse_sacct(f"7|xpm-x|{state}|{exit_code}|1|None\n")
    assert status.state_of(row) == expected


def test_a_reused_job_id_is_not_taken_for_the_old_job():
    rows = list(status.parse_sacct(read("sacct-reused-id.txt")))
    ours = status.Expectation(name="xpm-new-job-12345678", submitted=1795351190.0)
    chosen = status.select(rows, {"31": ours, "32": ours})
    # 32 is only the 2023 job: nothing is known of ours yet (unknown, not FAILED).
    assert "32" not in chosen
    # 31's new row still bears slurmdbd's provisional name, but was submitted after our stamp.
    assert chosen["31"].state == "PENDING"


def test_rows_match_by_name_without_a_stamp():
    rows = list(status.parse_sacct(read("sacct-reused-id.txt")))
    chosen = status.select(rows, {"31": status.Expectation(name="xpm-old-job-0badc0de", submitted=None)})
    assert chosen["31"].state == "COMPLETED"


def test_expand_ids():
    assert status.expand_ids("5_[0-2,7,9-10%3]") == ["5_0", "5_1", "5_2", "5_7", "5_9", "5_10"]
    assert status.expand_ids("5_3") == ["5_3"]
    assert status.expand_ids("12") == ["12"]


def test_array_tasks_are_asked_for_by_their_array():
    assert status.query_ids(["100_3", "100_4", "99", "1000_1"]) == ["99", "100", "1000"]


# ---- sbatch ---------------------------------------------------------------------------------


def test_job_id_of_sbatch_parsable():
    assert parse_job_id("1234\n") == "1234"
    assert parse_job_id("1234;cluster2\n") == "1234"
    with pytest.raises(SlurmSubmitError, match="sbatch printed no job id"):
        parse_job_id("Submitted batch job 12\n")


def test_submit_limit_is_transient_and_a_bad_partition_is_not():
    assert is_transient(CommandResult(1, "", read("sbatch-submit-limit.txt")))
    assert is_transient(CommandResult(1, "", "sbatch: error: Socket timed out on send/recv operation"))
    bad = (
        "sbatch: error: invalid partition specified: nope\n"
        "sbatch: error: Batch job submission failed: Invalid partition name specified"
    )
    assert not is_transient(CommandResult(1, "", bad))


def test_throttle_retries_a_refused_submission_until_accepted():
    refusal = CommandResult(1, "", read("sbatch-submit-limit.txt"))
    answers = [refusal, refusal, CommandResult(0, "77\n", "")]

    async def sbatch() -> CommandResult:
        return answers.pop(0)

    throttle = SubmitThrottle(SubmitPolicy(backoff=0.01, backoff_max=0.02, interval=0.0))
    assert asyncio.run(throttle.submit("job x", sbatch)) == "77"
    assert (throttle.retries, answers) == (2, [])


def test_throttle_gives_up_after_retry_for_and_says_why():
    async def sbatch() -> CommandResult:
        return CommandResult(1, "", read("sbatch-submit-limit.txt"))

    throttle = SubmitThrottle(SubmitPolicy(backoff=0.01, backoff_max=0.02, retry_for=0.1, interval=0.0))
    with pytest.raises(SlurmSubmitError, match="kept refusing job x .*AssocMaxSubmitJobLimit"):
        asyncio.run(throttle.submit("job x", sbatch))


def test_throttle_fails_at_once_on_a_definitive_refusal():
    calls = []

    async def sbatch() -> CommandResult:
        calls.append(1)
        return CommandResult(
            1,
            "",
            "sbatch: error: Batch job submission failed: "
            "Invalid account or account/partition combination specified",
        )

    with pytest.raises(SlurmSubmitError, match="sbatch refused job x: .*Invalid account"):
        asyncio.run(SubmitThrottle(SubmitPolicy()).submit("job x", sbatch))
    assert len(calls) == 1


def test_throttle_bounds_concurrent_sbatch_calls():
    running, most = 0, 0

    async def sbatch() -> CommandResult:
        nonlocal running, most
        running += 1
        most = max(most, running)
        await asyncio.sleep(0.01)
        running -= 1
        return CommandResult(0, "1\n", "")

    throttle = SubmitThrottle(SubmitPolicy(concurrency=2, interval=0.0))

    async def burst():
        return await asyncio.gather(*(throttle.submit(f"job {i}", sbatch) for i in range(10)))

    assert asyncio.run(burst()) == ["1"] * 10
    assert most == 2


# ---- options, scripts, settings -------------------------------------------------------------


def test_options_render_in_order_and_merge():
    options = SlurmOptions(nodes=1, time=7200, partition="gpu", cpus_per_task=4, extra="--exclusive")
    assert options.sbatch_arguments() == [
        "--nodes=1",
        "--time=02:00:00",
        "--partition=gpu",
        "--cpus-per-task=4",
        "--exclusive",
    ]
    merged = options.merge(partition="cpu", gpus=None, extra=[])
    assert (merged.partition, merged.gpus, merged.extra) == ("cpu", None, ("--exclusive",))
    with pytest.raises(TypeError, match="unknown Slurm option.*'partitions'.*known options: nodes, time"):
        options.merge(partitions="cpu")


def test_format_time():
    assert format_time(59.5) == "00:01:00"  # Slurm counts minutes: never round down
    assert format_time(90) == "00:01:30"
    assert format_time(86400 + 3661) == "1-01:01:01"
    with pytest.raises(ValueError, match="must be positive"):
        format_time(0)


def launch(tmp: str, name: str, command=("python", "-c", "print('a b')")) -> JobLaunch:
    return JobLaunch(
        job_id="f" * 64,
        task_id="pkg.Task",
        directory=PurePosixPath(tmp) / name,
        name=name,
        command=command,
        env={"FROM_JOB": "it's"},
    )


def test_job_script():
    text = job_script(
        launch("/ws/jobs", "train"),
        job_name="xpm-train-0a0b",
        sbatch_arguments=["--time=01:00:00"],
        environ={"FROM_LAUNCHER": "1"},
    )
    assert text.splitlines()[:9] == [
        "#!/bin/sh",
        "# Written by xpm-slurm: submitted with 'sbatch --parsable' (or run by an array).",
        "#SBATCH --job-name=xpm-train-0a0b",
        "#SBATCH --chdir=/ws/jobs/train",
        "#SBATCH --output=train.out",
        "#SBATCH --error=train.err",
        "#SBATCH --open-mode=append",
        "#SBATCH --time=01:00:00",
        "",
    ]
    assert "export FROM_JOB='it'\"'\"'s'" in text
    assert "export XPM_REMAINING_TIME=xpm_slurm.remaining:remaining_time" in text
    assert text.endswith("exec python -c 'print('\"'\"'a b'\"'\"')'\n")


def test_array_script_maps_tasks_to_job_folders():
    jobs = [launch("/ws", "a"), launch("/ws", "b")]
    text = array_script(
        jobs, job_name="xpm-array-1", sbatch_arguments=["--partition=debug"], array_range="0-1%1"
    )
    assert "#SBATCH --array=0-1%1" in text
    assert "0) exec >>/ws/a/a.out 2>>/ws/a/a.err; exec /bin/sh /ws/a/a.sh ;;" in text
    assert "1) exec >>/ws/b/b.out 2>>/ws/b/b.err; exec /bin/sh /ws/b/b.sh ;;" in text


def test_launcher_keywords_are_the_settings():
    launcher = SlurmLauncher(
        options=SlurmOptions(partition="gpu"), time="1:00:00", poll_interval=5, arrays=False
    )
    assert (launcher.options.partition, launcher.options.time, launcher.poll_interval) == (
        "gpu",
        "1:00:00",
        5.0,
    )
    copy = launcher.config(gpus=2)
    assert (copy.options.gpus, launcher.options.gpus, copy.options.partition) == ("2", None, "gpu")
    with pytest.raises(TypeError, match="unknown SlurmLauncher setting.*'partitoin'"):
        SlurmLauncher(partitoin="gpu")
    from_settings = SlurmLauncher.from_settings(SlurmSettings(partition="cpu", extra=["--exclusive"]))
    assert from_settings.options.sbatch_arguments() == ["--partition=cpu", "--exclusive"]


def test_settings_fields_carry_help():
    import attrs

    for field in attrs.fields(SlurmSettings):
        assert field.metadata.get("help"), field.name


# ---- remaining time, partitions --------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("1-02:03:04", 93784.0),
        ("02:03:04", 7384.0),
        ("03:04", 184.0),
        ("4", 4.0),
        ("UNLIMITED", None),
        ("NOT_SET", None),
    ],
)
def test_remaining_time_formats(text, seconds):
    assert parse_duration(text) == seconds


def test_partitions_from_sinfo():
    debug, long = parse_sinfo(read("sinfo.txt"))
    assert (debug.name, debug.default, debug.time_limit, debug.nodes) == ("debug", True, "10:00", 1)
    assert (long.name, long.default, long.time_limit) == ("long", False, "infinite")
    assert (debug.cpus_per_node, debug.memory_mb_per_node, debug.gres) == (["8"], ["4000"], [])


# ---- poll, with recorded answers in place of the cluster ------------------------------------


class RecordedConnector(LocalConnector):
    """Answers sacct/squeue/scancel with given outputs and records the calls (no cluster needed)."""

    def __init__(self, answers: dict[str, CommandResult]) -> None:
        super().__init__()
        self.answers = answers
        self.calls: list[list[str]] = []

    def run(self, args, **kwargs) -> CommandResult:
        self.calls.append(list(args))
        return self.answers[PurePosixPath(args[0]).name]


def ref(job_id: str, name: str, submitted: float | None = 1795351170.0) -> ProcessRef:
    return ProcessRef(launcher="slurm", id=job_id, host="h", details={"name": name, "submitted": submitted})


def test_poll_asks_squeue_about_jobs_sacct_lacks_or_shows_pending():
    # sacct: the array (one task running, the others pending) and job 25 pending with the first
    # reason slurmdbd saw (PartitionConfig); job 26 is not in slurmdbd yet. squeue (the
    # controller) has 26 running and 25's current reason, PartitionTimeLimit: 25 is rejected.
    sacct = "".join(
        line + "\n" for line in read("sacct-mixed.txt").splitlines() if line.startswith(("24_", "25|"))
    )
    connector = RecordedConnector(
        {
            "sacct": CommandResult(0, sacct, ""),
            "squeue": CommandResult(0, read("squeue-mixed.txt"), ""),
            "scancel": CommandResult(0, "", ""),
        }
    )
    launcher = SlurmLauncher(connector)
    refs = [
        ref("24_0", "xpm-array-rec"),
        ref("24_3", "xpm-array-rec"),
        ref("25", "xpm-pending-rec"),
        ref("26", "xpm-run-rec"),
    ]
    states = asyncio.run(launcher.poll(refs))
    assert states == {
        "24_0": ProcessState(ProcessStatus.RUNNING),
        "24_3": ProcessState(ProcessStatus.QUEUED),
        "25": ProcessState(ProcessStatus.FINISHED, failure="rejected: PartitionTimeLimit"),
        "26": ProcessState(ProcessStatus.RUNNING),
    }
    programs = [PurePosixPath(call[0]).name for call in connector.calls]
    assert programs == ["sacct", "squeue", "scancel"]
    assert connector.calls[0][-1] == "--jobs=24,25,26"  # array tasks asked for by their array
    assert connector.calls[1][-1] == "--jobs=24,25,26"  # 24 has pending tasks, 25 pends, 26 is unseen
    assert connector.calls[2][1:] == ["25"]


def test_poll_asks_only_sacct_when_it_knows_every_job_past_pending():
    sacct = "".join(
        line + "\n" for line in read("sacct-mixed.txt").splitlines() if line.startswith(("1|", "9_", "12|"))
    )
    connector = RecordedConnector({"sacct": CommandResult(0, sacct, "")})
    refs = [ref("1", "wrap"), ref("9_4", "wrap"), ref("12", "wrap")]
    states = asyncio.run(SlurmLauncher(connector).poll(refs))
    assert [state.status for state in states.values()] == [ProcessStatus.FINISHED] * 3
    assert [PurePosixPath(call[0]).name for call in connector.calls] == ["sacct"]


def test_concurrent_polls_share_one_query():
    sacct = "".join(
        line + "\n" for line in read("sacct-mixed.txt").splitlines() if line.startswith(("1|", "12|"))
    )
    connector = RecordedConnector({"sacct": CommandResult(0, sacct, "")})
    launcher = SlurmLauncher(connector)
    copy = launcher.config(partition="long")

    async def both():
        return await asyncio.gather(launcher.poll([ref("1", "wrap")]), copy.poll([ref("12", "wrap")]))

    first, second = asyncio.run(both())
    assert (first["1"].exit_code, second["12"].failure) == (3, "timeout")
    assert connector.calls == [connector.calls[0]] and connector.calls[0][-1] == "--jobs=1,12"


def test_poll_waits_for_sacct_exit_code_of_a_failed_job():
    # squeue says FAILED (no exit code); sacct has no row yet: unknown, not "failed without code".
    connector = RecordedConnector(
        {
            "sacct": CommandResult(0, "", ""),
            "squeue": CommandResult(0, read("squeue-mixed.txt"), ""),
        }
    )
    states = asyncio.run(SlurmLauncher(connector).poll([ref("1", "wrap")]))
    assert states == {"1": ProcessState(ProcessStatus.UNKNOWN)}


def test_poll_when_nothing_answers_says_unknown():
    connector = RecordedConnector(
        {
            "sacct": CommandResult(
                1,
                "",
                "sacct: error: slurm_persist_conn_open_without_init: failed to open persistent connection",
            ),
            "squeue": CommandResult(
                1, "", "slurm_load_jobs error: Unable to contact slurm controller (connect failure)"
            ),
        }
    )
    states = asyncio.run(
        SlurmLauncher(connector).poll([ref("26", "xpm-run-rec"), ref("24_1", "xpm-array-rec")])
    )
    assert set(states.values()) == {ProcessState(ProcessStatus.UNKNOWN)}


def test_readme_lists_every_setting_with_its_help():
    import attrs

    readme = (Path(__file__).parent.parent / "README.md").read_text()
    for field in attrs.fields(SlurmSettings):
        assert f"| `{field.name}` |" in readme, f"README.md lacks the setting {field.name}"
        assert field.metadata["help"] in readme, f"README.md's help for {field.name} is stale"


def test_an_array_refused_for_a_submit_limit_is_handed_back_for_splitting():
    from xpm_slurm.submission import SubmitLimitReached

    async def sbatch() -> CommandResult:
        return CommandResult(1, "", read("sbatch-submit-limit.txt"))

    throttle = SubmitThrottle(SubmitPolicy(interval=0.0))
    with pytest.raises(SubmitLimitReached, match="AssocMaxSubmitJobLimit"):
        asyncio.run(throttle.submit("an array", sbatch, split_on_limit=True))


def test_jobs_submitted_one_by_one_at_once_become_one_array(tmp_path):
    connector = RecordedConnector(
        {
            "scontrol": CommandResult(0, "MaxArraySize            = 100\n", ""),
            "sbatch": CommandResult(0, "4242\n", ""),
        }
    )
    launcher = SlurmLauncher(connector, array_window=0.05)
    gpu = launcher.config(gpus=1)  # other options: an array of its own
    jobs = [launch(str(tmp_path), f"j{i}") for i in range(4)]
    for job in jobs:
        Path(job.directory).mkdir()

    async def scheduler():
        # One task per job, as the scheduler does.
        return await asyncio.gather(*(launcher.submit(job) for job in jobs[:3]), gpu.submit(jobs[3]))

    refs = asyncio.run(scheduler())
    assert [ref.id for ref in refs] == ["4242_0", "4242_1", "4242_2", "4242"]
    sbatch_calls = sorted(call for call in connector.calls if call[0] == "sbatch")
    assert sbatch_calls == [
        ["sbatch", "--parsable"],  # the array: its script on standard input
        ["sbatch", "--parsable", str(jobs[3].directory / "j3.sh")],
    ]
    assert "#SBATCH --gpus=1" in Path(jobs[3].directory, "j3.sh").read_text()
    assert refs[0].details["name"] == refs[2].details["name"] != refs[3].details["name"]


def test_a_settings_yaml_section_builds_a_launcher():
    import attrs
    import cattrs
    import yaml

    section = yaml.safe_load("""
        partition: gpu
        time: "4:00:00"
        gpus_per_node: 2
        poll_interval: 60
        array_throttle: 10
        extra: [--exclusive]
        """)
    settings = cattrs.structure(section, SlurmSettings)
    launcher = get_registry_launcher().create(**attrs.asdict(settings))
    assert launcher.poll_interval == 60.0
    assert launcher.settings.array_throttle == 10
    assert launcher.options.sbatch_arguments() == [
        "--time=4:00:00",
        "--partition=gpu",
        "--gpus-per-node=2",
        "--exclusive",
    ]


def get_registry_launcher():
    from xpm_core.plugin import get_registry

    return get_registry().launchers()["slurm"]


def test_core_settings_loader_builds_the_launcher():
    """The core's settings.yaml path: options checked against SlurmSettings, then the factory."""
    from xpm_core.plugin import LauncherSettingsError, launcher_options

    section = {"partition": "gpu", "array_window": 0, "extra": ["--exclusive"]}
    keywords = launcher_options("slurm", section, SlurmSettings)
    launcher = get_registry_launcher().create(**keywords)
    assert launcher.options.sbatch_arguments() == ["--partition=gpu", "--exclusive"]
    assert launcher.settings.array_window == 0
    with pytest.raises(LauncherSettingsError, match="unknown option.*partitoin"):
        launcher_options("slurm", {"partitoin": "gpu"}, SlurmSettings)
