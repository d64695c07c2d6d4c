"""``xpm run-experiment`` run for real: YAML files, a plan module and tasks in a folder, a real workspace."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from xpm_core.workspace.index import WorkspaceIndex

TASKS = '''
"""Tasks of the run-experiment tests."""
import os, time
from pathlib import Path
from xpm_core import Task, Param, Meta, field
from xpm_core.runtime.prepare import Prepare


class Train(Task):
    learning_rate: Param[float]
    hidden: Param[int]
    name: Param[str] = field(default="toy")

    def execute(self):
        print("trained", self.learning_rate, self.hidden, "env", os.environ.get("XPM_TEST_VAR"))


class Fail(Task):
    code: Param[int]

    def execute(self):
        raise RuntimeError(f"failing on purpose ({self.code})")


class Gate(Task):
    """Runs until the file ``gate`` appears next to the workspace: the test decides when it ends."""
    gate: Meta[str]

    def execute(self):
        while not Path(self.gate).exists():
            time.sleep(0.05)


class Download(Prepare):
    url: Param[str]

    def is_prepared(self):
        return Path(self.url).exists()

    def prepare(self):
        Path(self.url).touch()


class UseData(Task):
    data: Param[Download]

    def execute(self):
        print("used")
'''

PLAN = '''
"""The plan: one Train job per grid point, tagged with the grid's tags."""
from __future__ import annotations

import os
from typing import Optional

from xpm_core.experiments import ConfigurationBase, ExperimentHelper, GridSearch, configuration, generate_grid
from tasks import Download, Fail, Gate, Train, UseData


@configuration()
class Model:
    name: str = "toy"
    layers: int = 1


@configuration()
class Configuration(ConfigurationBase):
    learning_rate: GridSearch[float] = 0.1
    hidden: GridSearch[int] = 4
    model: Model = Model()
    fail: bool = False
    gate: Optional[str] = None
    data: Optional[str] = None


def run(helper: ExperimentHelper, cfg: Configuration):
    print("experiment", helper.xp.name, "pre", os.environ.get("XPM_PRE"))
    configs, tags = generate_grid(cfg)
    for config, point in zip(configs, tags):
        task = Train.C(learning_rate=config.learning_rate, hidden=config.hidden, name=config.model.name)
        for key, value in point.items():
            task.tag(key, value)
        task.submit()
    if cfg.fail:
        Fail.C(code=1).submit()
    if cfg.gate:
        Gate.C(gate=cfg.gate).submit()
    if cfg.data:
        UseData.C(data=Download.C(url=cfg.data)).submit()
'''


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip())
    return path


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A folder with tasks.py, experiment.py (the plan) and xp.yaml; the workspace is tmp_path/ws."""
    folder = tmp_path / "project"
    write(folder / "tasks.py", TASKS)
    write(folder / "experiment.py", PLAN)
    write(folder / "xp.yaml", "id: grid\n")
    return folder


def xpm(*args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "xpm_core", *args],
        cwd=cwd, capture_output=True, text=True, timeout=timeout, env={**os.environ, **(env or {})},
    )


def run_xp(project: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``xpm run-experiment ARGS --workdir WS`` in the project (YAML file: xp.yaml unless one is given)."""
    if not any(arg.endswith(".yaml") for arg in args):
        args = (*args, "xp.yaml")
    return xpm("run-experiment", *args, "--workdir", str(project.parent / "ws"), cwd=project, env=env)


def jobs_of(project: Path, experiment_id: str = "grid"):
    with WorkspaceIndex(project.parent / "ws") as index:
        run_id = index.latest_run_id(experiment_id)
        return index.jobs(experiment_id=experiment_id, run_id=run_id)


# ---- running ------------------------------------------------------------------------------


def test_grid_search_runs_one_tagged_job_per_point(project):
    write(project / "xp.yaml", """
        id: grid
        learning_rate: [0.1, 0.01]        # an inline value list
        grid_search:
          hidden: {range: [1, 3]}         # 1, 2
    """)
    result = run_xp(project)
    assert result.returncode == 0, result.stderr
    assert "experiment grid: 4 jobs: 4 done, 0 running, 0 waiting, 0 failed" in result.stderr
    jobs = jobs_of(project)
    assert {job.state.value for job in jobs} == {"done"}
    assert sorted((job.tags["learning_rate"], job.tags["hidden"]) for job in jobs) == [
        (0.01, 1), (0.01, 2), (0.1, 1), (0.1, 2)
    ]


def test_config_dicts_and_multiplicative_ranges(project):
    write(project / "xp.yaml", """
        id: grid
        grid_search:
          learning_rate: {range_mult: [1e-3, 2, 10]}   # 0.001, 0.01
          config_dicts:
            - {hidden: 8, model.name: small}
            - {hidden: 64, model.name: big}
    """)
    result = run_xp(project)
    assert result.returncode == 0, result.stderr
    points = sorted((job.tags["learning_rate"], job.tags["hidden"], job.tags["model.name"]) for job in jobs_of(project))
    assert points == [(0.001, 8, "small"), (0.001, 64, "big"), (0.01, 8, "small"), (0.01, 64, "big")]


def test_a_failed_job_makes_the_exit_code_1_and_the_summary_names_its_log(project):
    result = run_xp(project, "-c", "fail=true")
    assert result.returncode == 1
    match = re.search(r"failed \(failed\): (\S+)\n\s+log: (\S+)", result.stderr)
    assert match, result.stderr
    assert match.group(1).lower().startswith("tasks.fail/")
    log = Path(match.group(2))
    assert log.name.lower() == "fail.err" and "failing on purpose (1)" in log.read_text()
    assert "experiment grid: 2 jobs: 1 done, 0 running, 0 waiting, 1 failed" in result.stderr
    assert result.stderr.rstrip().endswith("Error: 1 of 2 jobs failed (see their logs above)")


def test_the_progress_line_shows_the_counts_while_jobs_run(project, tmp_path):
    gate = tmp_path / "gate"
    process = subprocess.Popen(
        [sys.executable, "-m", "xpm_core", "run-experiment", "--workdir", str(tmp_path / "ws"), "-c", f"gate={gate}", "xp.yaml"],
        cwd=project, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    seen = []
    for line in process.stderr:
        seen.append(line)
        if re.search(r"jobs: \d+ done, \d+ running, \d+ waiting, 0 failed", line):
            break
    gate.touch()
    _, rest = process.communicate(timeout=120)
    assert process.returncode == 0, "".join(seen) + rest
    assert "experiment grid: 2 jobs: 2 done" in rest


def test_on_a_terminal_the_progress_line_is_rewritten_in_place(project, tmp_path):
    import pty

    gate = tmp_path / "gate"
    controller, terminal = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "xpm_core", "run-experiment", "xp.yaml", "--workdir", str(tmp_path / "ws"), "-c", f"gate={gate}"],
        cwd=project, stdout=subprocess.PIPE, stderr=terminal, text=True,
    )
    os.close(terminal)
    seen = b""
    while b"\r\x1b[Kjobs: " not in seen:
        chunk = os.read(controller, 4096)
        assert chunk, seen
        seen += chunk
    gate.touch()
    while True:  # read until the command ends (EOF on Linux is an OSError once the pty is closed)
        try:
            chunk = os.read(controller, 4096)
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
    assert process.wait(timeout=120) == 0, seen
    os.close(controller)
    text = seen.decode()
    summary = text.index("experiment grid: 2 jobs: 2 done")
    assert text[:summary].rstrip("\r\n").endswith("\r\x1b[K")  # the line is erased before the summary


def test_console_shows_the_jobs_of_this_run(project, tmp_path):
    gate = tmp_path / "gate"
    process = subprocess.Popen(
        [sys.executable, "-m", "xpm_core", "run-experiment", "xp.yaml", "--console", "--workdir", str(tmp_path / "ws"), "-c", f"gate={gate}"],
        cwd=project, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    seen = []
    for line in process.stderr:
        seen.append(line)
        if re.match(r"\s+RUNNING\s+tasks\.gate/", line, re.I):
            break
    gate.touch()
    _, rest = process.communicate(timeout=120)
    assert process.returncode == 0, "".join(seen) + rest
    assert any(line.startswith("xpm monitor · experiment grid · run ") for line in seen)
    assert not any(re.match(r"\d\d:\d\d:\d\d jobs: ", line) for line in [*seen, *rest.splitlines()])  # no progress line
    final = rest[rest.rfind("xpm monitor"):]
    assert re.search(r"DONE\s+tasks\.gate/", final, re.I) and re.search(r"DONE\s+tasks\.train/", final, re.I)


def test_dry_run_prints_each_job_and_writes_nothing(project, tmp_path):
    assert run_xp(project).returncode == 0
    runs_before = sorted((tmp_path / "ws" / "experiments" / "grid").iterdir())
    result = run_xp(project, "--run-mode", "dry_run", "-c", "hidden=[4, 5]")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    states = [line.split("]")[0] + "]" for line in lines if line.startswith("[")]
    assert sorted(states) == ["[done]", "[unscheduled]"], result.stdout
    assert all("launcher=direct dependencies=none" in line for line in lines if line.startswith("["))
    assert sorted((tmp_path / "ws" / "experiments" / "grid").iterdir()) == runs_before
    assert len(list((tmp_path / "ws" / "jobs").glob("*/*"))) == 1


def test_generate_only_writes_job_folders_and_runs_nothing(project, tmp_path):
    result = run_xp(project, "--run-mode", "Generate_Only")
    assert result.returncode == 0, result.stderr
    assert "GENERATE_ONLY: nothing was run" in result.stderr
    (job,) = (tmp_path / "ws" / "jobs").glob("*/*")
    assert (job / "params.json").exists()
    assert not list(job.glob("*.done")) and not list(job.glob("*.out"))


def test_prepare_runs_only_the_preparation(project, tmp_path):
    data = tmp_path / "downloaded"
    result = run_xp(project, "--run-mode", "PREPARE", "-c", f"data={data}")
    assert result.returncode == 0, result.stderr
    assert data.exists()
    assert not list((tmp_path / "ws" / "jobs").glob("*/*/*.done"))


def test_env_options_reach_the_jobs(project, tmp_path):
    result = run_xp(project, "--env", "XPM_TEST_VAR", "hello")
    assert result.returncode == 0, result.stderr
    (out,) = (tmp_path / "ws" / "jobs").glob("*/*/*.out")
    assert "env hello" in out.read_text()


def test_add_timestamp_makes_a_new_experiment_id(project, tmp_path):
    write(project / "xp.yaml", "id: grid\nadd_timestamp: true\n")
    result = run_xp(project)
    assert result.returncode == 0, result.stderr
    (experiment,) = (tmp_path / "ws" / "experiments").iterdir()
    assert re.fullmatch(r"grid-\d{8}-\d{4}", experiment.name)


def test_workspace_by_id_from_the_config_dir(project, tmp_path):
    config = tmp_path / "config"
    write(config / "settings.yaml", f"""
        workspaces:
          - id: main
            path: {tmp_path / 'configured'}
    """)
    result = xpm("run-experiment", "--xpm-config-dir", str(config), "--workspace", "main", "xp.yaml", cwd=project)
    assert result.returncode == 0, result.stderr
    assert list((tmp_path / "configured" / "jobs").glob("*/*/*.done"))
    unknown = xpm("run-experiment", "--xpm-config-dir", str(config), "--workspace", "other", "xp.yaml", cwd=project)
    assert unknown.returncode == 2 and "no workspace 'other'" in unknown.stderr


# ---- where run() is ------------------------------------------------------------------------


def test_module_and_pythonpath_keys(project, tmp_path):
    write(project / "src" / "myplans" / "__init__.py", "")
    (project / "src" / "myplans" / "xp.py").write_text((project / "experiment.py").read_text())
    (project / "experiment.py").unlink()
    write(project / "xp.yaml", "id: grid\nmodule: myplans.xp\npythonpath: ['.', src]\n")
    result = run_xp(project)
    assert result.returncode == 0, result.stderr
    assert "experiment grid pre None" in result.stdout


def test_file_and_module_name_options(project):
    (project / "experiment.py").rename(project / "other.py")
    by_file = run_xp(project, "--file", "other.py", "xp.yaml")
    assert by_file.returncode == 0, by_file.stderr
    by_module = run_xp(project, "--module-name", "other", "xp.yaml", env={"PYTHONPATH": str(project)})
    assert by_module.returncode == 0, by_module.stderr
    both = run_xp(project, "--module-name", "other", "--file", "other.py", "xp.yaml")
    assert both.returncode == 2 and "--file and --module-name exclude each other" in both.stderr


def test_file_key_relative_to_its_yaml_file(project, tmp_path):
    (project / "plans").mkdir()
    (project / "experiment.py").rename(project / "plans" / "plan.py")
    write(project / "configs" / "xp.yaml", "id: grid\nfile: ../plans/plan\npythonpath: [..]\n")
    result = xpm("run-experiment", "--workdir", str(tmp_path / "ws"), "configs/xp.yaml", cwd=project)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("pre", ["setup.py", "setup_module"])
def test_pre_experiment_runs_before_the_plan(project, pre):
    write(project / "setup.py", "import os\nos.environ['XPM_PRE'] = 'yes'\n")
    write(project / "setup_module.py", "import os\nos.environ['XPM_PRE'] = 'yes'\n")
    write(project / "xp.yaml", f"id: grid\npre_experiment: {pre}\npythonpath: ['.']\n")
    result = run_xp(project)
    assert result.returncode == 0, result.stderr
    assert "experiment grid pre yes" in result.stdout


def test_extra_args_go_to_the_helper(project):
    result = run_xp(project, "xp.yaml", "extra")
    assert result.returncode == 2
    assert "unexpected arguments 'extra'" in result.stderr


def test_errors_in_the_plan_are_one_line_unless_debug(project):
    (project / "experiment.py").write_text(PLAN.replace("configs, tags = generate_grid(cfg)", "raise ValueError('bad plan')"))
    quiet = run_xp(project)
    assert quiet.returncode == 1
    assert "Traceback" not in quiet.stderr
    assert re.search(r"Error: run\(\) of experiment\.py failed: ValueError: bad plan \(.*experiment\.py:\d+\)", quiet.stderr)
    loud = run_xp(project, "--debug")
    assert loud.returncode == 1
    assert "Traceback" in loud.stderr and "ValueError: bad plan" in loud.stderr


def test_dirty_git_error_refuses_to_run(project):
    git = ["git", "-c", "user.email=t@example.org", "-c", "user.name=t"]
    subprocess.run([*git, "init", "-q"], cwd=project, check=True)
    subprocess.run([*git, "add", "."], cwd=project, check=True)
    subprocess.run([*git, "commit", "-qm", "plan"], cwd=project, check=True)
    (project / "tasks.py").write_text(TASKS + "\n# changed\n")
    write(project / "xp.yaml", "id: grid\ndirty_git: error\n")
    refused = run_xp(project)
    assert refused.returncode == 1
    assert "has uncommitted changes" in refused.stderr and "dirty_git: warn" in refused.stderr
    write(project / "xp.yaml", "id: grid\n")  # warn, the default
    warned = run_xp(project)
    assert warned.returncode == 0, warned.stderr
    assert "xpm: warning: the code in" in warned.stderr


# ---- monitors --------------------------------------------------------------------------------


WEB_PLUGIN = {
    "fake_web/__init__.py": "",
    "fake_web/plugin.py": (
        "from xpm_core import hookimpl, MonitorType\n"
        "@hookimpl\n"
        "def xpm_monitors():\n"
        "    yield MonitorType(name='web', factory='fake_web.monitor:WebMonitor', summary='fake web')\n"
    ),
    "fake_web/monitor.py": (
        "import json, os\n"
        "from xpm_core.plugin.monitor import Monitor\n"
        "class WebMonitor(Monitor):\n"
        "    def __init__(self, workspace, *, port, host=None, **options):\n"
        "        super().__init__(workspace, **options)\n"
        "        self.port, self.host = port, host\n"
        "    def refresh(self):\n"
        "        with open(os.environ['FAKE_WEB_LOG'], 'a') as f:\n"
        "            f.write(json.dumps([self.port, self.host, self.experiment_id, self.run_id]) + '\\n')\n"
    ),
}


def test_port_starts_the_web_monitor_of_the_registry(project, plugin_site, tmp_path):
    plugin_site.install("xpm-fake-web", {"fakeweb": "fake_web.plugin"}, modules=WEB_PLUGIN)
    log = tmp_path / "web.log"
    result = subprocess.run(
        [sys.executable, "-m", "xpm_core", "run-experiment", "xp.yaml", "--workdir", str(tmp_path / "ws"),
         "--port", "8123", "--host", "0.0.0.0"],
        cwd=project, capture_output=True, text=True, timeout=120, env=plugin_site.env(FAKE_WEB_LOG=str(log)),
    )
    assert result.returncode == 0, result.stderr
    port, host, experiment_id, run_id = json.loads(log.read_text().splitlines()[0])
    assert (port, host, experiment_id) == (8123, "0.0.0.0", "grid")
    assert (tmp_path / "ws" / "experiments" / "grid" / run_id).is_dir()


def test_port_without_the_web_monitor_says_what_to_install(project):
    result = run_xp(project, "--port", "8080", "xp.yaml", env={"XPM_LOAD_PLUGINS": ""})
    assert result.returncode == 2
    assert "pip install xpm-web" in result.stderr
    host_only = run_xp(project, "--host", "example.org", "xp.yaml")
    assert host_only.returncode == 2 and "give --port too" in host_only.stderr


# ---- bad input -------------------------------------------------------------------------------


def test_missing_yaml_file(project):
    result = run_xp(project, "nothere.yaml")
    assert result.returncode == 2
    assert result.stderr.strip() == "Error: the YAML file nothere.yaml does not exist"


def test_malformed_yaml_names_file_line_and_column(project):
    write(project / "bad.yaml", "id: grid\nlearning_rate: [0.1, 0.2\nhidden: 3\n")
    result = run_xp(project, "bad.yaml")
    assert result.returncode == 2
    assert result.stderr.startswith("Error: bad.yaml:3:7: invalid YAML: expected ',' or ']'")
    assert "Traceback" not in result.stderr


def test_unknown_key_names_the_key_and_its_file(project):
    write(project / "base.yaml", "lerning_rate: 0.1\n")
    write(project / "xp.yaml", "id: grid\nimports: [base.yaml]\n")
    result = run_xp(project)
    assert result.returncode == 2
    assert result.stderr.strip() == "Error: base.yaml: lerning_rate: unknown key (did you mean 'learning_rate'?)"


def test_nested_unknown_key_and_wrong_types_are_all_reported(project):
    write(project / "xp.yaml", "id: grid\nmodel: {name: big, layer: 2}\nfail: maybe\n")
    result = run_xp(project, "-c", "hidden=abc")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert "xp.yaml: model.layer: unknown key (did you mean 'layers'?)" in lines[0] + "".join(lines)
    assert "xp.yaml: fail: expected true or false, found a string ('maybe')" in result.stderr
    assert "-c hidden=abc: hidden: expected an integer, found a string ('abc')" in result.stderr


def test_missing_id(project):
    write(project / "xp.yaml", "hidden: 3\n")
    result = run_xp(project)
    assert result.returncode == 2
    assert "xp.yaml: id: missing: this key is required" in result.stderr


def test_unknown_option(project):
    result = run_xp(project, "--bogus", "xp.yaml")
    assert result.returncode == 2
    assert "No such option '--bogus'" in result.stderr


def test_missing_run_function(project):
    (project / "experiment.py").write_text("x = 1\n")
    result = run_xp(project)
    assert result.returncode == 2
    assert result.stderr.strip() == "Error: experiment.py defines no run function: add def run(helper, cfg) to it"


def test_missing_experiment_file(project):
    (project / "experiment.py").unlink()
    result = run_xp(project)
    assert result.returncode == 2
    assert "the experiment file experiment.py does not exist (given by the default 'file: experiment')" in result.stderr


def test_unwritable_workdir(project, tmp_path):
    (tmp_path / "a-file").touch()
    result = xpm("run-experiment", "--workdir", str(tmp_path / "a-file" / "ws"), "xp.yaml", cwd=project)
    assert result.returncode == 1
    assert result.stderr.strip() == f"Error: cannot write to the workspace {tmp_path / 'a-file' / 'ws'}: Not a directory"


def test_wrong_grid_search_path(project):
    write(project / "xp.yaml", "id: grid\ngrid_search: {model.size: [1, 2]}\n")
    result = run_xp(project)
    assert result.returncode == 2
    assert "grid_search: unknown key 'model.size': 'size' is not one of name, layers" in result.stderr


def test_help_lists_every_option():
    result = xpm("run-experiment", "--help", cwd=Path.cwd())
    assert result.returncode == 0
    for option in ("--run-mode [DRY_RUN|NORMAL|GENERATE_ONLY|PREPARE]", "--workspace ID", "--workdir PATH", "--port N",
                   "--console", "--host HOST", "--pre-yaml FILE", "--post-yaml FILE", "-c, --conf KEY=VALUE",
                   "--file PATH", "--module-name NAME", "--env NAME VALUE", "--xpm-config-dir DIR", "--show", "--debug"):
        assert option in result.stdout, option
    assert "loaded before the main one" in result.stdout and "loaded after the main one" in result.stdout
