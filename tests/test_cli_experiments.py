"""``xpm experiments list|sync|copy`` (and ``monitor``'s place in the group), run as a user runs them."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
from pathlib import Path

import pytest
from cli_support import built_workspace, copy_workspace, job_dirs, one_line_error, xpm

HOST = socket.gethostname()


@pytest.fixture
def workspace(tmp_path_factory) -> Path:
    return built_workspace(tmp_path_factory)


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    """An empty configuration folder (no settings.yaml, no launchers.py)."""
    folder = tmp_path / "config"
    folder.mkdir()
    return folder


def write_settings(config_dir: Path, text: str) -> None:
    (config_dir / "settings.yaml").write_text(text)


# -- list ------------------------------------------------------------------------------------


def test_list_shows_id_host_finished_over_total_and_status(workspace, config_dir):
    result = xpm("experiments", "list", "--workdir", str(workspace), config_dir=config_dir)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        f"failing [{HOST}] (1/2 jobs) failed, 1 job in error",
        f"grid [{HOST}] (8/8 jobs) done",
    ]
    # "old" was deleted by hand after its run: not listed, and the user is told why.
    assert "their run folder was deleted: old" in result.stderr
    assert "xpm experiments sync" in result.stderr


def test_workdir_may_come_before_the_sub_command(workspace, config_dir):
    before = xpm("experiments", "--workdir", str(workspace), "list", config_dir=config_dir)
    after = xpm("experiments", "list", "--workdir", str(workspace), config_dir=config_dir)
    assert before.returncode == 0 and before.stdout == after.stdout


def test_list_by_workspace_id_from_settings(workspace, config_dir):
    write_settings(config_dir, f"workspaces:\n  - id: main\n    path: {workspace}\n")
    result = xpm("experiments", "list", "--workspace", "main", config_dir=config_dir)
    assert result.returncode == 0, result.stderr
    assert f"grid [{HOST}] (8/8 jobs) done" in result.stdout
    # without any option, the first workspace of settings.yaml is used
    assert xpm("experiments", "list", config_dir=config_dir).stdout == result.stdout
    assert xpm("experiments", "--workspace", "main", "list", config_dir=config_dir).stdout == result.stdout


def test_list_of_an_empty_workspace(tmp_path, config_dir):
    (tmp_path / "empty" / "jobs").mkdir(parents=True)
    result = xpm("experiments", "list", "--workdir", str(tmp_path / "empty"), config_dir=config_dir)
    assert result.returncode == 0
    assert result.stdout.strip() == f"No experiments in {tmp_path / 'empty'}."


def test_list_bad_workspaces_are_usage_errors(tmp_path, config_dir):
    missing = xpm("experiments", "list", "--workdir", str(tmp_path / "nowhere"), config_dir=config_dir)
    assert missing.returncode == 2
    assert f"{tmp_path / 'nowhere'} is not a workspace" in one_line_error(missing)

    unknown = xpm("experiments", "list", "--workspace", "nope", config_dir=config_dir)
    assert unknown.returncode == 2
    assert "no workspace 'nope'" in one_line_error(unknown)

    option = xpm("experiments", "list", "--colour", config_dir=config_dir)
    assert option.returncode == 2
    assert "No such option '--colour'" in one_line_error(option)


def test_malformed_settings_file_is_named(workspace, config_dir):
    write_settings(config_dir, "workspaces:\n  - id: main\n    path: [unclosed\n")
    result = xpm("experiments", "list", "--workspace", "main", config_dir=config_dir)
    assert result.returncode == 2
    error = one_line_error(result)
    assert f"{config_dir / 'settings.yaml'}:" in error and "YAML syntax error" in error


def test_a_broken_settings_file_does_not_lock_out_an_explicit_workdir(workspace, config_dir):
    write_settings(config_dir, "workspaces:\n  - id: main\n    path: [unclosed\n")
    result = xpm("experiments", "list", "--workdir", str(workspace), config_dir=config_dir)
    assert result.returncode == 0, result.stderr
    assert "grid [" in result.stdout
    assert "settings" not in result.stderr  # --workdir alone: the settings file is not even read


# -- sync ------------------------------------------------------------------------------------


def test_sync_rebuilds_a_missing_index_and_summarizes(workspace, tmp_path, config_dir):
    copy = copy_workspace(workspace, tmp_path / "ws")
    shutil.rmtree(copy / ".xpm")
    write_settings(config_dir, f"workspaces:\n  - id: copy\n    path: {copy}\n")
    result = xpm("experiments", "sync", "--workspace", "copy", config_dir=config_dir)
    assert result.returncode == 0, result.stderr
    assert f"Reading the job and run folders of {copy}" in result.stderr  # the progress line
    # 12 job folders (2 of them orphans of the deleted "old"): the files decide, not the old index.
    assert re.search(r"2 experiment\(s\), 2 run\(s\), 12 job\(s\) \(11 done, 1 error\)\.$", result.stdout.strip())


def test_sync_forgets_what_was_deleted_on_disk(workspace, tmp_path, config_dir):
    copy = copy_workspace(workspace, tmp_path / "ws")
    shutil.rmtree(copy / "experiments" / "failing")
    # documented form: xpm experiments sync --workdir /path/to/workspace
    result = xpm("experiments", "sync", "--workdir", str(copy), config_dir=config_dir)
    assert result.returncode == 0, result.stderr
    assert "1 experiment(s), 1 run(s)" in result.stdout
    listing = xpm("experiments", "list", "--workdir", str(copy), config_dir=config_dir)
    assert listing.stdout.splitlines() == [f"grid [{HOST}] (8/8 jobs) done"]
    assert listing.stderr == ""


# -- copy ------------------------------------------------------------------------------------


def test_copy_is_a_dry_run_by_default(workspace, tmp_path, config_dir):
    destination = tmp_path / "dest"
    result = xpm("experiments", "copy", "grid", "--from-workdir", str(workspace), "--to-workdir",
                 str(destination), config_dir=config_dir)
    assert result.returncode == 0, result.stderr
    assert "Dry run: 8 job(s) and 1 run would be copied" in result.stdout
    assert len(re.findall(r"^  copy +job  tasks\.(train|evaluate)/\w+ \(done\)$", result.stdout, re.M)) == 8
    assert not destination.exists()


def test_copy_with_settings_workspaces_copies_run_and_jobs(workspace, tmp_path, config_dir):
    destination = tmp_path / "local"
    write_settings(config_dir, f"workspaces:\n  - id: cluster\n    path: {workspace}\n"
                               f"  - id: local\n    path: {destination}\n")
    # the documented examples: copy --from-workspace cluster --to-workspace local my_experiment [-y]
    dry_run = xpm("experiments", "copy", "--from-workspace", "cluster", "--to-workspace", "local", "grid",
                  config_dir=config_dir)
    assert dry_run.returncode == 0 and "Dry run: 8 job(s) and 1 run would be copied" in dry_run.stdout
    assert not destination.exists()
    result = xpm("experiments", "copy", "--from-workspace", "cluster", "--to-workspace", "local", "grid", "-y",
                 config_dir=config_dir)
    assert result.returncode == 0, result.stderr
    assert f"Copied 8 job(s) and the run to {destination}." in result.stdout

    listing = xpm("experiments", "list", "--workspace", "local", config_dir=config_dir)
    assert listing.stdout.splitlines() == [f"grid [{HOST}] (8/8 jobs) done"]
    copied_trainings = job_dirs(destination, "tasks.train")
    assert len(copied_trainings) == 4  # those of "grid"; the one of "failing" stays behind
    for copied in copied_trainings:
        source_job = workspace / "jobs" / "tasks.train" / copied.name
        assert (copied / "train.done").exists() and (copied / "train.out").read_text() == (source_job / "train.out").read_text()
        assert json.loads((copied / "params.json").read_text())["workspace"] == str(destination)
        assert not list(copied.glob("*.pid")) and not list(copied.glob("*.lock"))
    current = destination / "experiments" / "grid" / "current"
    assert current.is_symlink()
    for link in (current / "jobs" / "tasks.train").iterdir():
        assert Path(os.readlink(link)) == destination / "jobs" / "tasks.train" / link.name
    assert not (destination / ".xpm-staging").exists()
    assert not (destination / "jobs" / "tasks.fail").exists()  # only the jobs of "grid"

    again = xpm("experiments", "copy", "--from-workspace", "cluster", "--to-workspace", "local", "grid", "--perform",
                config_dir=config_dir)
    assert again.returncode == 0
    assert "Nothing to copy: everything is already in the destination." in again.stdout
    assert again.stdout.count("exists   job") == 8


def test_copy_keeps_jobs_already_in_the_destination(workspace, tmp_path, config_dir):
    destination = tmp_path / "dest"
    # what a copy killed half-way leaves: a partial job in the staging folder, never in jobs/
    [failed_job] = job_dirs(workspace, "tasks.fail")
    leftover = destination / ".xpm-staging" / f"{failed_job.name}.{HOST}-999999999"
    leftover.mkdir(parents=True)
    (leftover / "fail.err").write_text("half copied")
    first = xpm("experiments", "copy", "failing", "--from-workdir", str(workspace), "--to-workdir", str(destination),
                "--perform", config_dir=config_dir)
    assert first.returncode == 0, first.stderr
    assert not (destination / ".xpm-staging").exists()  # the leftover was cleaned up
    result = xpm("experiments", "copy", "grid", "--from-workdir", str(workspace), "--to-workdir", str(destination),
                 config_dir=config_dir)
    assert "Dry run: 8 job(s)" in result.stdout
    listing = xpm("experiments", "list", "--workdir", str(destination), config_dir=config_dir)
    assert listing.stdout.splitlines() == [f"failing [{HOST}] (1/2 jobs) failed, 1 job in error"]


def test_copy_errors(workspace, tmp_path, config_dir):
    destination = ["--to-workdir", str(tmp_path / "dest")]
    unknown = xpm("experiments", "copy", "nope", "--from-workdir", str(workspace), *destination, config_dir=config_dir)
    assert unknown.returncode == 1
    assert "no experiment 'nope' with a run in workspace" in one_line_error(unknown)
    assert "known experiments: failing, grid" in unknown.stderr

    no_destination = xpm("experiments", "copy", "grid", "--from-workdir", str(workspace), config_dir=config_dir)
    assert no_destination.returncode == 2
    assert "give the destination workspace: --to-workspace ID or --to-workdir PATH" in one_line_error(no_destination)

    # Without a terminal, omitted arguments cannot be asked for.
    no_experiment = xpm("experiments", "copy", "--from-workdir", str(workspace), *destination, config_dir=config_dir)
    assert no_experiment.returncode == 2
    assert "give the EXPERIMENT_ID to copy" in one_line_error(no_experiment)
    assert "failing, grid" in no_experiment.stderr

    same = xpm("experiments", "copy", "grid", "--from-workdir", str(workspace), "--to-workdir", str(workspace), "-y",
               config_dir=config_dir)
    assert same.returncode == 1
    assert "the source and destination workspaces are the same folder" in one_line_error(same)

    blocker = tmp_path / "a-file"
    blocker.write_text("")
    unwritable = xpm("experiments", "copy", "grid", "--from-workdir", str(workspace), "--to-workdir",
                     str(blocker / "ws"), "-y", config_dir=config_dir)
    assert unwritable.returncode == 1
    assert f"cannot write to the destination workspace {blocker / 'ws'}" in one_line_error(unwritable)

    no_run = xpm("experiments", "copy", "grid", "20000101_000000", "--from-workdir", str(workspace), *destination,
                 config_dir=config_dir)
    assert no_run.returncode == 1
    assert "has no run '20000101_000000'" in one_line_error(no_run)


def test_copy_of_a_given_run(workspace, tmp_path, config_dir):
    run_id = os.readlink(workspace / "experiments" / "grid" / "current")
    # the group's --workdir is the workspace to copy from
    result = xpm("experiments", "--workdir", str(workspace), "copy", "grid", run_id, "--to-workdir",
                 str(tmp_path / "dest"), "-y", config_dir=config_dir)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "dest" / "experiments" / "grid" / run_id / "jobs.jsonl").exists()


def test_copy_asks_for_what_is_omitted_on_a_terminal(workspace, tmp_path, config_dir):
    destination = tmp_path / "local"
    write_settings(config_dir, f"workspaces:\n  - id: cluster\n    path: {workspace}\n"
                               f"  - id: local\n    path: {destination}\n")
    output = xpm_on_terminal(["experiments", "copy", "-y"], ["cluster", "local", "grid"], config_dir)
    assert "Source workspace (cluster, local, or a path):" in output
    assert "Destination workspace (cluster, local, or a path):" in output
    assert "Experiment (failing, grid):" in output
    assert f"Copied 8 job(s) and the run to {destination}." in output


def xpm_on_terminal(args: list[str], answers: list[str], config_dir: Path) -> str:
    """Run xpm with a pseudo-terminal as standard input, typing ``answers`` one per prompt."""
    import pty
    import subprocess
    import sys

    controller, terminal = pty.openpty()
    env = {**os.environ, "XPM_LOAD_PLUGINS": "", "XPM_CONFIG_DIR": str(config_dir)}
    with subprocess.Popen([sys.executable, "-m", "xpm_core", *args], stdin=terminal, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, env=env, text=True) as process:
        os.close(terminal)
        for answer in answers:
            os.write(controller, (answer + "\n").encode())
        output, _ = process.communicate(timeout=120)
    os.close(controller)
    assert process.returncode == 0, output
    return output


# -- monitor, written in its own module ------------------------------------------------------



def test_monitor_is_part_of_the_group(config_dir):
    listing = xpm("experiments", "--help", config_dir=config_dir)
    assert re.search(r"^  monitor +\S", listing.stdout, re.M)
    result = xpm("experiments", "monitor", "--help", config_dir=config_dir)
    assert result.returncode == 0 and "Usage: xpm experiments monitor" in result.stdout


def test_group_help_lists_its_commands(config_dir):
    result = xpm("experiments", "--help", config_dir=config_dir)
    assert result.returncode == 0
    for name in ("copy", "list", "sync"):
        assert re.search(rf"^  {name} +\S", result.stdout, re.M), name
