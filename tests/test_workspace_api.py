"""``WorkspaceAPI``, the read-and-act API monitors share, on a workspace that real drivers wrote."""

from __future__ import annotations

import json
import os
import signal
import sys
import textwrap
import time
from pathlib import Path
from typing import Iterator

import attrs
import cattrs
import pytest
from runtime_support import run_driver, start_driver, wait_for

from xpm_core.plugin import (
    FilterSyntaxError,
    JobPage,
    WorkspaceAPI,
    WorkspaceAPIError,
    get_registry,
    make_plugin_manager,
)

TASKS = '''
"""Tasks of the WorkspaceAPI tests."""
import sys, time
from pathlib import Path
from xpm_core import Task, Param


class Train(Task):
    model: Param[str]
    lr: Param[float]

    def execute(self):
        print("é" * 5000, file=sys.stderr)  # two bytes a character: chunks must not cut one
        print(f"trained {self.model}")
        if self.model == "broken":
            raise RuntimeError("broken on purpose")


class Evaluate(Task):
    trained: Param[Train]

    def execute(self):
        print("evaluated")


class Wait(Task):
    def execute(self):
        Path("started").touch()
        time.sleep(120)
'''

GRID = '''
import sys
from xpm_core import experiment, tag
from tasks import Train, Evaluate

with experiment(sys.argv[1], "grid") as xp:
    for model, lr in (("bm25", 0.1), ("splade", 0.01), ("colbert", 1), ("broken", 0.5)):
        train = Train.C(model=tag(model), lr=tag(lr)).submit()
        if model == "bm25":
            Evaluate.C(trained=train).submit()
'''

WAIT = '''
import sys
from xpm_core import experiment, tag
from tasks import Wait

with experiment(sys.argv[1], "serve") as xp:
    Wait.C().submit()
'''


@attrs.frozen
class Workspace:
    path: Path
    waiting: str  # TASK_ID/HASH of the job that runs until killed


def _run(folder: Path, name: str, body: str, workspace: Path) -> None:
    plan = folder / name
    plan.write_text(textwrap.dedent(body))
    result = run_driver(plan, workspace, "unused")
    assert result.returncode == 0, result.stderr


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    folder = tmp_path_factory.mktemp("api")
    path = folder / "ws"
    (folder / "tasks.py").write_text(TASKS)
    _run(folder, "grid.py", GRID, path)
    plan = folder / "wait.py"
    plan.write_text(textwrap.dedent(WAIT))
    driver = start_driver(plan, path, "unused")
    pid_file = path / "missing"
    try:
        wait_for(lambda: any((path / "jobs" / "tasks.wait").glob("*/started")), "the waiting job to start")
        folder_of_wait = next((path / "jobs" / "tasks.wait").iterdir())
        pid_file = folder_of_wait / "wait.pid"
        with WorkspaceAPI(path) as api:
            wait_for(lambda: api.jobs(filter='@state = "running"').total == 1, "the index to say it runs")
        yield Workspace(path, f"tasks.wait/{folder_of_wait.name}")
    finally:
        if pid_file.exists():
            try:
                os.killpg(int(json.loads(pid_file.read_text())["pid"]), signal.SIGKILL)
            except ProcessLookupError:
                pass
        driver.communicate(timeout=60)


@pytest.fixture
def api(workspace: Workspace) -> Iterator[WorkspaceAPI]:
    with WorkspaceAPI(workspace.path) as api:
        yield api


def test_experiments_with_their_latest_run_and_its_counts(api: WorkspaceAPI) -> None:
    experiments = {xp.experiment_id: xp for xp in api.experiments()}
    assert sorted(experiments) == ["grid", "serve"]
    grid = experiments["grid"].latest
    assert grid is not None and grid.status == "failed" and grid.job_count == 5
    assert grid.job_counts == {"done": 4, "error": 1}
    assert experiments["serve"].latest.job_counts == {"running": 1}  # type: ignore[union-attr]


def test_runs_and_unknown_experiment(api: WorkspaceAPI) -> None:
    (run,) = api.runs("grid")
    assert run.experiment_id == "grid" and run.hostname
    with pytest.raises(WorkspaceAPIError, match="no experiment 'nope'.*experiments: grid, serve"):
        api.runs("nope")


def test_jobs_filtered_sorted_and_paged(api: WorkspaceAPI) -> None:
    page = api.jobs(experiment_id="grid", filter='@name = "tasks.train"', sort="tag:lr", descending=False, limit=2)
    assert page.total == 4 and page.offset == 0 and page.tag_names == ["lr", "model"]
    assert [job.tags["lr"] for job in page.jobs] == [0.01, 0.1]
    rest = api.jobs(experiment_id="grid", filter='@name = "tasks.train"', sort="tag:lr", descending=False,
                    offset=2, limit=2)
    assert [job.tags["lr"] for job in rest.jobs] == [0.5, 1]
    failed = api.jobs(filter='@state = "error"')
    assert [job.tags["model"] for job in failed.jobs] == ["broken"]
    assert failed.jobs[0].failure_reason == "failed"
    run_id = api.runs("grid")[0].run_id
    assert api.jobs(experiment_id="grid", run_id=run_id, limit=None).total == 5


def test_a_bad_filter_or_sort_is_a_clear_error(api: WorkspaceAPI) -> None:
    with pytest.raises(FilterSyntaxError) as error:
        api.jobs(filter='model = "bm25" and')
    assert error.value.column == 19 and "invalid filter at column 19" in str(error.value)
    with pytest.raises(WorkspaceAPIError, match="cannot sort jobs by 'colour'"):
        api.jobs(sort="colour")
    with pytest.raises(WorkspaceAPIError, match="run 'x' given without the experiment"):
        api.jobs(run_id="x")


def test_one_job_in_detail(api: WorkspaceAPI) -> None:
    (train,) = api.jobs(filter='model = "bm25" and @name = "tasks.train"').jobs
    detail = api.job(train.full_id)
    assert detail.parameters is not None and detail.parameters["version"] == 3
    (evaluate,) = api.jobs(filter='@name = "tasks.evaluate"').jobs
    assert detail.dependents == [evaluate.job_id]
    assert api.job(evaluate.job_id[:10]).depends_on == [train.job_id]
    (broken,) = api.jobs(filter='model = "broken"').jobs
    assert api.job(broken.full_id).failure is not None
    with pytest.raises(WorkspaceAPIError, match="unknown job 'tasks.train/ffff'"):
        api.job("tasks.train/ffff")


def test_log_chunks_reassemble_the_file_and_never_cut_a_character(api: WorkspaceAPI) -> None:
    (train,) = api.jobs(filter='model = "splade"').jobs
    content = Path(api.job(train.full_id).stderr_path).read_bytes()
    pieces, offset = [], 0
    while True:
        chunk = api.log(train.job_id, "stderr", offset, size=1001)  # odd: would cut a 2-byte character
        if chunk.next_offset == offset:
            break
        pieces.append(chunk.text)
        offset = chunk.next_offset
    assert "".join(pieces).encode() == content and chunk.finished
    tail = api.log(train.job_id, "stdout", -100)
    assert tail.text.strip() == "trained splade" and tail.next_offset == tail.size
    with pytest.raises(WorkspaceAPIError, match="unknown log stream"):
        api.log(train.job_id, "both")


def test_answers_travel_as_json(api: WorkspaceAPI) -> None:
    page = api.jobs(limit=3)
    wire = json.loads(json.dumps(cattrs.unstructure(page)))
    assert cattrs.structure(wire, JobPage) == page


def test_clean_refuses_unfinished_jobs_and_dry_runs_by_default(api: WorkspaceAPI, workspace: Workspace) -> None:
    (outcome,) = api.clean([workspace.waiting])
    assert outcome.status == "not_finished" and "kill it first" in outcome.message
    (evaluate,) = api.jobs(filter='@name = "tasks.evaluate"').jobs
    (dry,) = api.clean([evaluate.full_id])
    assert dry.status == "would_delete" and Path(evaluate.path).is_dir()


def test_kill_a_running_job_then_clean_it(api: WorkspaceAPI, workspace: Workspace) -> None:
    token = api.change_token()
    (dry,) = api.kill([workspace.waiting])
    assert dry.status == "would_kill"
    (killed,) = api.kill([workspace.waiting], perform=True)
    assert killed.status == "killed" and "direct job" in killed.message
    wait_for(lambda: api.jobs(filter='@state = "error"', experiment_id="serve").total == 1, "the kill to be seen")
    assert api.change_token() != token
    assert api.kill([workspace.waiting], perform=True) == []  # an ended job is left alone, as the CLI does
    (cleaned,) = api.clean([workspace.waiting], perform=True)
    assert cleaned.status == "deleted"
    assert not Path(workspace.path / "jobs" / workspace.waiting).exists()
    assert api.jobs(experiment_id="serve").total == 0


# ---- one registry: what make_cli(pm) installs is what the scheduler uses ----------------------

RECORDER = '''
"""A plugin that records the job states it is told about, in a file the test reads."""
import os
from xpm_core.plugin import hookimpl

@hookimpl
def xpm_job_state_changed(job, previous, current):
    with open(os.environ["XPM_RECORDER_FILE"], "a") as out:
        out.write(f"{job.task_id} {current.value}\\n")
'''


def test_a_plugin_given_to_make_cli_reaches_the_scheduler(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from xpm_core.cli import make_cli

    (tmp_path / "tasks.py").write_text(TASKS)
    (tmp_path / "recorder.py").write_text(RECORDER)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(tmp_path), *sys.path]))
    monkeypatch.setenv("XPM_RECORDER_FILE", str(tmp_path / "events.log"))
    import recorder  # type: ignore[import-not-found]

    pm = make_plugin_manager(load_entrypoints=False, extra_plugins=[("recorder", recorder)])
    make_cli(pm)
    assert get_registry().pm is pm
    from tasks import Train  # type: ignore[import-not-found]

    from xpm_core import experiment

    with experiment(tmp_path / "ws", "injected"):
        Train.C(model="x", lr=1.0).submit()
    deadline = time.monotonic() + 10
    while "tasks.train done" not in (tmp_path / "events.log").read_text() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "tasks.train done" in (tmp_path / "events.log").read_text()
