"""The monitor protocol: ``xpm experiments monitor-server`` in a child process, and RemoteWorkspace."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from xpm_core.plugin import FilterSyntaxError, MonitorProtocolError, RemoteWorkspace, WorkspaceAPI, WorkspaceAPIError


def make_workspace(root: Path, jobs: int = 20) -> Path:
    """Finished jobs written as files, indexed by ``xpm experiments sync``."""
    run = root / "experiments" / "grid" / "r1"
    run.mkdir(parents=True)
    lines = []
    for i in range(jobs):
        job_id = f"{i:064x}"
        directory = root / "jobs" / "pkg.Train" / job_id
        directory.mkdir(parents=True)
        (directory / ("Train.done" if i % 4 else "Train.failed")).write_text("" if i % 4 else '{"reason": "failed"}')
        (directory / "Train.err").write_text(f"log of job {i}\n")
        lines.append(json.dumps({"job_id": job_id, "task_id": "pkg.Train", "tags": {"i": i}, "timestamp": 1e9 + i}))
    (run / "jobs.jsonl").write_text("\n".join(lines) + "\n")
    (run / "status.json").write_text(json.dumps({"status": "done", "hostname": "h", "started_at": 1e9}))
    sync(root)
    return root


def sync(root: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "xpm_core", "experiments", "sync", "--workdir", str(root)],
        check=True,
        capture_output=True,
    )


def server(root: Path) -> list[str]:
    return [sys.executable, "-m", "xpm_core", "experiments", "monitor-server", str(root)]


@pytest.fixture
def workspace(tmp_path) -> Path:
    return make_workspace(tmp_path / "ws")


def test_remote_workspace_answers_as_the_workspace_api(workspace) -> None:
    local = WorkspaceAPI(workspace)
    with RemoteWorkspace.over_command(server(workspace)) as remote:
        assert remote.server_info["version"] == 1
        assert remote.experiments() == local.experiments()
        assert remote.runs("grid") == local.runs("grid")
        assert remote.jobs(limit=None) == local.jobs(limit=None)
        assert remote.jobs(filter='@state = "error"', sort="submitted", limit=2) == local.jobs(
            filter='@state = "error"', sort="submitted", limit=2
        )
        job_id = f"{5:064x}"
        assert remote.job(job_id) == local.job(job_id)
        assert remote.log(job_id, "stderr", offset=4, size=6).text == "of job"
        assert remote.tags() == local.tags() and remote.dependencies() == local.dependencies()
        assert remote.clean([job_id]) == local.clean([job_id])  # a dry run: nothing is deleted
        with pytest.raises(FilterSyntaxError) as error:
            remote.jobs(filter="@state ==")
        assert error.value.column >= 1
        with pytest.raises(WorkspaceAPIError):
            remote.job("no-such-job")


def test_changes_are_notified(workspace) -> None:
    with RemoteWorkspace.over_command(server(workspace)) as remote:
        before = remote.change_token()
        sync(workspace)  # writes the index
        deadline = time.monotonic() + 20
        while remote.notified_token is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert remote.notified_token not in (None, before)
        assert remote.change_token() == remote.notified_token


def test_protocol_errors(workspace) -> None:
    process = subprocess.run(
        server(workspace),
        input=b'not json\n{"jsonrpc":"2.0","id":1,"method":"nope"}\n{"jsonrpc":"2.0","id":2,"method":"runs","params":{}}\n'
        b'{"jsonrpc":"2.0","id":3,"method":"shutdown"}\n{"jsonrpc":"2.0","id":4,"method":"hello"}\n',
        capture_output=True,
        timeout=60,
    )
    answers = [json.loads(line) for line in process.stdout.splitlines()]
    assert [a.get("error", {}).get("code") for a in answers] == [-32700, -32601, -32602, None]
    assert process.returncode == 0  # stopped at shutdown: hello (id 4) was never answered


def test_another_version_is_refused_naming_both(tmp_path) -> None:
    fake = tmp_path / "fake.py"
    fake.write_text(
        "import sys\nsys.stdin.readline()\n"
        'print(\'{"jsonrpc":"2.0","id":1,"result":{"protocol":"xpm-monitor","version":2,"xpm":"9.0"}}\', flush=True)\n'
    )
    with pytest.raises(MonitorProtocolError, match="version 2 .*speaks xpm-monitor version 1"):
        RemoteWorkspace.over_command([sys.executable, str(fake)])


def test_not_a_workspace_is_one_line(tmp_path) -> None:
    result = subprocess.run(server(tmp_path), capture_output=True, text=True, input="")
    assert result.returncode != 0 and "is not a workspace" in result.stderr and "Traceback" not in result.stderr


def test_actions_are_served_as_the_workspace_api_lists_them(workspace) -> None:
    run = workspace / "experiments" / "grid" / "r1"
    action_id = "ab" * 32
    status = json.loads((run / "status.json").read_text())
    status["actions"] = {action_id: {"action_id": action_id, "description": "Export the best model",
                                     "class": "plan.Export"}}
    (run / "status.json").write_text(json.dumps(status))
    local = WorkspaceAPI(workspace)
    with RemoteWorkspace.over_command(server(workspace)) as remote:
        assert remote.actions("grid") == local.actions("grid") == [{
            "id": action_id, "description": "Export the best model", "class": "plan.Export",
            "command": f"xpm experiments actions run --workdir {workspace} grid {action_id}",
        }]
        assert remote.actions("grid", "r1")[0]["command"].endswith(f"{action_id} --run r1")
        with pytest.raises(WorkspaceAPIError, match="has no run 'r2'"):
            remote.actions("grid", "r2")
    process = subprocess.run(server(workspace), input=b'{"jsonrpc":"2.0","id":1,"method":"actions","params":{}}\n',
                             capture_output=True, timeout=60)
    assert json.loads(process.stdout)["error"]["code"] == -32602
