"""Command line suite: `xpm --help` and `xpm jobs list` as a user runs them, in a fresh process each time."""

# Each timed run starts the command in a new interpreter, so interpreter start-up and imports
# count, as they do for a user. The jobs workloads are xpm only: experimaestro 2.7.0 has no
# workspace index (their `requires` name xpm's index API, so its rows read "not available").
import atexit
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from types import ModuleType

from benchmarks.registry import Run, workload

INDEX_API = ("WorkspaceIndex", "JobSubmission")
TASKS = [f"bench.tasks.task{n}" for n in range(10)]
MODELS = ["bm25", "splade", "colbert", "dpr", "monot5", "tfidf", "ance"]
LEARNING_RATES = [0.1, 0.03, 0.01, 0.003, 0.001]
FILTER = 'model = "bm25" and @state = "DONE"'

# Building a 100,000-job index takes seconds: once per process and size.
_built: dict[int, Path] = {}


def _state(n: int) -> str:
    # 96% done, 2% error, 1% running, 1% waiting: a workspace after a few large grids
    return {0: "error", 1: "error", 2: "running", 3: "waiting"}.get(n % 100, "done")


def _workspace(api: ModuleType, size: int) -> Path:
    """A workspace whose index lists ``size`` jobs of 10 tasks in 10 runs, tagged lr, model, seed."""
    if size in _built:
        return _built[size]
    workspace = Path(tempfile.mkdtemp(prefix="xpm-bench-cli-"))
    atexit.register(shutil.rmtree, workspace, ignore_errors=True)
    (workspace / "jobs").mkdir()
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
        state = _state(n)
        index.record_job_state(f"{n:064x}", state, started=1.0,
                               ended=None if state in ("running", "waiting") else 2.0)
    index.close()
    _built[size] = workspace
    return workspace


def _command(api: ModuleType, *args: str) -> list[str]:
    return [sys.executable, "-m", api.__name__, *args]


def _lines(command: list[str]) -> int:
    """Run ``command`` with its output read through a pipe, as a terminal or `| less` would."""
    process = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
    if process.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed: {process.stderr.decode(errors='replace')[-500:]}")
    return process.stdout.count(b"\n")


@workload(size=1, quick_size=1, requires=())
def help(api: ModuleType, size: int) -> Run:
    """`xpm --help` (or `experimaestro --help`): start-up and listing the commands, N times."""
    command = _command(api, "--help")

    def run() -> None:
        for _ in range(size):
            assert _lines(command) > 0

    return run


@workload(size=100_000, quick_size=1_000, requires=INDEX_API)
def jobs_list(api: ModuleType, size: int) -> Run:
    """`xpm jobs list` over an index of N jobs: every job, most recent first."""
    workspace = _workspace(api, size)
    command = _command(api, "jobs", "list", "--workdir", str(workspace))

    def run() -> None:
        listed = _lines(command)
        assert listed == size, (listed, size)

    return run


@workload(size=100_000, quick_size=1_000, requires=INDEX_API)
def jobs_list_filter(api: ModuleType, size: int) -> Run:
    """`xpm jobs list --filter 'model = "bm25" and @state = "DONE"'` over an index of N jobs."""
    workspace = _workspace(api, size)
    command = _command(api, "jobs", "list", "--workdir", str(workspace), "--filter", FILTER)
    expected = sum(1 for n in range(size) if n % len(MODELS) == 0 and _state(n) == "done")

    def run() -> None:
        listed = _lines(command)
        assert listed == expected, (listed, expected)

    return run
