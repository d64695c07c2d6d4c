"""``xpm parameters-difference``, ``refactor default-values``, ``check-documentation``, ``workspaces list``
and ``find-launchers``, run as a user runs them."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import zlib
from pathlib import Path

import pytest
from cli_support import built_workspace, job_dirs, one_line_error, xpm

# -- parameters-difference -------------------------------------------------------------------


@pytest.fixture
def trainings(tmp_path_factory) -> dict[tuple[int, float], Path]:
    """The grid's training jobs by (hidden_size, learning_rate)."""
    workspace = built_workspace(tmp_path_factory)
    found = {}
    for job in job_dirs(workspace, "tasks.train"):
        objects = json.loads((job / "params.json").read_text())["objects"]
        model, train = objects[0]["fields"], objects[-1]["fields"]
        found[(model["hidden_size"], train["learning_rate"])] = job
    return found


def test_difference_names_each_differing_parameter(trainings):
    result = xpm("parameters-difference", str(trainings[128, 0.1]), str(trainings[256, 0.01]))
    assert result.returncode == 1, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("tasks.Train(") and " → tasks.Train(" in lines[0]
    assert lines[1:] == ["  learning_rate: 0.1 → 0.01", "  model.hidden_size: 128 → 256"]


def test_difference_accepts_params_json_files(trainings):
    result = xpm("parameters-difference", str(trainings[128, 0.1] / "params.json"), str(trainings[128, 0.01] / "params.json"))
    assert result.returncode == 1
    assert result.stdout.splitlines()[1:] == ["  learning_rate: 0.1 → 0.01"]


def test_same_job_has_no_difference(trainings):
    job = trainings[256, 0.1]
    result = xpm("parameters-difference", str(job), str(job / "params.json"))
    assert result.returncode == 0
    assert result.stdout.strip() == f"No difference: both are tasks.Train({job.name[:12]})."


def test_different_tasks(tmp_path_factory, trainings):
    [failing] = job_dirs(built_workspace(tmp_path_factory), "tasks.fail")
    result = xpm("parameters-difference", str(trainings[128, 0.1]), str(failing))
    assert result.returncode == 1
    assert result.stdout.splitlines()[1].startswith("  task: tasks.Train(")


def test_difference_bad_inputs(tmp_path, trainings):
    missing = xpm("parameters-difference", str(tmp_path / "nope.json"), str(trainings[128, 0.1]))
    assert missing.returncode == 2
    assert "does not exist" in one_line_error(missing)

    folder = xpm("parameters-difference", str(tmp_path), str(trainings[128, 0.1]))
    assert folder.returncode == 2
    assert f"{tmp_path} is a folder without params.json" in one_line_error(folder)

    (tmp_path / "log.txt").write_text("not json")
    not_json = xpm("parameters-difference", str(tmp_path / "log.txt"), str(trainings[128, 0.1]))
    assert not_json.returncode == 2
    assert "is not valid JSON" in one_line_error(not_json)


# -- refactor default-values ----------------------------------------------------------------

MODULE = '''\
"""Configurations with bare defaults."""
from xpm_core import Config, Constant, Meta, Param, field


class Model(Config):
    hidden_size: Param[int] = 128
    layers: Param[list[int]] = [
        1,
        2,
    ]
    name: Meta[str] = "model"
    version: Constant[int] = 1
    dropout: Param[float] = field(default=0.1)
'''

IDENTIFIER = "import m; print(m.Model.C().__xpm__.identifier.all.hex(), m.Model.C(hidden_size=64).__xpm__.identifier.all.hex())"


def identifiers(project: Path, *warnings: str) -> str:
    """Identifiers of Model.C() and Model.C(hidden_size=64), computed by importing the project."""
    result = subprocess.run([sys.executable, *warnings, "-c", IDENTIFIER], cwd=project, capture_output=True,
                            text=True, check=True)
    return result.stdout


def test_refactor_dry_run_shows_a_diff_and_changes_nothing(tmp_path):
    (tmp_path / "m.py").write_text(MODULE)
    result = xpm("refactor", "default-values", str(tmp_path))
    assert result.returncode == 1  # something to fix: usable as a CI check
    assert f"{tmp_path / 'm.py'}:6: Model.hidden_size = 128" in result.stdout
    assert f"{tmp_path / 'm.py'}:7: Model.layers = [ ..." in result.stdout
    diff = result.stdout.splitlines()
    assert "-    hidden_size: Param[int] = 128" in diff
    assert "+    hidden_size: Param[int] = field(default=128, ignore_default=True)" in diff
    assert '+    name: Meta[str] = field(default="model", ignore_default=True)' in diff
    assert "Found 3 bare default value(s) in 1 file(s). Run with --perform to rewrite them." in result.stdout
    assert (tmp_path / "m.py").read_text() == MODULE


def test_refactor_perform_keeps_identifiers(tmp_path):
    (tmp_path / "m.py").write_text(MODULE)
    before = identifiers(tmp_path)
    result = xpm("refactor", "default-values", str(tmp_path / "m.py"), "--perform")
    assert result.returncode == 0, result.stderr
    assert "Rewrote 3 bare default value(s) in 1 file(s)." in result.stdout
    source = (tmp_path / "m.py").read_text()
    assert "layers: Param[list[int]] = field(default=[\n        1,\n        2,\n    ], ignore_default=True)" in source
    assert "version: Constant[int] = 1" in source  # constants are always hashed: untouched
    # Same identifiers, and no deprecation warning any more (it would be an error here).
    assert identifiers(tmp_path, "-W", "error::DeprecationWarning") == before
    again = xpm("refactor", "default-values", str(tmp_path))
    assert (again.returncode, again.stdout.strip()) == (0, "No bare default value found.")


def test_refactor_adds_the_field_import(tmp_path):
    (tmp_path / "old.py").write_text("from experimaestro import Config, Param\n\nclass A(Config):\n    x: Param[int] = 23\n")
    result = xpm("refactor", "default-values", "--perform", cwd=tmp_path)  # PATH defaults to "."
    assert result.returncode == 0
    assert (tmp_path / "old.py").read_text() == (
        "from experimaestro import Config, Param\nfrom experimaestro import field\n\n"
        "class A(Config):\n    x: Param[int] = field(default=23, ignore_default=True)\n"
    )


def test_refactor_skips_what_it_cannot_read(tmp_path):
    (tmp_path / "broken.py").write_text("def (:\n")
    (tmp_path / ".venv").mkdir()
    (tmp_path / ".venv" / "lib.py").write_text(MODULE)
    result = xpm("refactor", "default-values", str(tmp_path))
    assert result.returncode == 0
    assert f"skipping {tmp_path / 'broken.py'}: it does not parse (line 1" in result.stderr
    assert "No bare default value found." in result.stdout

    missing = xpm("refactor", "default-values", str(tmp_path / "nope"))
    assert missing.returncode == 2
    assert "does not exist" in one_line_error(missing)


# -- check-documentation ---------------------------------------------------------------------

PACKAGE = {
    "docpkg/__init__.py": "from docpkg.models import Model\n",
    "docpkg/models.py": textwrap.dedent('''\
        from xpm_core import Config, Param, Task

        class Model(Config):
            size: Param[int]

        class Learn(Task):
            model: Param[Model]

        class Helper:
            pass
        '''),
    "docpkg/extra/__init__.py": "",
    "docpkg/extra/data.py": "from xpm_core import Config\n\nclass Dataset(Config):\n    pass\n",
}


def write_inventory(path: Path, names: list[str]) -> None:
    """An objects.inv as Sphinx writes it: four header lines, then zlib-compressed entries."""
    body = "".join(f"{name} py:class 1 api.html#$ -\n" for name in names) + "docpkg py:module 0 api.html#module-$ -\n"
    header = b"# Sphinx inventory version 2\n# Project: docpkg\n# Version: 1.0\n# The remainder of this file is compressed using zlib.\n"
    path.write_bytes(header + zlib.compress(body.encode()))


@pytest.fixture
def project(tmp_path) -> Path:
    for name, text in PACKAGE.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    return tmp_path


def test_check_documentation_lists_the_undocumented(project):
    write_inventory(project / "objects.inv", ["docpkg.Model"])  # documented under its re-exported name
    result = xpm("check-documentation", "objects.inv", "docpkg", cwd=project)
    assert result.returncode == 1
    assert result.stdout.splitlines() == ["docpkg.extra.data.Dataset", "docpkg.models.Learn"]
    assert "1 of 3 configuration(s) of docpkg documented in objects.inv; 2 undocumented" in result.stderr


def test_check_documentation_passes_when_everything_is_documented(project):
    write_inventory(project / "objects.inv", ["docpkg.models.Model", "docpkg.models.Learn", "docpkg.extra.data.Dataset"])
    result = xpm("check-documentation", "objects.inv", "docpkg", cwd=project)
    assert (result.returncode, result.stdout.strip()) == (0, "3 of 3 configuration(s) of docpkg documented in objects.inv.")


def test_check_documentation_skip(project):
    write_inventory(project / "objects.inv", ["docpkg.Model", "docpkg.models.Learn"])
    result = xpm("check-documentation", "objects.inv", "docpkg", "--skip", "extra", cwd=project)
    assert result.returncode == 0, result.stdout + result.stderr


def test_check_documentation_reports_modules_that_do_not_import(project):
    (project / "docpkg" / "broken.py").write_text("raise RuntimeError('needs a GPU')\n")
    write_inventory(project / "objects.inv", ["docpkg.Model", "docpkg.models.Learn", "docpkg.extra.data.Dataset"])
    result = xpm("check-documentation", "objects.inv", "docpkg", cwd=project)
    assert result.returncode == 1
    assert "cannot import docpkg.broken: RuntimeError: needs a GPU" in result.stderr


def test_check_documentation_bad_inputs(project):
    (project / "index.html").write_text("<html>")
    not_inventory = xpm("check-documentation", "index.html", "docpkg", cwd=project)
    assert not_inventory.returncode == 2
    assert "index.html is not a Sphinx inventory version 2" in one_line_error(not_inventory)

    write_inventory(project / "objects.inv", [])
    unknown = xpm("check-documentation", "objects.inv", "nopkg", cwd=project)
    assert unknown.returncode == 2
    assert "cannot import 'nopkg'" in one_line_error(unknown)

    missing = xpm("check-documentation", "missing.inv", "docpkg", cwd=project)
    assert missing.returncode == 2
    assert "does not exist" in one_line_error(missing)


# -- workspaces list -------------------------------------------------------------------------


def test_workspaces_list(tmp_path):
    (tmp_path / "main").mkdir()
    (tmp_path / "settings.yaml").write_text(textwrap.dedent(f"""\
        env: {{HF_HOME: /data/hf}}
        workspaces:
          - id: main
            path: {tmp_path / 'main'}
            env: {{CUDA_VISIBLE_DEVICES: 0}}
          - id: bert
            path: {tmp_path / 'bert'}
            triggers: ["bert-*", "roberta-*"]
            max_retries: 1
        """))
    result = xpm("workspaces", "list", config_dir=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        f"Workspaces of {tmp_path / 'settings.yaml'}:",
        f"main (default): {tmp_path / 'main'}",
        f"bert: {tmp_path / 'bert'} (folder missing)",
        "  triggers: bert-*, roberta-*",
    ]
    verbose = xpm("workspaces", "list", "-v", config_dir=tmp_path)
    assert verbose.stdout.splitlines()[2:5] == [
        "  max retries: 3", "  env CUDA_VISIBLE_DEVICES=0", "  env HF_HOME=/data/hf (global)",
    ]
    assert "  max retries: 1" in verbose.stdout


def test_workspaces_list_without_settings(tmp_path):
    result = xpm("workspaces", "list", config_dir=tmp_path)
    assert result.returncode == 0
    assert result.stdout.strip() == f"No workspace configured: {tmp_path / 'settings.yaml'} does not exist (see docs/settings.md)."


def test_workspaces_list_malformed_settings(tmp_path):
    (tmp_path / "settings.yaml").write_text("workspaces:\n  - id: main\n    pathh: /tmp\n")
    result = xpm("workspaces", "list", config_dir=tmp_path)
    assert result.returncode == 2  # a usage error, as for every command (docs/settings.md)
    error = one_line_error(result)
    assert f"{tmp_path / 'settings.yaml'}: invalid settings" in error
    assert "workspaces[0].pathh: unknown key" in error


# -- find-launchers --------------------------------------------------------------------------

LAUNCHERS = '''\
from xpm_core.builtin.local.direct_launcher import DirectLauncher
from xpm_core.launcherfinder import CPUSpecification, CudaSpecification, HostSpecification

GPU_HOST = HostSpecification(cuda=[CudaSpecification(memory="24GiB")], cpu=CPUSpecification(memory="64GiB", cores=16))


def find_launcher(requirement, tags):
    if "cpu-only" in tags:
        return None
    if requirement.match(GPU_HOST):
        return DirectLauncher(max_running=3)
    return None
'''


def test_find_launchers_without_launchers_py(tmp_path):
    # the spec of the reference's example, with an alternative
    result = xpm("find-launchers", "duration=4 days & cuda(mem=4G) * 2 & cpu(mem=400M, cores=4) | cpu(cores=8)",
                 config_dir=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "Requirement: duration=4d & cuda(mem=4G) * 2 & cpu(mem=400M, cores=4) | cpu(cores=8)",
        "  alternative 1: duration=4d & cuda(mem=4G) * 2 & cpu(mem=400M, cores=4)",
        "    cpu: 4 core(s), 400M of memory",
        "    accelerators: 2 (cuda with 4G, cuda with 4G)",
        "    duration: 4d",
        "  alternative 2: cpu(cores=8)",
        "    cpu: 8 core(s)",
        "    duration: not limited",
        "Launcher: DirectLauncher(LocalConnector(), max_running=" + result.stdout.split("max_running=")[1].split(")")[0] + ")",
        f"  (there is no {tmp_path / 'launchers.py'}: every job runs on this machine)",
    ]


def test_find_launchers_asks_launchers_py(tmp_path):
    config = tmp_path / "cluster"
    config.mkdir()
    (config / "launchers.py").write_text(LAUNCHERS)
    found = xpm("find-launchers", "--config", str(config), "cuda(mem=16G)", config_dir=tmp_path)
    assert found.returncode == 0, found.stderr
    assert "Launcher: DirectLauncher(LocalConnector(), max_running=3)" in found.stdout
    assert f"(chosen by {config / 'launchers.py'})" in found.stdout

    too_big = xpm("find-launchers", "--config", str(config), "cuda(mem=48G)", config_dir=tmp_path)
    assert too_big.returncode == 1
    assert f'no launcher for "cuda(mem=48G)": find_launcher() in {config / "launchers.py"} returned None' in one_line_error(too_big)

    tagged = xpm("find-launchers", "--config", str(config), "--tag", "cpu-only", "cuda(mem=16G)", config_dir=tmp_path)
    assert tagged.returncode == 1
    assert "with tags cpu-only" in one_line_error(tagged)


def test_find_launchers_errors(tmp_path):
    bad_spec = xpm("find-launchers", "cuda(mem=4) & cpu(cores=2)", config_dir=tmp_path)
    assert bad_spec.returncode == 2
    error = one_line_error(bad_spec)
    assert "Invalid value for SPEC: invalid requirement spec: mem=4 needs a unit, e.g. mem=4G or mem=4GiB (column 10)" in error
    assert "  cuda(mem=4) & cpu(cores=2)\n           ^" in error

    (tmp_path / "launchers.py").write_text("def find_launcher(requirement, tags):\n    return 1 / 0\n")
    broken = xpm("find-launchers", "cpu(cores=1)", config_dir=tmp_path)
    assert broken.returncode == 1
    assert f"launchers.py failed: {tmp_path / 'launchers.py'}, line 2: " in one_line_error(broken)
    assert "ZeroDivisionError" in broken.stderr

    no_config = xpm("find-launchers", "--config", str(tmp_path / "nope"), "cpu(cores=1)", config_dir=tmp_path)
    assert no_config.returncode == 2
    assert "does not exist" in one_line_error(no_config)


# -- what xpm --help costs -------------------------------------------------------------------


def test_help_imports_none_of_these_commands():
    probe = ("import json, sys\nfrom xpm_core.cli import main\nsys.argv = ['xpm', '--help']\n"
             "try:\n    main()\nexcept SystemExit:\n    pass\n"
             "print(json.dumps(sorted(sys.modules)), file=sys.stderr)\n")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    modules = set(json.loads(result.stderr.strip().splitlines()[-1]))
    ours = {name for name in modules if name.startswith("xpm_core.maintenance") or name.startswith("xpm_core.cli.")
            and name.endswith("_command")}
    assert ours == set()
    for name in ("experiments", "orphans", "parameters-difference", "refactor", "check-documentation",
                 "workspaces", "find-launchers"):
        assert f"\n  {name} " in result.stdout
