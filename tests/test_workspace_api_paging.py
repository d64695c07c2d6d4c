"""WorkspaceAPI.jobs on a workspace made by real runs: filter, run restriction, every sort, paging,
total and tag names, checked against the order a Python sort of every record gives."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable

import pytest
from runtime_support import run_driver, write_plan

from xpm_core.jobfilter import matches, parse_filter
from xpm_core.plugin import JobState, WorkspaceAPI
from xpm_core.plugin.workspace import SORT_COLUMNS, FilterSyntaxError, WorkspaceAPIError
from xpm_core.workspace.index import WorkspaceIndex

# Run 1 of "grid": a grid of trainings and their evaluations, a failing job and a job that never
# starts (its dependency failed), and a tag "kind" holding a string, a number and a boolean.
FIRST = """
for lr in [0.1, 0.01]:
    for size in [128, 256]:
        model = Model.C(name="transformer", hidden_size=tag(size))
        trained = Train.C(model=model, learning_rate=tag(lr)).submit()
        Evaluate.C(trained=trained).submit()
failing = Fail.C(code=1).tag("kind", "broken").submit()
Consume.C(upstream=failing).submit()
Step.C(index=1).tag("kind", 3).submit()
Step.C(index=2).tag("kind", True).submit()
Step.C(index=5).tag("kind", 0.5).submit()
"""
# Run 2 of "grid": one training again, and a new job; "other" is a second experiment.
SECOND = """
model = Model.C(name="transformer", hidden_size=tag(128))
Train.C(model=model, learning_rate=tag(0.1)).submit()
Step.C(index=3).tag("kind", "zeta").submit()
"""
OTHER = """
Step.C(index=4).submit()
"""


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("paging")
    workspace = folder / "ws"
    for name, body, experiment in (("first.py", FIRST, "grid"), ("second.py", SECOND, "grid"),
                                   ("other.py", OTHER, "other")):
        result = run_driver(write_plan(folder, body, name), workspace, experiment)
        assert "Traceback" not in result.stderr, result.stderr
        if name == "first.py":
            # Tagged: the successful second run would otherwise prune this failed one (history).
            subprocess.run([sys.executable, "-m", "xpm_core", "experiments", "tag", "grid", "latest", "first",
                            "--workdir", str(workspace)], check=True, capture_output=True)
        time.sleep(1.05)  # run ids are timestamps to the second
    return workspace


@pytest.fixture
def api(workspace: Path):
    with WorkspaceAPI(workspace) as api:
        yield api


def ids(page: Any) -> list[str]:
    return [job.job_id for job in page.jobs]


def reference_key(sort: str) -> Callable[[Any], Any]:
    """The order WorkspaceAPI promises, written as a Python key over job summaries."""
    if sort.startswith("tag:"):
        name = sort[4:]

        def tag_key(job: Any) -> tuple:
            value = job.tags.get(name)
            if value is None:
                return (0, 0.0, "")
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                return (1, float(value), "")  # numbers before strings
            return (2, 0.0, str(value))

        return tag_key
    ranks = {state.value: rank for rank, state in enumerate(JobState)}
    getters: dict[str, Callable[[Any], Any]] = {
        "submitted": lambda job: job.submitted_time,
        "started": lambda job: job.started_time,
        "ended": lambda job: job.ended_time,
        "retries": lambda job: job.retry_count,
        "duration": lambda job: None if job.started_time is None else (job.ended_time or time.time()) - job.started_time,
    }
    if sort in getters:
        get = getters[sort]
        return lambda job: (get(job) is not None, get(job) or 0.0)
    return {"state": lambda job: ranks[job.state], "task": lambda job: job.task_id,
            "job": lambda job: job.job_id}[sort]


def test_default_listing_is_most_recent_first_with_total_and_tag_names(api, workspace):
    page = api.jobs(limit=None)
    with WorkspaceIndex(workspace) as index:
        every = {job.job_id for job in index.jobs()}
    assert set(ids(page)) == every and page.total == len(every) == 15
    times = [job.submitted_time for job in page.jobs]
    assert times == sorted(times, reverse=True)
    assert page.tag_names == ["hidden_size", "kind", "learning_rate"]
    assert (page.offset, page.limit) == (0, None)
    states = {job.task_id: job.state for job in page.jobs}
    assert states["tasks.fail"] == "error" and states["tasks.train"] == "done"


@pytest.mark.parametrize("descending", [True, False])
@pytest.mark.parametrize("sort", [*SORT_COLUMNS, "tag:kind", "tag:learning_rate", "tag:missing"])
def test_every_sort_orders_as_the_python_key(api, sort, descending):
    base = api.jobs(limit=None).jobs  # most recent first: ties keep this order
    if sort == "submitted":
        expected = base if descending else base[::-1]
    else:
        expected = sorted(base, key=reference_key(sort), reverse=descending)
    page = api.jobs(sort=sort, descending=descending, limit=None)
    assert ids(page) == [job.job_id for job in expected]
    assert page.total == len(base)


def test_tag_sort_puts_missing_then_numbers_then_strings(api):
    kinds = [job.tags.get("kind") for job in api.jobs(sort="tag:kind", descending=False, limit=None).jobs]
    present = [kind for kind in kinds if kind is not None]
    assert kinds[: len(kinds) - len(present)] == [None] * (len(kinds) - len(present))
    assert present == [0.5, 3, True, "broken", "broken", "zeta"]  # True sorts as "True"; Consume inherits "broken"


@pytest.mark.parametrize("sort", ["submitted", "task", "tag:kind"])
def test_pages_are_slices_of_the_whole_listing(api, sort):
    whole = ids(api.jobs(sort=sort, limit=None))
    for offset, limit in ((0, 5), (5, 5), (15, 5), (3, 0), (16, 100), (40, 3)):
        page = api.jobs(sort=sort, offset=offset, limit=limit)
        assert ids(page) == whole[offset : offset + limit], (offset, limit)
        assert (page.total, page.offset, page.limit) == (len(whole), offset, limit)
        assert page.tag_names == ["hidden_size", "kind", "learning_rate"]  # of the selection, not the page
    assert ids(api.jobs(sort=sort, offset=4, limit=None)) == whole[4:]


@pytest.mark.parametrize("text", [
    '@state = "done"',
    '@state = "ERROR"',
    'kind = "broken"',
    "kind = 3",
    'learning_rate = 0.1 and @state = "DONE"',
    "not kind in [3, 0.5]",
    '@name ~ "step" or hidden_size > 200',
    "hidden_size >= 128",
])
def test_filters_select_what_the_python_evaluation_selects(api, text):
    expression = parse_filter(text)
    records = api.select()
    expected = [record.job_id for record in records if matches(expression, record)]
    page = api.jobs(filter=text, limit=None)
    assert ids(page) == expected
    assert page.total == len(expected)
    by_id = {record.job_id: record for record in records}
    assert page.tag_names == sorted({name for job_id in expected for name in by_id[job_id].tags})
    first = api.jobs(filter=text, sort="tag:kind", descending=False, limit=2)
    assert first.total == len(expected)
    assert ids(first) == [job.job_id for job in sorted(page.jobs, key=reference_key("tag:kind"))][:2]


def test_run_restriction_keeps_the_jobs_that_run_submitted(api, workspace):
    runs = [run.run_id for run in api.runs("grid")]
    assert len(runs) == 2
    with WorkspaceIndex(workspace) as index:
        members = [{job.job_id for job in index.jobs(experiment_id="grid", run_id=run)} for run in runs]
    first, second = (api.jobs(experiment_id="grid", run_id=run, limit=None) for run in runs)
    assert set(ids(first)) == members[0] and first.total == len(members[0]) == 13
    assert set(ids(second)) == members[1] and second.total == 2
    assert second.tag_names == ["hidden_size", "kind", "learning_rate"]
    # A job of both runs is described by the experiment's run that submitted it last.
    (shared,) = members[0] & members[1]
    assert [job.run_id for job in first.jobs if job.job_id == shared] == [runs[1]]
    whole = api.jobs(experiment_id="grid", limit=None)
    assert whole.total == 14 and {job.experiment_id for job in whole.jobs} == {"grid"}
    paged = api.jobs(experiment_id="grid", run_id=runs[0], sort="tag:learning_rate", offset=2, limit=4)
    assert ids(paged) == ids(api.jobs(experiment_id="grid", run_id=runs[0], sort="tag:learning_rate",
                                      limit=None))[2:6]
    assert paged.total == 13
    filtered = api.jobs(experiment_id="grid", run_id=runs[0], filter='@name ~ "step"', limit=None)
    assert sorted(job.tags["kind"] for job in filtered.jobs if job.tags.get("kind") != 0.5) == [True, 3]
    other = api.jobs(experiment_id="other", limit=None)
    assert (other.total, other.tag_names) == (1, [])


def test_bad_requests_say_what_is_wrong(api):
    with pytest.raises(WorkspaceAPIError, match="without the experiment"):
        api.jobs(run_id="x")
    with pytest.raises(WorkspaceAPIError, match="cannot sort jobs by 'size'"):
        api.jobs(sort="size")
    with pytest.raises(WorkspaceAPIError, match="offset and limit"):
        api.jobs(offset=-1)
    with pytest.raises(WorkspaceAPIError, match="no experiment 'nope'"):
        api.jobs(experiment_id="nope")
    with pytest.raises(WorkspaceAPIError, match="has no run 'nope'"):
        api.jobs(experiment_id="grid", run_id="nope")
    with pytest.raises(FilterSyntaxError):
        api.jobs(filter="kind = ")


def test_markers_win_in_sorts_filters_and_totals(workspace, tmp_path):
    copy = tmp_path / "ws"
    shutil.copytree(workspace, copy, symlinks=True)
    with WorkspaceAPI(copy) as api:
        done = api.jobs(filter='@name ~ "train"', limit=1).jobs[0]
        before = api.jobs(filter='@state = "done"', limit=None).total
        # The index hears the job runs again, but its folder still holds its .done marker.
        api.index.record_job_state(done.job_id, "running")
        assert api.jobs(filter='@state = "running"', limit=None).total == 0
        assert api.jobs(filter='@state = "done"', limit=None).total == before
        by_state = api.jobs(sort="state", limit=None)
        assert [job.state for job in by_state.jobs if job.job_id == done.job_id] == ["done"]
        assert ids(by_state) == [job.job_id for job in sorted(api.jobs(limit=None).jobs, key=reference_key("state"),
                                                                reverse=True)]


def test_without_count_a_page_comes_alone(api):
    runs = [run.run_id for run in api.runs("grid")]
    for request in ({}, {"experiment_id": "grid"}, {"experiment_id": "grid", "run_id": runs[0]},
                    {"experiment_id": "grid", "filter": '@name ~ "step"', "sort": "tag:kind"}):
        counted = api.jobs(limit=3, **request)
        alone = api.jobs(limit=3, count=False, **request)
        assert ids(alone) == ids(counted) and counted.total > 3
        assert (alone.total, alone.tag_names) == (-1, [])
    # limit=0 asks for the count only (what the TUI asks once the page is on screen).
    only = api.jobs(experiment_id="grid", run_id=runs[0], limit=0)
    assert (only.jobs, only.total, only.tag_names) == ([], 13, ["hidden_size", "kind", "learning_rate"])


def test_a_rebuilt_index_describes_jobs_as_the_live_one(api, workspace, tmp_path):
    # The live index was written run by run as the drivers submitted; a copy without its index
    # is rebuilt from the files: every experiment and run page must read the same.
    copy = tmp_path / "ws"
    shutil.copytree(workspace, copy, symlinks=True, ignore=shutil.ignore_patterns(".xpm"))
    runs = [run.run_id for run in api.runs("grid")]
    requests = [{}, {"experiment_id": "grid"}, {"experiment_id": "other"},
                *({"experiment_id": "grid", "run_id": run} for run in runs)]
    with WorkspaceAPI(copy) as rebuilt:
        for request in requests:
            live, fresh = api.jobs(limit=None, **request), rebuilt.jobs(limit=None, **request)
            # (Submission times: the driver's clock in the index, jobs.jsonl's on disk, a few ms apart.)
            assert sorted((job.job_id, job.run_id, json.dumps(job.tags)) for job in fresh.jobs) == \
                sorted((job.job_id, job.run_id, json.dumps(job.tags)) for job in live.jobs), request
            assert (fresh.total, fresh.tag_names) == (live.total, live.tag_names)


def test_interrupt_stops_a_read_running_in_another_thread(api):
    endless = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT COUNT(*) FROM c"
    errors: list[BaseException] = []

    def read() -> None:
        try:
            api.index.execute(endless)
        except sqlite3.OperationalError as error:
            errors.append(error)

    api.index  # opened here: the read runs in the other thread
    reader = threading.Thread(target=read)
    reader.start()
    deadline = time.monotonic() + 30
    while reader.is_alive() and time.monotonic() < deadline:
        api.interrupt()  # before the query starts, an interrupt is a no-op: keep asking
        reader.join(0.01)
    assert not reader.is_alive(), "the endless query was not interrupted"
    assert [str(error) for error in errors] == ["interrupted"]
    assert api.jobs(limit=1).total > 0  # the connection serves the next read
