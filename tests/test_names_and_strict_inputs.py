"""The name rule, strict YAML that still reads ordinary files, and filters on non-ASCII tag names."""

from __future__ import annotations

import contextlib
import io

import pytest
import yaml

from xpm_core.names import MAX_NAME_BYTES, InvalidNameError, check_name, is_valid_name
from xpm_core.strict_yaml import strict_load


@pytest.mark.parametrize("name", ["grid", "grid-2026.01", "été", "a b", "x" * MAX_NAME_BYTES, "_", "..."])
def test_valid_names_pass_unchanged(name):
    assert check_name(name, "experiment id") == name
    assert is_valid_name(name)


def test_an_invalid_name_names_what_it_is_and_why():
    with pytest.raises(InvalidNameError, match=r"invalid run id '\.\./x': it contains the path separator '/'"):
        check_name("../x", "run id")
    assert not is_valid_name(None)


def test_strict_yaml_reads_anchors_merges_and_shared_aliases():
    text = "base: &b {lr: 1, size: 2}\nfirst: {<<: *b, lr: 3}\nsecond: *b\nlist: [*b, *b]\n"
    assert strict_load(text) == yaml.safe_load(text)


def test_strict_yaml_names_both_lines_of_a_duplicate_key():
    with pytest.raises(yaml.YAMLError) as raised:
        strict_load("a: 1\nb:\n  c: 1\n  c: 2\n")
    assert raised.value.problem == "duplicate key 'c': first at line 3, again at line 4"
    assert raised.value.problem_mark.line == 3


def test_a_non_ascii_tag_can_be_filtered_as_it_is_listed(tmp_path, monkeypatch):
    from xpm_core.cli import main
    from xpm_core.workspace.index import WorkspaceIndex
    from xpm_core.workspace.records import JobSubmission

    workspace = tmp_path / "ws"
    (workspace / "jobs").mkdir(parents=True)
    with WorkspaceIndex(workspace) as index:
        for job_id, value in (("a" * 64, "oui"), ("b" * 64, "non")):
            index.record_job_submitted("xp", "run", JobSubmission(
                job_id=job_id, task_id="pkg.task", path=str(workspace / "jobs" / "pkg.task" / job_id),
                tags={"été": value}, depends_on=[], submitted_time=1.0))
    monkeypatch.setenv("XPM_LOAD_PLUGINS", "")
    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.raises(SystemExit) as exit:
        main(["jobs", "list", "--workdir", str(workspace), "--tags", "--filter", 'été = "oui"'])
    assert exit.value.code == 0
    assert out.getvalue().split() == ["UNSCHEDULED", f"pkg.task/{'a' * 64}", "été=oui"]
