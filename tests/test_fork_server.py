"""The fork server: local job scripts forked from a zygote behave as processes started afresh, and survive."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path, PurePosixPath

import pytest
from runtime_support import start_driver, wait_for, write_plan

from xpm_core.plugin.connector import ProcessInfo
from xpm_core.plugin.launcher import JobLaunch
from xpm_core.testing import LauncherContract

#: A job script reporting what it sees; "preloaded" tells a forked job from a fresh interpreter.
PROBE = """
import json, os, sys
print(json.dumps({
    "preloaded": "xpm_core.run" in sys.modules,
    "session_leader": os.getsid(0) == os.getpid(),
    "cwd": os.getcwd(),
    "env": os.environ.get("XPM_PROBE"),
    "argv": sys.argv,
    "main": __name__,
    "path0": sys.path[0],
    "sys_path": sys.path,
}))
print("to stderr", file=sys.stderr)
sys.exit(int(os.environ.get("XPM_PROBE_CODE", "0")))
"""


def write_script(folder: Path, name: str, code: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    script = folder / f"{name}.py"
    script.write_text(textwrap.dedent(code))
    return script


#: A driver of its own (hence a zygote of its own) starting one process and waiting for its end.
ONE_JOB_DRIVER = """
import json, sys, time
from xpm_core.builtin.local.connector import LocalConnector
spec = json.loads(sys.argv[1])
connector = LocalConnector()
pid, start = connector.spawn(spec["command"], cwd=spec["cwd"], env=spec["env"],
                             stdout=spec["stdout"], stderr=spec["stderr"])
while connector.process_info(pid, start).running:
    time.sleep(0.01)
info = connector.process_info(pid, start)
print(json.dumps([info.running, info.exit_code]))
"""


def run_to_end(command: list[str], folder: Path, env: dict[str, str], name: str, *, forked: bool = True) -> ProcessInfo:
    """Have a new driver start ``command`` (output in ``folder/NAME.out`` and ``.err``) and follow it to its end."""
    spec = {
        "command": command,
        "cwd": str(folder),
        "env": env,
        "stdout": str(folder / f"{name}.out"),
        "stderr": str(folder / f"{name}.err"),
    }
    driver_env = {**os.environ, "XPM_NO_FORKSERVER": "" if forked else "1"}
    done = subprocess.run(
        [sys.executable, "-c", ONE_JOB_DRIVER, json.dumps(spec)],
        capture_output=True, text=True, env=driver_env, timeout=120,
    )
    assert done.returncode == 0, done.stderr
    running, exit_code = json.loads(done.stdout.splitlines()[-1])
    return ProcessInfo(running=running, exit_code=exit_code)


def probe(tmp_path: Path, env: dict[str, str], *, forked: bool = True) -> tuple[ProcessInfo, dict, str]:
    folder = tmp_path / "job"
    script = write_script(folder, "probe", PROBE)
    info = run_to_end([sys.executable, str(script), "extra"], folder, env, "probe", forked=forked)
    return info, json.loads((folder / "probe.out").read_text()), (folder / "probe.err").read_text()


def test_a_job_script_is_forked_in_its_own_session_with_its_files_environment_and_exit_code(tmp_path):
    info, seen, stderr = probe(tmp_path, {"XPM_PROBE": "value", "XPM_PROBE_CODE": "3"})
    assert seen["preloaded"]  # the job runtime was imported before the script ran: forked
    assert info == ProcessInfo(running=False, exit_code=3)
    assert seen["session_leader"]
    assert (seen["cwd"], seen["env"]) == (str(tmp_path / "job"), "value")
    assert seen["argv"] == [str(tmp_path / "job" / "probe.py"), "extra"]
    assert (seen["main"], seen["path0"]) == ("__main__", str((tmp_path / "job").resolve()))
    assert stderr == "to stderr\n"


def test_xpm_no_forkserver_starts_a_fresh_interpreter(tmp_path):
    info, seen, stderr = probe(tmp_path, {"XPM_PROBE": "value", "XPM_PROBE_CODE": "3"}, forked=False)
    assert not seen["preloaded"]
    assert info == ProcessInfo(running=False, exit_code=3)
    assert (seen["session_leader"], seen["env"], seen["main"], stderr) == (True, "value", "__main__", "to stderr\n")


def test_a_job_needing_other_interpreter_settings_gets_a_fresh_interpreter(tmp_path):
    extra = tmp_path / "extra_site"
    extra.mkdir()
    environ = {"PYTHONPATH": os.pathsep.join(filter(None, [str(extra), os.environ.get("PYTHONPATH")]))}
    info, seen, _ = probe(tmp_path, environ)
    assert not seen["preloaded"]
    assert str(extra) in seen["sys_path"]  # only an interpreter start applies PYTHONPATH
    assert info.exit_code == 0


def test_other_commands_are_not_forked(tmp_path):
    folder = tmp_path / "job"
    folder.mkdir()
    code = "import sys; print('xpm_core.run' in sys.modules)"
    info = run_to_end([sys.executable, "-c", code], folder, {}, "job")
    assert info.exit_code == 0
    assert (folder / "job.out").read_text() == "False\n"


ENDINGS = {
    "exit_code": "raise SystemExit(3)",
    "exception": "raise RuntimeError('broken on purpose')",
    "exit_message": "import sys; sys.exit('goodbye')",
    "threads_and_atexit": """
        import atexit, threading, time
        atexit.register(lambda: print("atexit ran", flush=True))
        threading.Thread(target=lambda: (time.sleep(0.3), print("thread joined", flush=True))).start()
    """,
    # A forked job leaves without the interpreter's teardown: what that would flush must be written.
    "unflushed_output": "import sys; sys.stdout.write('no newline, never flushed')",
    "file_left_open": "stream = open(1, 'w', closefd=False); stream.write('through a second stream, left open')",
    "exit_code_out_of_range": "raise SystemExit(300)",
    "stdout_replaced": "import io, sys; sys.__stdout__.write('to the real stdout'); sys.stdout = io.StringIO()",
}
EXIT_CODES = {"exit_code": 3, "exit_code_out_of_range": 300 & 0xFF, "exception": 1, "exit_message": 1}


@pytest.mark.parametrize("ending", sorted(ENDINGS))
def test_a_forked_job_ends_as_a_fresh_interpreter_would(tmp_path, ending, monkeypatch):
    monkeypatch.delenv("PYTHONUNBUFFERED", raising=False)  # output buffered, as users have it
    outcomes = []
    for forked in (True, False):
        folder = tmp_path / ("forked" if forked else "fresh")
        script = write_script(folder, "ending", ENDINGS[ending])
        info = run_to_end([sys.executable, str(script)], folder, {}, "ending", forked=forked)
        stderr = (folder / "ending.err").read_text().splitlines()
        outcomes.append((info.exit_code, (folder / "ending.out").read_text(), stderr[-1:]))
    assert outcomes[0] == outcomes[1]
    assert outcomes[0][0] == EXIT_CODES.get(ending, 0)
    if ending in ("unflushed_output", "file_left_open", "stdout_replaced"):
        assert outcomes[0][1]  # the output was written, not lost


class TestDirectLauncherThroughTheForkServer(LauncherContract):
    """The launcher contract, with each job a script file as job folders have (hence forked)."""

    launcher_name = "direct"

    @pytest.fixture
    def make_job(self, launcher, tmp_path):
        root = self.job_root(tmp_path)

        def make(name: str, code: str, env=None) -> JobLaunch:
            directory = root / name
            launcher.connector.mkdir(directory)
            script = PurePosixPath(write_script(Path(directory), name, code))
            return JobLaunch(
                job_id=f"{name:0<64}"[:64],
                task_id=f"contract.{name}",
                directory=directory,
                name=name,
                command=(sys.executable, str(script)),
                env=dict(env or {}),
            )

        return make


# ---- a driver of its own (its zygote is its own) -----------------------------------------

DRIVER_HELPERS = """
import json, os, signal, sys, time
from pathlib import Path
from xpm_core.builtin.local.connector import LocalConnector

folder = Path(sys.argv[1])
connector = LocalConnector()

def spawn(name):
    return connector.spawn([sys.executable, str(folder / f"{name}.py")], cwd=folder, env={},
                           stdout=folder / f"{name}.out", stderr=folder / f"{name}.err")

def until(predicate):
    while not predicate():
        time.sleep(0.02)
"""

#: Records its parent (the zygote when forked), waits for the file "go", leaves "survived".
WAITER = """
import os, sys, time
from pathlib import Path
Path("parent.tmp").write_text(f"{os.getppid()} {'xpm_core.run' in sys.modules}")
os.replace("parent.tmp", "parent")
while not Path("go").exists():
    time.sleep(0.02)
Path("survived").touch()
sys.exit(5)
"""


def start_own_driver(tmp_path: Path, body: str) -> subprocess.Popen[str]:
    driver = tmp_path / "driver.py"
    driver.write_text(DRIVER_HELPERS + textwrap.dedent(body))
    return subprocess.Popen(
        [sys.executable, str(driver), str(tmp_path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def finish(driver: subprocess.Popen[str]) -> tuple[str, str]:
    """The driver's output once it has ended; a driver that hangs is killed and the test fails."""
    try:
        return driver.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        driver.kill()
        stdout, stderr = driver.communicate()
        raise AssertionError(f"the driver did not end:\n{stdout}\n{stderr}") from None


def alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie, dead but not yet collected by its parent, does not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


def forked_waiter(tmp_path: Path) -> tuple[int, bool]:
    """The waiter's parent pid and whether it was forked, once it has started."""
    wait_for(lambda: (tmp_path / "parent").exists(), "the job to start")
    parent, preloaded = (tmp_path / "parent").read_text().split()
    return int(parent), preloaded == "True"


def test_a_forked_job_survives_its_driver_killed_and_the_zygote_exits(tmp_path):
    write_script(tmp_path, "waiter", WAITER)
    driver = start_own_driver(tmp_path, "print(spawn('waiter')[0], flush=True)\ntime.sleep(600)\n")
    try:
        job = int(driver.stdout.readline())
        zygote, preloaded = forked_waiter(tmp_path)
        assert preloaded and zygote != driver.pid
    finally:
        driver.kill()  # SIGKILL: no cleanup at all
        driver.wait()
        driver.stdout.close()
        driver.stderr.close()
    wait_for(lambda: not alive(zygote), "the zygote to exit")
    assert alive(job)
    (tmp_path / "go").touch()
    wait_for(lambda: (tmp_path / "survived").exists(), "the job to finish")


def test_a_crashed_zygote_loses_no_job_and_later_jobs_start_afresh(tmp_path):
    write_script(tmp_path, "waiter", WAITER)
    write_script(tmp_path, "probe", PROBE)
    driver = start_own_driver(
        tmp_path,
        """
        waiter = spawn("waiter")
        until(lambda: (folder / "parent").exists())
        zygote = int((folder / "parent").read_text().split()[0])
        os.kill(zygote, signal.SIGKILL)
        # The waiter lives on; the next job starts without the zygote and is followed as usual.
        after_crash = connector.process_info(*waiter)
        probe = spawn("probe")
        until(lambda: not connector.process_info(*probe).running)
        (folder / "go").touch()
        until(lambda: not connector.process_info(*waiter).running)
        print(json.dumps({
            "waiter_after_crash": after_crash.running,
            "probe_exit_code": connector.process_info(*probe).exit_code,
        }))
        """,
    )
    stdout, stderr = finish(driver)
    assert driver.returncode == 0, stderr
    result = json.loads(stdout.splitlines()[-1])
    assert result == {"waiter_after_crash": True, "probe_exit_code": 0}
    assert (tmp_path / "survived").exists()
    assert not json.loads((tmp_path / "probe.out").read_text())["preloaded"]
    assert "the fork server is not used any more" in stderr


def test_sigterm_to_a_forked_experiment_job_marks_it_cancelled(tmp_path):
    plan, workspace = write_plan(tmp_path, "Wait.C().submit()"), tmp_path / "ws"
    driver = start_driver(plan, workspace, "wait")
    wait_for(lambda: list(workspace.glob("jobs/tasks.wait/*/started")), "the job to start")
    [job_dir] = (workspace / "jobs" / "tasks.wait").iterdir()
    pid = int(json.loads((job_dir / "wait.pid").read_text())["pid"])
    parent = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    assert parent != driver.pid  # forked by the zygote, not started by the driver
    os.kill(pid, signal.SIGTERM)
    stdout, stderr = driver.communicate(timeout=60)
    assert "FAILED 1" in stdout
    assert json.loads((job_dir / "wait.failed").read_text())["reason"] == "cancelled"
    assert "failed (cancelled): tasks.wait/" in stderr


def test_a_forked_copy_of_the_driver_has_its_own_zygote_and_does_not_keep_the_drivers_alive(tmp_path):
    write_script(tmp_path, "waiter", WAITER)
    write_script(tmp_path, "probe", PROBE)
    driver = start_own_driver(
        tmp_path,
        """
        spawn("waiter")
        until(lambda: (folder / "parent").exists())
        copy = os.fork()  # as a multiprocessing worker of the driver would be
        if copy == 0:
            probe = spawn("probe")
            until(lambda: not connector.process_info(*probe).running)
            (folder / "copy_result").write_text(str(connector.process_info(*probe).exit_code))
            time.sleep(600)
        print(copy, flush=True)
        time.sleep(600)
        """,
    )
    copy = 0
    try:
        copy = int(driver.stdout.readline())
        zygote, _ = forked_waiter(tmp_path)
        wait_for(lambda: (tmp_path / "copy_result").exists(), "the copy's job to end")
        assert (tmp_path / "copy_result").read_text() == "0"
        assert json.loads((tmp_path / "probe.out").read_text())["preloaded"]
        driver.kill()
        driver.wait()  # not communicate(): the copy holds the driver's output pipes
        wait_for(lambda: not alive(zygote), "the driver's zygote to exit while the copy lives")
        assert alive(copy)
    finally:
        driver.kill()
        driver.wait()
        if copy > 0:
            with contextlib.suppress(ProcessLookupError):
                os.kill(copy, signal.SIGKILL)
        (tmp_path / "go").touch()
        driver.stdout.close()
        driver.stderr.close()


def test_a_job_killed_as_soon_as_it_is_started_stops(tmp_path):
    """spawn returns once the job leads its process group: cancelling it at once cannot miss it."""
    write_script(tmp_path, "sleeper", "import time; time.sleep(300)")
    driver = start_own_driver(
        tmp_path,
        """
        codes = []
        for _ in range(5):
            job = spawn("sleeper")
            connector.kill(job[0])
            until(lambda: not connector.process_info(*job).running)
            codes.append(connector.process_info(*job).exit_code)
        print(json.dumps(codes))
        """,
    )
    stdout, stderr = finish(driver)
    assert driver.returncode == 0, stderr
    assert json.loads(stdout.splitlines()[-1]) == [-signal.SIGTERM] * 5
