"""Every malformed input of the table (tests/bad_input_cases.py) gets a clear refusal: the exit code,
one line naming what is wrong, and nothing written. Run in-process: a few hundred inputs in seconds."""

from __future__ import annotations

from pathlib import Path

import pytest
from bad_input_cases import all_cases, judge, write_workspace

CASES = all_cases()


def test_the_table_holds_at_least_150_inputs_with_unique_ids():
    assert len(CASES) >= 150
    assert len({case.id for case in CASES}) == len(CASES)


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("bad-inputs")
    config_dir = root / "config"
    config_dir.mkdir()
    return write_workspace(root / "ws"), config_dir


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_a_bad_input_is_refused_clearly(case, shared, tmp_path, monkeypatch):
    workspace, config_dir = shared
    monkeypatch.setenv("XPM_CONFIG_DIR", str(config_dir))
    monkeypatch.setenv("XPM_LOAD_PLUGINS", "")
    monkeypatch.delenv("XPM_DEBUG", raising=False)
    verdict = judge(case, tmp_path / "case", workspace, config_dir)
    assert verdict.kind == "clear", verdict.detail
