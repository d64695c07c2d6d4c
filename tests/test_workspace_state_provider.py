"""WorkspaceStateProvider: tags maps, latest-run selection and config loading, on hand-written runs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from xpm_core.plugin.job_state import JobState
from xpm_core.workspace.state_provider import UnknownExperimentError, WorkspaceStateProvider

LEARN = "mypkg.tasks.learn"


def write_run(ws: Path, experiment_id: str, run_id: str, tags: dict[str, dict], *, started_at: Any) -> Path:
    """A run directory whose jobs.jsonl lists ``{job_id: tags}``; ``started_at`` None = no status.json."""
    run_dir = ws / "experiments" / experiment_id / run_id
    run_dir.mkdir(parents=True)
    if started_at is not None:
        (run_dir / "status.json").write_text(json.dumps({
            "version": 1, "experiment_id": experiment_id, "run_id": run_id, "status": "done",
            "hostname": "host", "started_at": started_at, "ended_at": None,
        }))
    (run_dir / "jobs.jsonl").write_text("".join(
        json.dumps({"job_id": job_id, "task_id": LEARN, "tags": job_tags, "timestamp": 1.0}) + "\n"
        for job_id, job_tags in tags.items()
    ))
    (run_dir / "objects.jsonl").write_text("")
    return run_dir


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    ws = tmp_path / "ws"
    write_run(ws, "grid", "20260319_120000", {"a": {"lr": 0.1, "size": 128}, "b": {"lr": 0.01, "size": 256}},
              started_at="2026-03-19T12:00:00")
    # Same second: the .N suffix orders runs, numerically (.10 after .9).
    write_run(ws, "grid", "20260320_090000.9", {"a": {"lr": 0.1, "size": 128}}, started_at="2026-03-20T09:00:00")
    write_run(ws, "grid", "20260320_090000.10", {"c": {"lr": 1e-5, "model": "bert"}},
              started_at="2026-03-20T09:00:00")
    (ws / "experiments" / "grid" / "current").symlink_to("20260320_090000.10")
    (ws / "experiments" / "grid" / "lock").touch()
    return ws


def test_get_tags_map_of_the_latest_run(ws):
    provider = WorkspaceStateProvider(ws)
    assert provider.get_tags_map("grid") == {"c": {"lr": 1e-5, "model": "bert"}}


def test_get_tags_map_of_a_given_run(ws):
    provider = WorkspaceStateProvider(ws)
    assert provider.get_tags_map("grid", run_id="20260319_120000") == {
        "a": {"lr": 0.1, "size": 128}, "b": {"lr": 0.01, "size": 256},
    }


def test_the_latest_run_is_the_last_started(tmp_path):
    ws = tmp_path / "ws"
    # run ids sort the other way round: the start time decides
    write_run(ws, "xp", "b-first", {"1": {}}, started_at="2026-01-01T00:00:00")
    write_run(ws, "xp", "a-second", {"2": {}}, started_at="2026-02-01T00:00:00")
    write_run(ws, "xp", "c-unknown", {"3": {}}, started_at=None)  # no status.json: oldest
    provider = WorkspaceStateProvider(ws)
    assert provider.run_directory("xp") == ws.absolute() / "experiments" / "xp" / "a-second"
    assert list(provider.get_tags_map("xp")) == ["2"]
    assert provider.index.latest_run_id("xp") == "a-second"
    assert [xp.latest_run_id for xp in provider.experiments()] == ["a-second"]


def test_unknown_experiment_or_run_is_a_clear_error(ws):
    provider = WorkspaceStateProvider(ws)
    with pytest.raises(UnknownExperimentError, match=r"no experiment 'nope' .*; known experiments: grid"):
        provider.get_tags_map("nope")
    with pytest.raises(UnknownExperimentError,
                       match=r"experiment 'grid' has no run '2020' .*known runs: 20260319_120000, "):
        provider.get_tags_map("grid", run_id="2020")
    with pytest.raises(UnknownExperimentError):
        provider.load_xp_info("nope")


def test_listings_go_through_the_index(ws):
    job_dir = ws / "jobs" / LEARN / "c"
    job_dir.mkdir(parents=True)
    (job_dir / "learn.done").touch()
    with WorkspaceStateProvider(ws) as provider:
        assert [run.run_id for run in provider.runs("grid")] == [
            "20260319_120000", "20260320_090000.9", "20260320_090000.10",
        ]
        assert [(job.job_id, job.state) for job in provider.jobs(states=["done"])] == [("c", JobState.DONE)]
        assert provider.job("c").tags == {"lr": 1e-5, "model": "bert"}
        assert provider.get_dependencies_map() == {}
        (job_dir / "learn.done").unlink()
        (ws / "jobs" / LEARN / "d").mkdir()
        provider.sync()
        # every job the runs list, and every job directory; none is done any more
        assert [(job.job_id, job.state) for job in provider.jobs(task_id=LEARN)] == [
            (job_id, JobState.UNSCHEDULED) for job_id in "abcd"
        ]


def serialization_load_xp_info():
    import xpm_core

    return xpm_core.load_xp_info


MODELS = """
from xpm_core import Config, Param


class Model(Config):
    size: Param[int]
"""


@pytest.fixture
def configs_ws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Two runs of one experiment, each having submitted one Model config (objects.jsonl)."""
    serialization_load_xp_info()
    (tmp_path / "xpm_state_provider_models.py").write_text(MODELS)
    monkeypatch.syspath_prepend(str(tmp_path))
    ws = tmp_path / "ws"
    for run_id, started_at, size in [("20260101_000000", "2026-01-01T00:00:00", 1),
                                     ("20260102_000000", "2026-01-02T00:00:00", 2)]:
        job_id = str(size) * 64
        run_dir = write_run(ws, "xp", run_id, {job_id: {"size": size}}, started_at=started_at)
        (run_dir / "objects.jsonl").write_text(json.dumps({
            "id": 1, "module": "xpm_state_provider_models", "type": "Model",
            "typename": "xpm_state_provider_models.Model", "identifier": job_id, "fields": {"size": size},
        }) + "\n")
    return ws


def test_load_xp_info_loads_the_latest_run(configs_ws):
    info = WorkspaceStateProvider(configs_ws).load_xp_info("xp")
    assert {job_id: config.size for job_id, config in info.jobs.items()} == {"2" * 64: 2}


def test_load_xp_info_of_a_given_run(configs_ws):
    info = WorkspaceStateProvider(configs_ws).load_xp_info("xp", run_id="20260101_000000")
    assert {job_id: config.size for job_id, config in info.jobs.items()} == {"1" * 64: 1}


def test_a_missing_workspace_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="no workspace at .*typo: the directory does not exist"):
        WorkspaceStateProvider(tmp_path / "typo")
    assert not (tmp_path / "typo").exists()
