"""Workspace index suite: listing and filtering the jobs of a workspace holding many jobs."""

# xpm only: experimaestro 2.7.0 has no workspace index, so `requires` names xpm's index API
# and its rows read "not available".
import atexit
import shutil
import tempfile
from pathlib import Path
from types import ModuleType

from benchmarks.registry import Run, workload

REQUIRES = ("WorkspaceIndex", "JobSubmission")
TASKS = [f"bench.tasks.task{n}" for n in range(10)]
LEARNING_RATES = [0.1, 0.03, 0.01, 0.003, 0.001]
MODELS = ["bm25", "splade", "colbert", "dpr", "monot5", "tfidf", "ance"]

# Building a 100,000-job index takes seconds: it is built once per process and size, and every
# repetition opens it afresh (a new connection, as each `xpm jobs list` does).
_built: dict[int, Path] = {}


def job_state(n: int) -> str:
    # 96% done, 2% error, 1% running, 1% waiting: a workspace after a few large grids
    return {0: "error", 1: "error", 2: "running", 3: "waiting"}.get(n % 100, "done")


def reusable_workspace(workspace: Path, size: int) -> bool:
    """Whether ``workspace`` holds a generated index of ``size`` jobs this xpm reads as is (an
    index of another schema version would be rebuilt from the files, and these have none)."""
    import contextlib
    import sqlite3

    from xpm_core.workspace.index import index_path
    from xpm_core.workspace.index.schema import SCHEMA_VERSION

    if not index_path(workspace).exists():
        return False
    with contextlib.closing(sqlite3.connect(index_path(workspace))) as conn:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        jobs = conn.execute("SELECT COUNT(*) FROM jobs").fetchone()[0] if version == SCHEMA_VERSION else -1
    return jobs == size


def synthetic_workspace(api: ModuleType, size: int) -> Path:
    """A workspace whose index lists ``size`` jobs of 10 tasks in 10 runs, tagged lr, model, seed."""
    if size in _built:
        return _built[size]
    workspace = Path(tempfile.mkdtemp(prefix="xpm-bench-index-"))
    atexit.register(shutil.rmtree, workspace, ignore_errors=True)
    (workspace / "jobs").mkdir()  # what the CLI checks before calling a folder a workspace
    (workspace / "experiments").mkdir()
    index = api.WorkspaceIndex(workspace)
    runs = 10
    for run in range(runs):
        run_id = f"20260101_{run:06d}"
        index.record_run_started("grid", run_id, "bench-host", 1767225600.0 + run)
        index.record_jobs_submitted("grid", run_id, [
            api.JobSubmission(
                job_id=f"{n:064x}",
                task_id=TASKS[n % len(TASKS)],
                path=str(workspace / "jobs" / TASKS[n % len(TASKS)] / f"{n:064x}"),
                tags={"lr": LEARNING_RATES[n % 5], "model": MODELS[n % len(MODELS)], "seed": n % 3},
                submitted_time=1767225600.0 + n,
            )
            for n in range(run, size, runs)
        ])
        index.record_run_finished("grid", run_id, "done", 1767229200.0 + run)
    for n in range(size):
        state = job_state(n)
        index.record_job_state(f"{n:064x}", state, started=1.0, ended=None if state in ("running", "waiting") else 2.0,
                               exit_code=0 if state == "done" else None)
    index.close()
    _built[size] = workspace
    return workspace


@workload(size=100_000, quick_size=1_000, requires=REQUIRES)
def list_all_jobs(api: ModuleType, size: int) -> Run:
    """List every job of an index of N jobs (what `xpm jobs list` queries)."""
    workspace = synthetic_workspace(api, size)

    def run() -> None:
        index = api.WorkspaceIndex(workspace)
        jobs = index.jobs()
        index.close()
        assert len(jobs) == size, len(jobs)

    return run


@workload(size=100_000, quick_size=1_000, requires=REQUIRES)
def done_with_tag(api: ModuleType, size: int) -> Run:
    """Jobs of an index of N jobs that are done and have the tag lr = 0.01."""
    workspace = synthetic_workspace(api, size)
    expected = sum(1 for n in range(size) if job_state(n) == "done" and n % 5 == 2)

    def run() -> None:
        index = api.WorkspaceIndex(workspace)
        jobs = index.jobs(states=["done"], tags={"lr": 0.01})
        index.close()
        assert len(jobs) == expected, (len(jobs), expected)

    return run


def _workspace_api(api: ModuleType) -> type:
    """``WorkspaceAPI`` of the implementation (``xpm_core.plugin``, imported lazily as a monitor does)."""
    import importlib

    return importlib.import_module(f"{api.__name__}.plugin").WorkspaceAPI


@workload(size=100_000, quick_size=1_000, requires=REQUIRES)
def api_first_page(api: ModuleType, size: int) -> Run:
    """`WorkspaceAPI.jobs()` on an index of N jobs: the first page of 100, most recent first, with the total."""
    workspace = synthetic_workspace(api, size)
    workspace_api = _workspace_api(api)

    def run() -> None:
        with workspace_api(workspace) as source:
            page = source.jobs(limit=100)
        assert page.total == size and len(page.jobs) == min(100, size), (page.total, len(page.jobs))
        assert page.jobs[0].job_id == f"{size - 1:064x}", page.jobs[0].job_id

    return run


@workload(size=100_000, quick_size=1_000, requires=REQUIRES)
def api_tag_filter(api: ModuleType, size: int) -> Run:
    """`WorkspaceAPI.jobs(filter='model = "bm25"')` on an index of N jobs: first page and total."""
    workspace = synthetic_workspace(api, size)
    workspace_api = _workspace_api(api)
    expected = sum(1 for n in range(size) if n % len(MODELS) == 0)

    def run() -> None:
        with workspace_api(workspace) as source:
            page = source.jobs(filter='model = "bm25"', limit=100)
        assert page.total == expected, (page.total, expected)

    return run


@workload(size=100_000, quick_size=1_000, requires=REQUIRES)
def api_sort_by_tag(api: ModuleType, size: int) -> Run:
    """`WorkspaceAPI.jobs(sort="tag:lr", descending=False)` on an index of N jobs: first page and total."""
    workspace = synthetic_workspace(api, size)
    workspace_api = _workspace_api(api)

    def run() -> None:
        with workspace_api(workspace) as source:
            page = source.jobs(sort="tag:lr", descending=False, limit=100)
        assert page.total == size, page.total
        assert all(job.tags["lr"] == min(LEARNING_RATES) for job in page.jobs)

    return run
