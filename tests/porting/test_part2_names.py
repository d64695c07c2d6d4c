"""experimaestro 2.7.0's experiment and workspace names, used as a ported script uses them, in real drivers."""

from __future__ import annotations

import json
import os
import signal
import textwrap
from pathlib import Path

import pytest
from runtime_support import TASKS, run_driver, wait_for

from xpm_core.local_host import process_alive


def write_ported_plan(folder: Path, body: str) -> Path:
    """A plan written against experimaestro's module paths (``experimaestro`` -> ``xpm_core``)."""
    (folder / "tasks.py").write_text(TASKS)
    plan = folder / "plan.py"
    plan.write_text(
        "import json, sys, time\n"
        "from pathlib import Path\n"
        "from xpm_core import experiment, set_launcher, Workspace, LauncherRegistry, FailedExperiment\n"
        "from xpm_core.scheduler import GracefulExperimentExit, JobDependency, JobFailureStatus, Listener\n"
        "from xpm_core.launchers.direct import DirectLauncher\n"
        "from xpm_core.connectors.local import LocalConnector\n"
        "from tasks import *\n\n"
        "workspace, name = sys.argv[1], sys.argv[2]\n"
        + textwrap.dedent(body).strip("\n")
        + "\n"
    )
    return plan


def status_of(workspace: Path, name: str) -> dict:
    [run] = [path for path in (workspace / "experiments" / name).iterdir() if path.is_dir() and not path.is_symlink()]
    return json.loads((run / "status.json").read_text())


def test_graceful_experiment_exit_leaves_without_waiting_and_the_job_keeps_running(tmp_path):
    workspace = tmp_path / "ws"
    plan = write_ported_plan(
        tmp_path,
        """
        with experiment(workspace, name) as xp:
            Wait.C().submit()
            Step.C(index=1).add_dependencies(JobDependency(Fail.C(code=7).submit())).submit()
            while not list(Path(workspace).glob("jobs/tasks.wait/*/started")):
                time.sleep(0.05)
            raise GracefulExperimentExit()
        print("AFTER THE BLOCK")
        """,
    )
    result = run_driver(plan, workspace, "graceful", timeout=60)
    [folder] = (workspace / "jobs" / "tasks.wait").iterdir()
    pid = int(json.loads((folder / "wait.pid").read_text())["pid"])
    try:
        assert result.returncode == 0, result.stderr
        assert "AFTER THE BLOCK" in result.stdout
        assert "Traceback" not in result.stderr and "GracefulExperimentExit" in result.stderr
        assert status_of(workspace, "graceful")["status"] == "detached"
        assert process_alive(pid, None), "the job must keep running after the driver left"
        assert not (folder / "wait.done").exists() and not (folder / "wait.failed").exists()
    finally:
        os.killpg(pid, signal.SIGKILL)
        wait_for(lambda: not process_alive(pid, None), "the job to die")


def test_a_listener_sees_real_jobs_submitted_and_their_states_with_failure_status(tmp_path):
    workspace = tmp_path / "ws"
    plan = write_ported_plan(
        tmp_path,
        """
        from xpm_core.scheduler.services import WebService

        seen = []

        class Recorder(Listener):
            def job_submitted(self, job):
                seen.append(["submitted", job.name])

            def job_state(self, job):
                reason = JobFailureStatus(job.failure_reason).name if job.failure_reason else None
                seen.append(["state", job.name, job.state.value, reason])

            def service_add(self, service):
                seen.append(["service", service.id])

            def service_state_changed(self, service):
                seen.append(["service state", service.id, service.state.name])

        class Notes(WebService):
            id = "notes"

            def _serve(self, running):
                self.url = "http://127.0.0.1:1/"
                running.set()
                while not self.should_stop():
                    time.sleep(0.05)

        with experiment(workspace, name) as xp:
            xp.scheduler.addlistener(Recorder())
            xp.add_service(Notes()).start()
            failing = Fail.C(code=1).submit()
            Consume.C(upstream=failing).submit()
            Step.C(index=1).submit()
        print("SEEN", json.dumps(seen))
        """,
    )
    result = run_driver(plan, workspace, "listened", timeout=120)
    assert result.returncode == 0, result.stderr
    [line] = [line for line in result.stdout.splitlines() if line.startswith("SEEN ")]
    seen = json.loads(line[5:])
    assert sorted(name for kind, name, *_ in seen if kind == "submitted") == ["consume", "fail", "step"]
    finals = {event[1]: event[2:] for event in seen if event[0] == "state"}  # the last state seen per job
    assert finals == {"fail": ["error", "FAILED"], "consume": ["error", "DEPENDENCY"], "step": ["done", None]}
    step_states = [event[2] for event in seen if event[0] == "state" and event[1] == "step"]
    assert "running" in step_states or "scheduled" in step_states, step_states
    assert ["service", "notes"] in seen
    service_states = [event[2] for event in seen if event[0] == "service state"]
    assert service_states[:2] == ["STARTING", "RUNNING"] and service_states[-1] == "STOPPED", service_states


def test_job_dependency_makes_a_task_wait_for_a_job_it_does_not_take_as_parameter(tmp_path):
    workspace = tmp_path / "ws"
    plan = write_ported_plan(
        tmp_path,
        """
        with experiment(workspace, name) as xp:
            first = Step.C(index=1, sleep=0.5).submit()
            dependency = JobDependency(first)
            second = Step.C(index=2).add_dependencies(dependency).submit()
        print("STATUS", dependency.status().name)
        """,
    )
    result = run_driver(plan, workspace, "ordered", timeout=120)
    assert result.returncode == 0, result.stderr
    assert "STATUS OK" in result.stdout
    log = [line.rsplit(" ", 1)[0] for line in (tmp_path / "runs.log").read_text().splitlines()]
    assert log == ["start step 1", "end step 1", "start step 2", "end step 2"]


def test_job_dependency_refuses_a_task_that_was_not_submitted():
    from xpm_core import Config, Param
    from xpm_core.scheduler import JobDependency

    class Unsubmitted(Config):
        x: Param[int]

    with pytest.raises(TypeError, match="submit it first"):
        JobDependency(Unsubmitted.C(x=1))


def test_workspace_set_launcher_and_launcher_registry_in_a_running_experiment(tmp_path):
    workspace = tmp_path / "ws"
    config = tmp_path / "config"
    config.mkdir()
    (config / "launchers.py").write_text(
        "from xpm_core.launchers.direct import DirectLauncher\n"
        "from xpm_core.connectors.local import LocalConnector\n"
        "CHOSEN = DirectLauncher(LocalConnector())\n"
        "def find_launcher(requirement, tags):\n"
        "    return CHOSEN if 'cpu' in str(requirement) else None\n"
    )
    (config / "tokens.yaml").write_text("countertoken:\n  gpus:\n    tokens: 2\n")
    plan = write_ported_plan(
        tmp_path,
        f"""
        LauncherRegistry.set_config_dir({str(config)!r})
        assert Workspace.CURRENT is None
        try:
            set_launcher(DirectLauncher(LocalConnector()))
        except RuntimeError as error:
            print("OUTSIDE", error)
        own = DirectLauncher(LocalConnector())
        with experiment(Workspace(None, workspace, launcher=own), name) as xp:
            current = Workspace.CURRENT
            print("PATHS", current.path == xp.workspace, current.jobspath == xp.workspace / "jobs",
                  current.experimentspath == xp.workspace / "experiments")
            first = Step.C(index=1).submit()
            found = LauncherRegistry.instance().find("cpu(cores=1)")
            set_launcher(found)
            second = Step.C(index=2).submit()
            print("LAUNCHERS", first.__xpm__.job.launcher is own, second.__xpm__.job.launcher is found,
                  Workspace.CURRENT.launcher is found)
            print("TOKEN", LauncherRegistry.instance().getToken("gpus").total)
            try:
                LauncherRegistry.instance().getToken("tpus")
            except LookupError as error:
                print("NO TOKEN", error)
        """,
    )
    result = run_driver(plan, workspace, "ws-api", timeout=120)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "OUTSIDE set_launcher() needs a running experiment" in out
    assert "PATHS True True True" in out
    assert "LAUNCHERS True True True" in out
    assert "TOKEN 2" in out
    assert "NO TOKEN no counter token 'tpus' in" in out and "tokens.yaml" in out
    assert "start step 2" in (tmp_path / "runs.log").read_text()  # the job of the found launcher ran


def test_job_failure_status_reads_xpm_reasons_and_experimaestro_numbers():
    from xpm_core.scheduler import JobFailureStatus

    assert JobFailureStatus("timeout") is JobFailureStatus.TIMEOUT
    assert JobFailureStatus("JobFailureStatus.MEMORY") is JobFailureStatus.MEMORY
    assert JobFailureStatus(3) is JobFailureStatus.TIMEOUT and JobFailureStatus.TIMEOUT.number == 3
    assert JobFailureStatus(7) is JobFailureStatus.MISSING_OUTPUTS
    assert JobFailureStatus.DELETED is not JobFailureStatus.MISSING_OUTPUTS  # 2.7.0's alias is not kept
    assert JobFailureStatus("killed") is JobFailureStatus.CANCELLED
    assert JobFailureStatus("some_plugin_reason") is JobFailureStatus.FAILED
    assert "dependency" == JobFailureStatus.DEPENDENCY  # a job's failure_reason compares equal
    with pytest.raises(ValueError):
        JobFailureStatus(42)


def test_failed_experiment_is_not_raised_when_jobs_fail(tmp_path):
    workspace = tmp_path / "ws"
    plan = write_ported_plan(
        tmp_path,
        """
        try:
            with experiment(workspace, name) as xp:
                Fail.C(code=3).submit()
        except FailedExperiment:
            print("RAISED")
        print("FAILED JOBS", len(xp.failed_jobs()))
        """,
    )
    result = run_driver(plan, workspace, "failing", timeout=120)
    assert result.returncode == 0, result.stderr
    assert "RAISED" not in result.stdout and "FAILED JOBS 1" in result.stdout
    assert status_of(workspace, "failing")["status"] == "failed"
