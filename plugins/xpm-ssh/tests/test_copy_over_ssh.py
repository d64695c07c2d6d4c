"""``xpm experiments copy`` from and to ``ssh://`` workspaces, against the real sshd (SFTP, no rsync).

The server runs on this machine, so the test checks the remote side's files directly, but the
copy itself only goes through the SSH connection.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

TASKS = '''
import os
from xpm_core import Param, Task


class Small(Task):
    x: Param[int]

    def execute(self) -> None:
        print("small", self.x)


class Big(Task):
    """Leaves a file of several MiB in its folder (what a model checkpoint is)."""

    size: Param[int]

    def execute(self) -> None:
        with open("data.bin", "wb") as stream:
            stream.write(os.urandom(self.size))
'''

PLAN = '''
import sys
from xpm_core import experiment
from tasks import Big, Small

with experiment(sys.argv[1], "grid"):
    Big.C(size=6 << 20).submit()
    Small.C(x=1).submit()
    Small.C(x=2).submit()
'''


def xpm(*args: str, config: Path, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [sys.executable, "-m", "xpm_core", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "XPM_CONFIG_DIR": str(config)},
    )
    if check:
        assert result.returncode == 0, result.stderr
    return result


@pytest.fixture
def setup(ssh_server, tmp_path):
    """A local workspace with one run of three done jobs, and settings naming the SSH test host."""
    config = tmp_path / "config"
    config.mkdir()
    (config / "settings.yaml").write_text(
        f"connectors:\n  ssh:\n    {ssh_server.alias}:\n      ssh_config: {ssh_server.ssh_config}\n"
    )
    plan = tmp_path / "plan.py"
    plan.write_text(PLAN)
    (tmp_path / "tasks.py").write_text(TASKS)
    local = tmp_path / "local"
    done = subprocess.run([sys.executable, str(plan), str(local)], capture_output=True, text=True, timeout=300,
                          cwd=tmp_path, env={**os.environ, "XPM_CONFIG_DIR": str(config)})
    assert done.returncode == 0, done.stderr
    return config, local


def job_folders(workspace: Path) -> dict[str, Path]:
    return {f"{p.parent.name}/{p.name}": p for p in sorted(workspace.glob("jobs/*/*"))}


def same_jobs(source: Path, copy: Path) -> None:
    """The copy holds every job folder of ``source``, files identical, paths moved, no pid or lock."""
    source_jobs, copied = job_folders(source), job_folders(copy)
    assert sorted(copied) == sorted(source_jobs) and len(copied) == 3
    for key, folder in source_jobs.items():
        names = sorted(p.name for p in folder.iterdir() if not p.name.endswith((".lock", ".pid")))
        assert sorted(p.name for p in copied[key].iterdir()) == names
        for name in names:
            original, other = (folder / name), (copied[key] / name)
            if name == "params.json":
                assert str(source) not in other.read_text() and str(copy) in other.read_text()
            elif original.is_file():
                assert other.read_bytes() == original.read_bytes(), name
        assert os.access(copied[key] / f"{key.split('/')[0].rsplit('.', 1)[-1]}.py", os.X_OK)  # still executable


def test_copy_to_and_from_an_ssh_workspace(ssh_server, setup, tmp_path) -> None:
    config, local = setup
    remote = tmp_path / "remote"
    url = f"ssh://{ssh_server.alias}{remote}"

    dry = xpm("experiments", "copy", "grid", "--from-workdir", str(local), "--to-workdir", url, config=config)
    assert f"to   {url}" in dry.stdout and dry.stdout.count("  copy     job") == 3 and not remote.exists()

    result = xpm("experiments", "copy", "grid", "--from-workdir", str(local), "--to-workdir", url, "-y", config=config)
    assert f"Copied 3 job(s) and the run to {url}." in result.stdout
    same_jobs(local, remote)
    [run] = [p for p in (remote / "experiments" / "grid").iterdir() if p.name != "current"]
    assert (remote / "experiments" / "grid" / "current").resolve() == run
    for link in run.glob("jobs/*/*"):  # the run's links point into the destination
        assert str(os.readlink(link)).startswith(str(remote))
    assert not (remote / ".xpm-staging").exists()
    again = xpm("experiments", "copy", "grid", "--from-workdir", str(local), "--to-workdir", url, "-y", config=config)
    assert "Nothing to copy: everything is already in the destination." in again.stdout

    back = tmp_path / "back"
    result = xpm("experiments", "copy", "grid", "--from-workdir", url, "--to-workdir", str(back), "-y", config=config)
    assert f"from {url}" in result.stdout
    same_jobs(remote, back)
    listing = xpm("jobs", "list", "--workdir", str(back), config=config)  # the local index knows them
    assert listing.stdout.count("DONE") == 3, listing.stdout


def _run_order(workspace: Path) -> list[str]:
    """``TASK/JOB`` of the run's jobs, in the order the copy takes them."""
    jobs = workspace / "experiments" / "grid" / "current" / "jobs.jsonl"
    return [f"{entry['task_id']}/{entry['job_id']}" for entry in map(json.loads, jobs.read_text().splitlines())]


def test_an_interrupted_copy_resumes_with_what_it_had_copied(ssh_server, setup, tmp_path) -> None:
    config, local = setup
    remote = tmp_path / "remote"
    url = f"ssh://{ssh_server.alias}{remote}"
    # Killed for real as soon as it starts its second job: the first one is in place.
    process = subprocess.Popen(
        [sys.executable, "-m", "xpm_core", "experiments", "copy", "grid", "--from-workdir", str(local),
         "--to-workdir", url, "-y"],
        stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, env={**os.environ, "XPM_CONFIG_DIR": str(config)},
    )
    assert process.stderr is not None
    started = 0
    for line in process.stderr:
        started += line.strip().startswith("copying ")
        if started == 2:
            process.kill()
            break
    process.wait(timeout=60)
    assert list(job_folders(remote)) == _run_order(local)[:1] and not (remote / "experiments").exists()

    # What a copy killed in the middle of the last job leaves in the staging folder: complete
    # files, and one cut off mid-way (under its temporary name).
    last = job_folders(local)[_run_order(local)[-1]]
    gone = subprocess.Popen(["true"])
    gone.wait()
    staging = remote / ".xpm-staging" / f"{last.name}.{socket.gethostname()}-{gone.pid}"
    staging.mkdir(parents=True)
    shutil.copy2(last / "small.py", staging / "small.py")  # complete: kept
    (staging / "small.out.xpm-part").write_bytes(b"cut")  # cut off: written again
    kept_inode = (staging / "small.py").stat().st_ino

    result = xpm("experiments", "copy", "grid", "--from-workdir", str(local), "--to-workdir", url, "-y", config=config)
    assert f"resuming {last.name}: 1 file(s) already copied" in result.stderr, result.stderr
    same_jobs(local, remote)
    assert (job_folders(remote)[_run_order(local)[-1]] / "small.py").stat().st_ino == kept_inode
    assert not (remote / ".xpm-staging").exists()
    assert json.loads((remote / "experiments" / "grid" / "current" / "status.json").read_text())["status"] == "done"


def test_copy_from_a_missing_remote_experiment_is_one_clear_line(ssh_server, setup, tmp_path) -> None:
    config, local = setup
    url = f"ssh://{ssh_server.alias}{tmp_path / 'nothing'}"
    result = xpm("experiments", "copy", "grid", "--from-workdir", url, "--to-workdir", str(tmp_path / "x"), "-y",
                 config=config, check=False)
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert "no experiment 'grid'" in result.stderr and url in result.stderr
