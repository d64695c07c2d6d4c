"""Command line suite: `xpm --help` and `xpm jobs list` as a user runs them, in a fresh process each time."""

# Each timed run starts the command in a new interpreter, so interpreter start-up and imports
# count, as they do for a user. The jobs workloads are xpm only: experimaestro 2.7.0 has no
# workspace index (their `requires` name xpm's index API, so its rows read "not available").
import subprocess
import sys
from types import ModuleType

from benchmarks.registry import Run, workload
from benchmarks.suites.index import MODELS, job_state, synthetic_workspace

INDEX_API = ("WorkspaceIndex", "JobSubmission")
FILTER = 'model = "bm25" and @state = "DONE"'


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
    workspace = synthetic_workspace(api, size)
    command = _command(api, "jobs", "list", "--workdir", str(workspace))

    def run() -> None:
        listed = _lines(command)
        assert listed == size, (listed, size)

    return run


@workload(size=100_000, quick_size=1_000, requires=INDEX_API)
def jobs_list_filter(api: ModuleType, size: int) -> Run:
    """`xpm jobs list --filter 'model = "bm25" and @state = "DONE"'` over an index of N jobs."""
    workspace = synthetic_workspace(api, size)
    command = _command(api, "jobs", "list", "--workdir", str(workspace), "--filter", FILTER)
    expected = sum(1 for n in range(size) if n % len(MODELS) == 0 and job_state(n) == "done")

    def run() -> None:
        listed = _lines(command)
        assert listed == expected, (listed, expected)

    return run
