"""SSH benchmark: N trivial jobs of one experiment, run by the direct launcher locally and over SSH.

For each mode it reports the wall time of the experiment (submission of the first job to the end
of the last), and over SSH the number of SSH connections opened, of remote commands, of polls,
and of remote commands per poll (the goal is one connection per host and one command per poll,
whatever the number of jobs). Needs xpm-ssh and an SSH server that reaches this machine's files
(loopback: ``plugins/xpm-ssh/ci/start-sshd.sh``, whose ssh_config alias it uses by default).
Also times ``jobs`` (all of them, and a first page of 100) of a 10,000-job workspace read
through ``ssh-monitor``'s connection.

    python benchmarks/ssh_direct.py --jobs 100
    python benchmarks/ssh_direct.py --host myserver --ssh-config ~/.ssh/config --json
"""

from __future__ import annotations

import argparse
import contextvars
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from xpm_core import Param, Task


class Trivial(Task):
    """A job that does nothing: what is measured is xpm's cost per job."""

    index: Param[int]

    def execute(self) -> None:
        pass


def run_experiment(workspace: Path, jobs: int, launcher: Any) -> float:
    from xpm_core import experiment

    started = time.perf_counter()
    with experiment(workspace, "bench", launcher=launcher):
        for i in range(jobs):
            Trivial.C(index=i).submit()
    return time.perf_counter() - started


#: Remote commands run while polling: the status of all jobs (with the markers of those that
#: ended, when the launcher's poll reads them), then the markers the poll did not read.
POLL_COMMANDS = {"status": 0, "markers": 0}
#: Which of the two a remote command belongs to (worker threads inherit it from the poll).
PHASE: contextvars.ContextVar[str | None] = contextvars.ContextVar("phase", default=None)


def counting_connector(host: str, ssh_config: str) -> Any:
    """An SSH connector counting the remote commands each polling phase runs."""
    from xpm_ssh import SshConnector

    class Counting(SshConnector):
        def execute(self, line: str, **options: Any) -> Any:
            phase = PHASE.get()
            if phase is not None:
                POLL_COMMANDS[phase] += 1
            return super().execute(line, **options)

    return Counting(host, ssh_config=ssh_config, python=sys.executable)


def counting_launcher(connector: Any) -> Any:
    """The direct launcher, counting its polls and the remote commands they cost."""
    from xpm_core.plugin import get_registry
    from xpm_core.runtime.scheduler import Poller

    base = get_registry().launchers()["direct"].load()

    class Counting(base):  # type: ignore[misc, valid-type]
        polls = 0
        polls_seeing_ended_jobs = 0

        async def poll(self, refs: Any, files: Any = None) -> Any:
            type(self).polls += 1
            token = PHASE.set("status")
            try:
                states = await super().poll(refs, files=files)
            finally:
                PHASE.reset(token)
            if any(state.status.value == "finished" for state in states.values()):
                type(self).polls_seeing_ended_jobs += 1
            return states

    read_ended = Poller._read_ended_files

    async def counting_read(self: Any, states: Any) -> Any:
        token = PHASE.set("markers")
        try:
            return await read_ended(self, states)
        finally:
            PHASE.reset(token)

    Poller._read_ended_files = counting_read  # type: ignore[method-assign]
    return Counting(connector=connector)


def run_mode(args: argparse.Namespace) -> dict[str, Any]:
    """Run the experiment in this process, locally or over SSH; what it measured."""
    from xpm_ssh.session import all_sessions

    with tempfile.TemporaryDirectory() as tmp:
        if args.mode == "local":
            local = counting_launcher(None)
            seconds = run_experiment(Path(tmp) / "local", args.jobs, local)
            return {"local_seconds": round(seconds, 2), "local_polls": type(local).polls}
        connector = counting_connector(args.host, args.ssh_config)
        remote = counting_launcher(connector)
        seconds = run_experiment(Path(tmp) / "ssh", args.jobs, remote)
        session = connector.session
        polls = type(remote).polls
        # Per job: spawn, and two reads of its markers before it starts (once at submission,
        # once under its lock); per poll: one command for the state of all the jobs and the
        # markers of those seen ended (a second one only for a launcher whose poll cannot read
        # them); files go through SFTP, not commands.
        poll_commands = POLL_COMMANDS["status"] + POLL_COMMANDS["markers"]
        return {
            "ssh_seconds": round(seconds, 2),
            "ssh_connections_opened": sum(s.connections_opened for s in all_sessions()),
            "ssh_channels_opened": session.channels_opened,
            "ssh_remote_commands": session.commands_run,
            "ssh_polls": polls,
            "ssh_polls_seeing_ended_jobs": type(remote).polls_seeing_ended_jobs,
            "ssh_status_commands": POLL_COMMANDS["status"],
            "ssh_marker_reads_while_polling": POLL_COMMANDS["markers"],
            "ssh_remote_commands_per_poll": round(poll_commands / max(polls, 1), 2),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=100)
    parser.add_argument("--host", default="xpm-ssh-ci")
    parser.add_argument("--ssh-config", default="/tmp/xpm-ssh-ci/ssh_config")
    parser.add_argument("--monitor-jobs", type=int, default=10_000, help="jobs of the monitored workspace (0: skip)")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--mode", choices=("local", "ssh"), help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.mode:
        print(json.dumps(run_mode(args)))
        return
    results: dict[str, Any] = {"jobs": args.jobs}
    for mode in ("local", "ssh"):  # each in its own process: a driver runs a task once per process
        command = [
            sys.executable,
            __file__,
            "--mode",
            mode,
            "--jobs",
            str(args.jobs),
            "--host",
            args.host,
            "--ssh-config",
            args.ssh_config,
        ]
        results.update(json.loads(subprocess.run(command, check=True, capture_output=True, text=True).stdout))
    with tempfile.TemporaryDirectory() as tmp:
        if args.monitor_jobs:
            sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "plugins" / "xpm-ssh" / "tests"))
            from big_workspace import write_workspace

            from xpm_ssh.monitor_command import open_remote_workspace

            workspace = write_workspace(Path(tmp) / "big", args.monitor_jobs)
            remote_ws = open_remote_workspace(
                args.host, str(workspace), ssh_config=args.ssh_config, remote_python=sys.executable
            )
            try:
                timings = []
                for _ in range(3):
                    started = time.perf_counter()
                    page = remote_ws.jobs(limit=None)
                    timings.append(time.perf_counter() - started)
                assert page.total == args.monitor_jobs
                started = time.perf_counter()
                remote_ws.jobs(limit=100)
                results["monitor_all_jobs_seconds"] = [round(t, 2) for t in timings]
                results["monitor_page_of_100_seconds"] = round(time.perf_counter() - started, 3)
            finally:
                remote_ws.close()

    if args.json:
        print(json.dumps(results, indent=2))
        return
    for key, value in results.items():
        print(f"{key:32} {value}")


if __name__ == "__main__":
    main()
