"""LauncherContract: the behaviour every launcher (direct, Slurm, OAR, ...) shows, on the real system."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import PurePosixPath
from typing import Awaitable, Callable, ClassVar, Mapping

import attrs
import pytest

from xpm_core.plugin.connector import Connector
from xpm_core.plugin.launcher import (
    JobLaunch,
    Launcher,
    ProcessRef,
    ProcessState,
    ProcessStatus,
    poll_reads_files,
)
from xpm_core.testing.contract_base import Contract


class LauncherContract(Contract):
    """Subclass as ``TestSlurmLauncher(LauncherContract)``; set ``launcher_name``.

    Override ``make_connector`` / ``make_launcher`` when they need options, ``python`` when
    jobs run on a host where the test's interpreter does not exist, and list behaviour the
    launcher cannot offer in ``skip_tests`` (reason -> test names) rather than overriding tests.
    """

    launcher_name: ClassVar[str]
    #: The interpreter jobs run the test scripts with.
    python: ClassVar[str] = sys.executable
    #: Seconds a job may take to be scheduled, run and reported (batch systems are slow).
    patience: ClassVar[float] = 60.0
    #: Whether ``poll(refs, files=...)`` must answer the files of ended jobs itself (the direct
    #: launcher over SSH); otherwise it may leave them to the scheduler (``files`` ``None``).
    reads_files_when_polled: ClassVar[bool] = False

    def make_connector(self) -> Connector:
        return self.registry.connectors()["local"].create()

    def make_launcher(self, connector: Connector) -> Launcher:
        return self.registry.launchers()[self.launcher_name].create(connector=connector)

    def job_root(self, tmp_path) -> PurePosixPath:
        return PurePosixPath(tmp_path) / "jobs"

    @pytest.fixture
    def launcher(self) -> Launcher:
        return self.make_launcher(self.make_connector())

    @pytest.fixture
    def make_job(self, launcher: Launcher, tmp_path):
        """``make_job(name, python_code, env={})`` -> a JobLaunch in its own folder."""
        root = self.job_root(tmp_path)

        def make(name: str, code: str, env: Mapping[str, str] | None = None) -> JobLaunch:
            directory = root / name
            launcher.connector.mkdir(directory)
            return JobLaunch(
                job_id=f"{name:0<64}"[:64],
                task_id=f"contract.{name}",
                directory=directory,
                name=name,
                command=(self.python, "-c", code),
                env=dict(env or {}),
            )

        return make

    def run(self, coroutine):
        return asyncio.run(asyncio.wait_for(coroutine, self.patience))

    async def _submit_and_wait(self, launcher: Launcher, job: JobLaunch) -> ProcessState:
        ref = await launcher.submit(job)
        return await launcher.wait(ref)

    def test_is_registered(self) -> None:
        launchers = self.registry.launchers()
        assert self.launcher_name in launchers
        settings = launchers[self.launcher_name].load_settings()
        assert settings is None or attrs.has(settings)

    def test_concurrency_cap_is_sane(self, launcher: Launcher) -> None:
        assert launcher.max_running is None or launcher.max_running >= 1

    def test_submit_success(self, launcher: Launcher, make_job) -> None:
        job = make_job("success", "import sys; print('to stdout'); print('to stderr', file=sys.stderr)")
        state = self.run(self._submit_and_wait(launcher, job))
        assert state.status is ProcessStatus.FINISHED
        assert state.exit_code in (0, None)
        assert "to stdout" in launcher.connector.read_text(job.stdout)
        assert "to stderr" in launcher.connector.read_text(job.stderr)

    def test_submit_failure_reports_the_exit_code(self, launcher: Launcher, make_job) -> None:
        state = self.run(self._submit_and_wait(launcher, make_job("failure", "raise SystemExit(3)")))
        assert (state.status, state.exit_code) == (ProcessStatus.FINISHED, 3)

    def test_environment_is_passed(self, launcher: Launcher, make_job) -> None:
        launcher.setenv("XPM_FROM_LAUNCHER", "launcher")
        job = make_job(
            "environment",
            "import os; print(os.environ['XPM_FROM_LAUNCHER'], os.environ['XPM_FROM_JOB'], os.getcwd())",
            env={"XPM_FROM_JOB": "job"},
        )
        self.run(self._submit_and_wait(launcher, job))
        assert launcher.connector.read_text(job.stdout).split() == ["launcher", "job", str(job.directory)]

    def test_cancel(self, launcher: Launcher, make_job) -> None:
        job = make_job("cancel", "import time; print('started', flush=True); time.sleep(300)")

        async def scenario() -> ProcessState:
            ref = await launcher.submit(job)
            while "started" not in _read(launcher, job.stdout):
                await asyncio.sleep(0.1)
            await launcher.cancel(ref)
            return await launcher.wait(ref)

        assert self.run(scenario()).status is ProcessStatus.FINISHED

    def test_poll_answers_for_every_job_at_once(self, launcher: Launcher, make_job) -> None:
        jobs = [make_job(f"batch{i}", "import time; time.sleep(0.5)") for i in range(3)]

        async def scenario() -> dict[str, ProcessState]:
            refs = await launcher.submit_many(jobs)
            assert len({ref.id for ref in refs}) == 3
            states = await launcher.poll(refs)
            assert set(states) == {ref.id for ref in refs}
            for ref in refs:
                await launcher.wait(ref)
            return await launcher.poll(refs)

        states = self.run(scenario())
        assert {state.status for state in states.values()} == {ProcessStatus.FINISHED}

    def test_poll_reads_the_files_of_ended_jobs_only(self, launcher: Launcher, make_job) -> None:
        """A ``poll`` declaring ``files`` returns, for a job seen ended, the text of the files it
        was asked for (``None``: missing), read after the end; nothing for a job still running."""
        if not poll_reads_files(launcher):
            assert not self.reads_files_when_polled, "poll must declare the keyword 'files'"
            pytest.skip("this launcher's poll reads no file: the scheduler reads ended jobs' markers")
        short = make_job("ended", "print('ran')")
        long = make_job("running", "import time; print('started', flush=True); time.sleep(300)")
        done, failed = str(short.directory / "ended.done"), str(short.directory / "ended.failed")
        launcher.connector.write_text(done, "written")
        launcher.connector.write_text(long.directory / "running.done", "never read: the job runs")

        async def scenario() -> tuple[ProcessState, ProcessState]:
            ended, running = await launcher.submit_many([short, long])
            try:
                await launcher.wait(ended)
                while "started" not in _read(launcher, long.stdout):
                    await asyncio.sleep(0.1)
                poll: Callable[..., Awaitable[dict[str, ProcessState]]] = launcher.poll
                states = await poll(
                    [ended, running], files={ended.id: [done, failed], running.id: [str(long.directory / "running.done")]}
                )
            finally:
                await launcher.cancel(running)
            return states[ended.id], states[running.id]

        ended, running = self.run(scenario())
        assert ended.status is ProcessStatus.FINISHED
        if self.reads_files_when_polled or ended.files is not None:
            assert ended.files == {done: "written", failed: None}
        assert running.status in (ProcessStatus.QUEUED, ProcessStatus.RUNNING) and running.files is None

    def test_process_roundtrip(self, launcher: Launcher, make_job) -> None:
        """A handle saved to NAME.pid and read back (a new driver) follows and stops the same job."""
        job = make_job("roundtrip", "import time; print('started', flush=True); time.sleep(300)")

        async def scenario() -> tuple[ProcessState, ProcessState]:
            ref = await launcher.submit(job)
            restored = ProcessRef.from_json(json.loads(json.dumps(ref.to_json())))
            assert restored == ref
            launcher_type = self.registry.launchers()[restored.launcher].load()
            again = launcher_type.for_process(restored, self.registry)
            before = (await again.poll([restored]))[restored.id]
            while before.status is not ProcessStatus.RUNNING:
                await asyncio.sleep(0.2)
                before = (await again.poll([restored]))[restored.id]
            await again.cancel(restored)
            return before, await again.wait(restored)

        before, after = self.run(scenario())
        assert before.status is ProcessStatus.RUNNING
        assert after.status is ProcessStatus.FINISHED


def _read(launcher: Launcher, path: PurePosixPath) -> str:
    try:
        return launcher.connector.read_text(path)
    except FileNotFoundError:
        return ""
