"""``xpm jobs list|kill|clean|log|path``, run as a user runs them, on workspaces that real drivers wrote."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Iterator

import attrs
import pytest
from runtime_support import run_driver, start_driver, wait_for, write_plan

from xpm_core.workspace.index import WorkspaceIndex

RETRIEVAL = '''
"""Tasks of the `xpm jobs` tests: a retrieval grid (some of it fails) and a long-running server."""
import sys, time
from pathlib import Path
from xpm_core import Task, Param


class Evaluate(Task):
    model: Param[str]
    dataset: Param[str]
    mode: Param[str]
    lr: Param[float]

    def execute(self):
        print(f"scores of {self.model} on {self.dataset}")
        print(f"evaluating {self.model} on {self.dataset}", file=sys.stderr)
        if self.dataset == "trec" and self.model != "colbert":
            raise RuntimeError(f"{self.model} cannot read {self.dataset}")


class Serve(Task):
    model: Param[str]
    mode: Param[str]

    def execute(self):
        print("serving", flush=True)
        print("server started", file=sys.stderr, flush=True)
        Path("started").touch()
        for tick in range(1200):
            print(f"tick {tick}", file=sys.stderr, flush=True)
            time.sleep(0.25)
'''

GRID = """
from retrieval import Evaluate
for model in ("bm25", "splade", "colbert"):
    for dataset, lr in (("msmarco", 0.01), ("trec", 0.001)):
        mode = "debug" if model == "colbert" else "full"
        Evaluate.C(model=tag(model), dataset=tag(dataset), mode=tag(mode), lr=tag(lr)).submit()
"""

SERVE = """
from retrieval import Serve
Serve.C(model=tag("bm25"), mode=tag("test")).submit()
"""

EVALUATE = "retrieval.evaluate"
SERVE_TASK = "retrieval.serve"


@attrs.frozen
class Listed:
    """One line of ``xpm jobs list --tags``."""

    state: str
    name: str  # TASK_ID/HASH, or the folder with --fullpath
    tags: dict

    @property
    def model(self) -> str:
        return self.tags.get("model", "")

    @property
    def key(self) -> str:
        """model/dataset (model/serve for the server): which grid point a line is."""
        return f"{self.tags.get('model')}/{self.tags.get('dataset', 'serve')}"


@attrs.frozen
class Workspace:
    path: Path
    env: dict[str, str]  # XPM_CONFIG_DIR: settings.yaml lists the workspace as "main"
    serve_job: str  # TASK_ID/HASH of the running server
    serve_folder: Path


def xpm(*args: str, env: dict[str, str] | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "xpm_core", *args], capture_output=True, text=True,
                          env=env, timeout=timeout)


def parse(stdout: str) -> list[Listed]:
    listed = []
    for line in stdout.splitlines():
        state, name, *tags = line.split()
        listed.append(Listed(state, name, dict(_tag(tag) for tag in tags)))
    return listed


def _tag(text: str) -> tuple[str, object]:
    key, _, value = text.partition("=")
    try:
        return key, json.loads(value)
    except ValueError:
        return key, value


def write_settings(folder: Path, workspace: Path) -> dict[str, str]:
    config = folder / "config"
    config.mkdir()
    (config / "settings.yaml").write_text(f"workspaces:\n  - id: main\n    path: {workspace}\n")
    return {**os.environ, "XPM_CONFIG_DIR": str(config)}


def serve_folder(workspace: Path) -> Path:
    folders = list((workspace / "jobs" / SERVE_TASK).glob("*"))
    return folders[0] if folders else workspace / "missing"


def start_server(folder: Path, workspace: Path, experiment: str) -> subprocess.Popen[str]:
    """Start a driver whose one job runs until killed; return once the index says it runs."""
    driver = start_driver(write_plan(folder, SERVE, f"{experiment}.py"), workspace, experiment)
    wait_for(lambda: (serve_folder(workspace) / "started").exists() or driver.poll() is not None,
             "the server job to start")
    assert driver.poll() is None, driver.communicate()

    def running() -> bool:
        with WorkspaceIndex(workspace) as index:
            return bool(index.jobs(states=["running"]))

    wait_for(running, "the index to say the server runs")
    return driver


def stop_server(driver: subprocess.Popen[str], workspace: Path) -> None:
    pid_file = serve_folder(workspace) / "serve.pid"
    if driver.poll() is None and pid_file.exists():
        pid = int(json.loads(pid_file.read_text())["pid"])
        try:
            os.killpg(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    driver.communicate(timeout=60)


@pytest.fixture(scope="session")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    """A grid of 6 tagged jobs (2 failed) in experiment "grid", and a server running in "serve"."""
    folder = tmp_path_factory.mktemp("jobs-cli")
    path = folder / "ws"
    (folder / "retrieval.py").write_text(RETRIEVAL)
    result = run_driver(write_plan(folder, GRID, "grid.py"), path, "grid")
    assert len(list((path / "jobs" / EVALUATE).iterdir())) == 6, result.stderr
    driver = start_server(folder, path, "serve")
    try:
        server = serve_folder(path)
        yield Workspace(path, write_settings(folder, path), f"{SERVE_TASK}/{server.name}", server)
    finally:
        stop_server(driver, path)


def read_until(process: subprocess.Popen[str], wanted: str) -> None:
    """Read ``process``'s output up to the line ``wanted`` (the job logs its own lines first)."""
    seen = []
    for _ in range(100):
        line = process.stdout.readline()
        if line == wanted or not line:
            break
        seen.append(line)
    assert line == wanted, f"{wanted!r} not in {seen}"


def listing(ws: Workspace, *args: str) -> list[Listed]:
    result = xpm("jobs", "list", "--workdir", str(ws.path), "--tags", *args)
    assert result.returncode == 0, result.stderr
    return parse(result.stdout)


def keys(listed: list[Listed]) -> set[str]:
    return {job.key for job in listed}


def job_of(ws: Workspace, model: str, dataset: str) -> Listed:
    (job,) = [job for job in listing(ws) if job.key == f"{model}/{dataset}"]
    return job


# -- list -------------------------------------------------------------------------------------------


def test_list_shows_every_job_with_its_state_most_recent_first(workspace: Workspace) -> None:
    listed = listing(workspace)
    assert [(job.key, job.state) for job in listed] == [
        ("bm25/serve", "RUNNING"),  # submitted last, by the second experiment
        ("colbert/trec", "DONE"),
        ("colbert/msmarco", "DONE"),
        ("splade/trec", "ERROR"),
        ("splade/msmarco", "DONE"),
        ("bm25/trec", "ERROR"),
        ("bm25/msmarco", "DONE"),
    ]
    assert listed[0].name == workspace.serve_job
    assert all(job.name.startswith(f"{EVALUATE}/") and len(job.name.split("/")[1]) == 64 for job in listed[1:])


def test_list_shows_tags_only_when_asked(workspace: Workspace) -> None:
    assert job_of(workspace, "bm25", "msmarco").tags == {"model": "bm25", "dataset": "msmarco", "mode": "full",
                                                         "lr": 0.01}
    plain = xpm("jobs", "list", "--workdir", str(workspace.path))
    assert plain.returncode == 0, plain.stderr
    assert [line.split() for line in plain.stdout.splitlines()] == [
        [job.state, job.name] for job in listing(workspace)
    ]


def test_count_keeps_the_most_recent(workspace: Workspace) -> None:
    assert listing(workspace, "-c", "3") == listing(workspace)[:3]
    assert listing(workspace, "--count", "1") == listing(workspace)[:1]
    bad = xpm("jobs", "list", "--workdir", str(workspace.path), "-c", "0")
    assert bad.returncode == 2 and "0 is not in the range x>=1" in bad.stderr


def test_fullpath_shows_job_folders(workspace: Workspace) -> None:
    listed = listing(workspace, "--fullpath")
    assert listed[0].name == str(workspace.serve_folder)
    assert all(Path(job.name).is_dir() and Path(job.name).parent.parent == workspace.path / "jobs" for job in listed)
    assert [job.key for job in listed] == [job.key for job in listing(workspace)]


def test_experiment_restricts_to_its_jobs(workspace: Workspace) -> None:
    assert len(listing(workspace, "--experiment", "grid")) == 6
    assert keys(listing(workspace, "--experiment", "serve")) == {"bm25/serve"}
    # tag filters work with and without --experiment
    assert keys(listing(workspace, "--experiment", "grid", "--filter", 'model = "bm25"')) == {"bm25/msmarco", "bm25/trec"}
    unknown = xpm("jobs", "list", "--workdir", str(workspace.path), "--experiment", "nope")
    assert unknown.returncode == 1
    assert unknown.stderr == f"Error: no experiment 'nope' in {workspace.path} (experiments: grid, serve)\n"


def test_workspace_options_before_or_after_the_sub_command(workspace: Workspace) -> None:
    expected = listing(workspace)
    before = xpm("jobs", "--workdir", str(workspace.path), "list", "--tags")
    assert parse(before.stdout) == expected, before.stderr
    by_id = xpm("jobs", "list", "--workspace", "main", "--tags", env=workspace.env)
    assert parse(by_id.stdout) == expected, by_id.stderr
    by_id_before = xpm("jobs", "--workspace", "main", "list", "--tags", env=workspace.env)
    assert parse(by_id_before.stdout) == expected, by_id_before.stderr


def test_a_missing_workspace_is_a_usage_error(tmp_path: Path, workspace: Workspace) -> None:
    result = xpm("jobs", "list", "--workdir", str(tmp_path / "nowhere"))
    assert result.returncode == 2
    assert f"Error: {tmp_path / 'nowhere'} is not a workspace (no jobs/ nor experiments/ folder in it)" in result.stderr
    unknown_id = xpm("jobs", "list", "--workspace", "other", env=workspace.env)
    assert unknown_id.returncode == 2 and "other" in unknown_id.stderr
    assert "Traceback" not in result.stderr + unknown_id.stderr


def test_nothing_matching_is_said_on_stderr(workspace: Workspace) -> None:
    result = xpm("jobs", "list", "--workdir", str(workspace.path), "--filter", 'model = "none"')
    assert (result.returncode, result.stdout) == (0, "")
    assert result.stderr == "no job matches the filter 'model = \"none\"'\n"


# -- the examples of the user documentation (seeds/cli.txt), `experimaestro` read as `xpm` ------------

# Run without --workdir: the workspace is the first of settings.yaml, as in the documentation.
DOC_FILTER_EXAMPLES = [
    ('@state = "RUNNING"', {"bm25/serve"}),
    ('@state = "DONE"', {"bm25/msmarco", "splade/msmarco", "colbert/msmarco", "colbert/trec"}),
    ('@state = "ERROR"', {"bm25/trec", "splade/trec"}),
    ('model = "bm25"', {"bm25/msmarco", "bm25/trec", "bm25/serve"}),
    ('model = "bm25" and dataset = "msmarco"', {"bm25/msmarco"}),
    ('@state = "RUNNING" or @state = "WAITING"', {"bm25/serve"}),
    ('model in ["bm25", "splade"]', {"bm25/msmarco", "bm25/trec", "bm25/serve", "splade/msmarco", "splade/trec"}),
    ('mode not in ["debug", "test"]', {"bm25/msmarco", "bm25/trec", "splade/msmarco", "splade/trec"}),
    ('@state = "ERROR" and model = "bm25"', {"bm25/trec"}),
]


@pytest.mark.parametrize("expression, expected", DOC_FILTER_EXAMPLES)
def test_documented_filter_examples(workspace: Workspace, expression: str, expected: set[str]) -> None:
    result = xpm("jobs", "list", "--filter", expression, "--tags", env=workspace.env)
    assert result.returncode == 0, result.stderr
    assert keys(parse(result.stdout)) == expected


def test_documented_list_examples(workspace: Workspace) -> None:
    ten = xpm("jobs", "list", "-c", "10", "--tags", env=workspace.env)
    assert parse(ten.stdout) == listing(workspace)
    running = xpm("jobs", "list", "--filter", '@state = "RUNNING"', "-c", "5", env=workspace.env)
    assert running.stdout == f"RUNNING     {workspace.serve_job}\n"


def test_documented_kill_and_clean_dry_runs_change_nothing(workspace: Workspace) -> None:
    kill = xpm("jobs", "kill", "--filter", '@state="RUNNING"', env=workspace.env)
    assert kill.returncode == 0, kill.stderr
    assert kill.stdout.splitlines()[0].startswith(f"would kill {workspace.serve_job} (direct job ")
    assert kill.stdout.splitlines()[-1] == "dry run: 1 job(s) would be killed; add --perform to kill them"
    clean = xpm("jobs", "clean", "--filter", '@state="DONE"', env=workspace.env)
    assert clean.returncode == 0, clean.stderr
    would = [line for line in clean.stdout.splitlines() if line.startswith("would delete DONE")]
    assert len(would) == 4
    assert clean.stdout.splitlines()[-1] == "dry run: 4 job(s) would be deleted; add --perform to delete them"
    # nothing was killed nor deleted
    assert [job.state for job in listing(workspace)].count("DONE") == 4
    assert listing(workspace)[0].state == "RUNNING"


def test_documented_log_and_path_examples(workspace: Workspace) -> None:
    job = job_of(workspace, "splade", "trec").name
    stderr = xpm("jobs", "log", job, env=workspace.env)
    assert stderr.returncode == 0, stderr.stderr
    assert "evaluating splade on trec" in stderr.stdout
    assert "RuntimeError: splade cannot read trec" in stderr.stdout
    stdout = xpm("jobs", "log", "--std", job, env=workspace.env)
    assert stdout.stdout == "scores of splade on trec\n"
    # following a finished job prints its log and ends
    followed = xpm("jobs", "log", "-f", job, env=workspace.env, timeout=30)
    assert (followed.returncode, followed.stdout) == (0, stderr.stdout)
    path = xpm("jobs", "path", job, env=workspace.env)
    assert path.stdout == f"{workspace.path / 'jobs' / job}\n"


# -- kill and clean, on the shared workspace (dry runs) ----------------------------------------------


def test_kill_without_filter_names_only_running_jobs(workspace: Workspace) -> None:
    result = xpm("jobs", "kill", "--workdir", str(workspace.path), "--fullpath", "--tags")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 2 and lines[0].startswith(f"would kill {workspace.serve_folder} (direct job ")
    assert lines[0].endswith(")  mode=test model=bm25")


def test_kill_with_nothing_running_says_so(workspace: Workspace) -> None:
    result = xpm("jobs", "kill", "--workdir", str(workspace.path), "--filter", '@state = "done"')
    assert (result.returncode, result.stdout) == (0, "")
    assert result.stderr == "no running job among the selected ones: nothing to kill\n"


def test_clean_never_deletes_a_running_job(workspace: Workspace) -> None:
    result = xpm("jobs", "clean", "--workdir", str(workspace.path), "--filter", 'model = "bm25"', "--tags")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert f"{workspace.serve_job}: RUNNING, not finished: not cleaned (kill it first)" in lines
    bm25 = job_of(workspace, "bm25", "msmarco")
    assert f"would delete DONE        {bm25.name}  dataset=msmarco lr=0.01 mode=full model=bm25" in lines
    assert lines[-1] == "dry run: 2 job(s) would be deleted; add --perform to delete them"


def test_kill_and_clean_take_the_experiment_and_fullpath_options(workspace: Workspace) -> None:
    kill = xpm("jobs", "kill", "--workdir", str(workspace.path), "--experiment", "grid")
    assert (kill.returncode, kill.stdout) == (0, "")
    assert kill.stderr == "no running job among the selected ones: nothing to kill\n"
    clean = xpm("jobs", "clean", "--workdir", str(workspace.path), "--experiment", "serve", "--fullpath")
    assert clean.stdout == f"{workspace.serve_folder}: RUNNING, not finished: not cleaned (kill it first)\n"
    assert clean.stderr == "no finished job among the selected ones: nothing to clean\n"
    grid = xpm("jobs", "clean", "--workdir", str(workspace.path), "--experiment", "grid", "--fullpath")
    folders = [line.split()[-1] for line in grid.stdout.splitlines() if line.startswith("would delete")]
    assert len(folders) == 6 and all(Path(folder).parent.parent == workspace.path / "jobs" for folder in folders)


# -- filters through the command line --------------------------------------------------------------


@pytest.mark.parametrize("expression, expected", [
    ('lr = "0.01"', {"bm25/msmarco", "splade/msmarco", "colbert/msmarco"}),  # a numeric tag equals its string
    ("lr < 0.005", {"bm25/trec", "splade/trec", "colbert/trec"}),
    ("lr >= 0.01", {"bm25/msmarco", "splade/msmarco", "colbert/msmarco"}),
    ('model ~ "^s"', {"splade/msmarco", "splade/trec"}),
    ('@name ~ "serve$"', {"bm25/serve"}),
    ('@state = "done" and dataset = "trec"', {"colbert/trec"}),
    ('not (model = "bm25" or dataset = "trec")', {"splade/msmarco", "colbert/msmarco"}),
    # not > and > or (experimaestro 2.7.0 read this left to right: (colbert or splade) and trec)
    ('model = "colbert" or model = "splade" and dataset = "trec"', {"colbert/msmarco", "colbert/trec", "splade/trec"}),
])
def test_filters(workspace: Workspace, expression: str, expected: set[str]) -> None:
    assert keys(listing(workspace, "--filter", expression)) == expected


@pytest.mark.parametrize("expression, message", [
    ('model = "bm25" andd dataset = "trec"',
     'Error: invalid filter at column 16: expected "and", "or" or the end of the filter after "bm25"\n'
     '  model = "bm25" andd dataset = "trec"\n'
     '                 ^\n'),
    ('@state = "finished"',
     "Error: invalid filter at column 10: unknown job state 'finished'; expected one of UNSCHEDULED, WAITING, "
     "READY, SCHEDULED, RUNNING, DONE, ERROR\n"
     '  @state = "finished"\n'
     "           ^\n"),
    ('(model = "bm25"',
     'Error: invalid filter at column 16: expected ")", "and" or "or" after "bm25"\n'
     '  (model = "bm25"\n'
     '                 ^\n'),
])
@pytest.mark.parametrize("command", ["list", "kill", "clean"])
def test_a_bad_filter_is_a_usage_error_with_a_caret(workspace: Workspace, command: str, expression: str,
                                                    message: str) -> None:
    result = xpm("jobs", command, "--workdir", str(workspace.path), "--filter", expression)
    assert (result.returncode, result.stdout, result.stderr) == (2, "", message)


# -- log and path -------------------------------------------------------------------------------------


def test_a_unique_hash_prefix_names_a_job(workspace: Workspace) -> None:
    job = job_of(workspace, "colbert", "trec").name
    hash_ = job.split("/")[1]
    for reference in (hash_[:10], f"{EVALUATE}/{hash_[:10]}", job):
        result = xpm("jobs", "path", "--workdir", str(workspace.path), reference)
        assert result.stdout == f"{workspace.path / 'jobs' / job}\n", result.stderr


def test_an_ambiguous_prefix_lists_the_candidates(workspace: Workspace) -> None:
    hashes = [job.name.split("/")[1] for job in listing(workspace)]
    # the longest prefix two of the jobs share (hashes of fixed parameters: always the same)
    shared = max((os.path.commonprefix([a, b]) for a in hashes for b in hashes if a != b), key=len)
    assert shared, "no two jobs share a first hex digit"
    result = xpm("jobs", "log", "--workdir", str(workspace.path), shared)
    assert result.returncode == 1
    assert result.stderr.startswith(f"Error: ambiguous job id '{shared}': it starts the ids of ")
    assert result.stderr.endswith("; give more of the hash\n")


def test_an_unknown_job_is_a_one_line_error(workspace: Workspace) -> None:
    for command in ("log", "path"):
        result = xpm("jobs", command, "--workdir", str(workspace.path), f"{EVALUATE}/0123456789abcdef")
        assert (result.returncode, result.stdout) == (1, "")
        assert result.stderr == (f"Error: unknown job '{EVALUATE}/0123456789abcdef': no job of {workspace.path} "
                                 "has this id (xpm jobs list shows them)\n")
    empty = xpm("jobs", "path", "--workdir", str(workspace.path), f"{EVALUATE}/")
    assert empty.returncode == 2 and "invalid job id" in empty.stderr


def test_log_follows_a_running_job_until_ctrl_c(workspace: Workspace) -> None:
    follower = subprocess.Popen(
        [sys.executable, "-m", "xpm_core", "jobs", "log", "-f", "--workdir", str(workspace.path), workspace.serve_job],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        read_until(follower, "server started\n")
        first = follower.stdout.readline()
        assert first.startswith("tick ")
        # more comes as the job writes it
        assert follower.stdout.readline() == f"tick {int(first.split()[1]) + 1}\n"
    finally:
        follower.send_signal(signal.SIGINT)
        _, stderr = follower.communicate(timeout=30)
    assert follower.returncode == 0, stderr


def test_log_std_of_the_running_job(workspace: Workspace) -> None:
    result = xpm("jobs", "log", "--std", "--workdir", str(workspace.path), workspace.serve_job)
    assert result.stdout == "serving\n"


# -- kill and clean for real, on a workspace of their own ---------------------------------------------


def test_kill_then_clean_with_perform(tmp_path: Path) -> None:
    path = tmp_path / "ws"
    (tmp_path / "retrieval.py").write_text(RETRIEVAL)
    run_driver(write_plan(tmp_path, 'from retrieval import Evaluate\n'
                                    'Evaluate.C(model=tag("bm25"), dataset=tag("msmarco"), mode=tag("full"), '
                                    'lr=tag(0.1)).submit()', "one.py"), path, "one")
    driver = start_server(tmp_path, path, "serve")
    try:
        server = f"{SERVE_TASK}/{serve_folder(path).name}"
        follower = subprocess.Popen(
            [sys.executable, "-m", "xpm_core", "jobs", "log", "-f", "--workdir", str(path), server],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        read_until(follower, "server started\n")

        kill = xpm("jobs", "kill", "--workdir", str(path), "--filter", '@state="RUNNING"', "--perform")
        assert kill.returncode == 0, kill.stderr
        assert kill.stdout.startswith(f"killed {server} (direct job ")

        # the follower stops by itself once the job has ended (communicate would time out)
        _, stderr = follower.communicate(timeout=30)
        assert follower.returncode == 0, stderr
        driver.communicate(timeout=60)
    finally:
        stop_server(driver, path)

    listed = listing(Workspace(path, {}, server, serve_folder(path)))
    assert [(job.key, job.state) for job in listed] == [("bm25/serve", "ERROR"), ("bm25/msmarco", "DONE")]
    failed = json.loads((serve_folder(path) / "serve.failed").read_text())
    assert failed["reason"] == "cancelled"

    again = xpm("jobs", "kill", "--workdir", str(path))
    assert again.stderr == "no running job among the selected ones: nothing to kill\n"

    folders = {job.key: Path(job.name) for job in listing(Workspace(path, {}, server, serve_folder(path)), "--fullpath")}
    clean_done = xpm("jobs", "clean", "--workdir", str(path), "--filter", '@state="DONE"', "--perform")
    assert clean_done.returncode == 0, clean_done.stderr
    assert clean_done.stdout.splitlines() == [f"deleted DONE        {folders['bm25/msmarco'].parent.name}/"
                                              f"{folders['bm25/msmarco'].name}", "cleaned 1 job(s)"]
    assert not folders["bm25/msmarco"].exists() and folders["bm25/serve"].exists()
    assert [job.key for job in listing(Workspace(path, {}, server, serve_folder(path)))] == ["bm25/serve"]
    clean = xpm("jobs", "clean", "--workdir", str(path), "--perform")
    assert clean.returncode == 0, clean.stderr
    assert clean.stdout.splitlines()[-1] == "cleaned 1 job(s)"
    assert not folders["bm25/serve"].exists()
    empty = xpm("jobs", "list", "--workdir", str(path))
    assert (empty.stdout, empty.stderr) == ("", "no job in this workspace\n")


# -- help and imports -----------------------------------------------------------------------------


def test_help_lists_the_jobs_commands_and_xpm_help_imports_none_of_them() -> None:
    result = xpm("jobs", "--help")
    assert result.returncode == 0
    for command in ("list", "kill", "clean", "log", "path"):
        assert f"  {command} " in result.stdout
    assert "jobs " in xpm("--help").stdout
    probe = subprocess.run(
        [sys.executable, "-c", "import sys, json\nfrom xpm_core.cli import main\nsys.argv = ['xpm', '--help']\n"
         "try:\n    main()\nexcept SystemExit:\n    pass\nprint(json.dumps(sorted(sys.modules)), file=sys.stderr)"],
        capture_output=True, text=True, check=True,
    )
    modules = set(json.loads(probe.stderr.strip().splitlines()[-1]))
    assert not {"xpm_core.cli.jobs_command", "xpm_core.jobfilter", "xpm_core.workspace.index"} & modules


# -- jobs the index knows about without a real run ----------------------------------------------------


def test_a_job_of_a_launcher_that_is_not_installed_is_not_killed(tmp_path: Path) -> None:
    from xpm_core.workspace.records import JobSubmission

    folder = tmp_path / "jobs" / "pkg.Train" / ("e" * 64)
    folder.mkdir(parents=True)
    (folder / "Train.pid").write_text(json.dumps({"type": "nosuchlauncher", "pid": "42", "host": "cluster"}))
    with WorkspaceIndex(tmp_path) as index:
        index.record_job_submitted("xp", "run", JobSubmission(job_id="e" * 64, task_id="pkg.Train", path=folder))
        index.record_job_state("e" * 64, "running")
        index.record_job_submitted("xp", "run", JobSubmission(job_id="f" * 64, task_id="pkg.Train",
                                                              path=folder.parent / ("f" * 64)))
    result = xpm("jobs", "kill", "--workdir", str(tmp_path), "--perform")
    assert result.returncode == 1
    assert result.stdout == f"pkg.Train/{'f' * 64}: UNSCHEDULED, not started: nothing to kill\n"
    assert result.stderr == (
        f"cannot kill pkg.Train/{'e' * 64}: the launcher 'nosuchlauncher' that started it is not installed "
        "(xpm plugins lists the installed ones)\nError: 1 job(s) could not be killed (see above)\n"
    )
    # a job that has not started has no log yet
    log = xpm("jobs", "log", "--workdir", str(tmp_path), "ff")
    assert (log.returncode, log.stderr) == (
        1, f"Error: no log yet: {folder.parent / ('f' * 64) / 'Train.err'} does not exist (the job has not started)\n"
    )


def test_jobs_of_an_experimaestro_workspace_are_listed(tmp_path: Path) -> None:
    from test_experimaestro_adoption import STEP_1, experimaestro_workspace

    experimaestro_workspace(tmp_path / "ws", tmp_path / "tasks.py")
    result = xpm("jobs", "list", "--workdir", str(tmp_path / "ws"), "--experiment", "old")
    assert (result.returncode, result.stdout) == (0, f"DONE        tasks.step/{STEP_1}\n"), result.stderr
    path = xpm("jobs", "path", "--workdir", str(tmp_path / "ws"), STEP_1[:8])
    assert path.stdout == f"{tmp_path / 'ws' / 'jobs' / 'tasks.step' / STEP_1}\n"
