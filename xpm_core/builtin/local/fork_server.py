"""The driver's side of the fork server: a zygote that starts local Python job scripts without a fresh interpreter.

Starting a job with ``python NAME.py`` costs an interpreter start-up plus importing the job
runtime (``xpm_core.run``, the ``params.json`` reader), most of a trivial job's time. The
local connector instead asks a zygote (:mod:`xpm_core.builtin.local.zygote`), started once per
driver, to fork a child that has those modules already imported. It starts when an experiment
opens (or at the first job), so that its ~50 ms of preloading overlap the run's set-up; one that
forked nothing is stopped at the driver's exit. The zygote reaps its children and reports their
exit codes, so they are known as for ``Popen`` children, and each report wakes the scheduler's
poller (:meth:`ForkServer.add_exit_listener`): a job's slot is free as soon as it ends.

Only commands ``(sys.executable, SCRIPT.py, *args)`` go through it (what job folders contain),
and only while the job's interpreter start-up variables (``PYTHON*``, ``LD_*``) are those the
zygote started with. Whenever it cannot be used — it failed to start or died, or
``XPM_NO_FORKSERVER=1`` is set — :meth:`ForkServer.spawn` returns ``None`` and the connector
starts the process with ``Popen`` as before. A zygote that died is not restarted.

Differences from a fresh interpreter: jobs share the zygote's hash seed (``PYTHONHASHSEED``)
and ``sys.orig_argv``, and a job ending with a plain exit status skips the interpreter's
teardown (objects still alive then are not destroyed: their ``__del__`` does not run; files
left open are flushed); everything a script can observe otherwise is as for ``python SCRIPT``.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import queue
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from xpm_core.plugin.connector import PathLike, ProcessInfo

logger = logging.getLogger("xpm.fork_server")

#: Set to ``1`` to start every local process with ``Popen`` (no zygote).
NO_FORKSERVER_ENV = "XPM_NO_FORKSERVER"
#: Seconds to wait for the zygote's answer before giving up on it (it answers in milliseconds;
#: only a stopped or wedged zygote is that slow).
ANSWER_TIMEOUT = 60.0
#: Environment variables read when an interpreter starts: a forked child cannot apply them.
_STARTUP_PREFIXES = ("PYTHON", "LD_")

_GONE = object()  # put on the answer queue when the zygote's output ends


def enabled() -> bool:
    """Whether local Python jobs may be started through the fork server (``XPM_NO_FORKSERVER``)."""
    return os.environ.get(NO_FORKSERVER_ENV, "") != "1"


def is_python_script(args: Sequence[str]) -> bool:
    """Whether ``args`` runs a Python script file with this interpreter, as job folders do."""
    return len(args) >= 2 and args[0] == sys.executable and args[1].endswith(".py") and not args[1].startswith("-")


def _startup_variables(env: Mapping[str, str]) -> dict[str, str]:
    return {name: value for name, value in env.items() if name.startswith(_STARTUP_PREFIXES)}


class ForkServer:
    """One zygote, started by :meth:`warm_up` or the first ``spawn``; thread-safe."""

    def __init__(self) -> None:
        self._request_lock = threading.Lock()  # one request at a time: answers come in order
        self._process: subprocess.Popen[bytes] | None = None
        self._broken = False  # failed or died: never used again
        self._answers: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._next_id = 0
        self._startup_env: dict[str, str] = {}
        # Written by the reader thread: what the zygote forked, how those children ended,
        # and whether it still reports (until then an unreported child is alive).
        self._state_lock = threading.Lock()
        self._forked: dict[int, str | None] = {}
        self._exits: dict[int, int] = {}
        self._connected = False
        # Called by the reader thread when a child's end is reported (or the zygote goes):
        # the scheduler's poller looks at once instead of at its next interval.
        self._exit_listeners: list[Callable[[], None]] = []

    def warm_up(self) -> None:
        """Start the zygote now (when an experiment opens), so that it has preloaded the job
        runtime by the time the first job folder is written; a no-op once started or broken."""
        with self._request_lock:
            if not self._broken and self._process is None:
                self._start()

    def add_exit_listener(self, listener: Callable[[], None]) -> None:
        """Have ``listener()`` called (in the reader thread; it must not block) whenever a forked
        child's end is reported, and when the zygote stops reporting."""
        with self._state_lock:
            self._exit_listeners.append(listener)

    def spawn(
        self, args: Sequence[str], *, cwd: PathLike, env: Mapping[str, str], stdout: PathLike, stderr: PathLike
    ) -> tuple[int, str | None] | None:
        """Start ``args`` (a Python script, see :func:`is_python_script`) as a forked child.

        :param env: the process's whole environment.
        :returns: its pid and start stamp, or ``None`` when the caller must start it itself.
        """
        with self._request_lock:
            if self._broken:
                return None
            if self._process is None and not self._start():
                return None
            if _startup_variables(env) != self._startup_env:
                return None  # e.g. another PYTHONPATH: only a fresh interpreter applies it
            self._next_id += 1
            request = {
                "id": self._next_id,
                "argv": list(args[1:]),
                "cwd": str(cwd),
                "env": dict(env),
                "stdout": str(stdout),
                "stderr": str(stderr),
            }
            answer = self._ask(request)
        if answer is None:
            return None
        if "error" in answer:
            # Most likely a missing folder or an unwritable file: Popen reports it to the caller.
            logger.debug("the fork server could not start %s: %s", args, answer["error"])
            return None
        return int(answer["pid"]), answer["start"]

    def info(self, pid: int, start: str | None) -> ProcessInfo | None:
        """What the zygote said about ``pid``; ``None`` when it did not fork it or no longer reports."""
        with self._state_lock:
            if pid not in self._forked or (start is not None and start != self._forked[pid]):
                return None
            if pid in self._exits:
                return ProcessInfo(running=False, exit_code=self._exits[pid])
            if self._connected:
                # Not reported yet, so not reaped yet: alive, or ended an instant ago.
                return ProcessInfo(running=True)
            return None

    def release_in_child(self) -> None:
        """In a forked copy of the driver: let go of the zygote's input without closing its number.

        The zygote leaves when every copy of that pipe's write end is closed; a copy kept by a
        child (a multiprocessing worker) would keep it alive after the driver's death. The fd
        number is pointed at /dev/null rather than closed: the inherited file object still
        owns it and closes it some day.
        """
        self._broken = True
        process = self._process
        if process is None or process.stdin is None:
            return
        null = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(null, process.stdin.fileno(), inheritable=False)
        finally:
            os.close(null)

    def _start(self) -> bool:
        """Start the zygote; ``False`` (and broken) when it cannot be."""
        import xpm_core

        # The folder holding the xpm_core the driver runs: the zygote must preload that one.
        root = str(Path(xpm_core.__file__).resolve().parent.parent)
        code = f"import sys; sys.path[0] = {root!r}; from xpm_core.builtin.local.zygote import main; main()"
        environ = dict(os.environ)
        try:
            process = subprocess.Popen(
                [sys.executable, "-c", code],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                cwd="/",  # holds no experiment folder
                env=environ,
                start_new_session=True,  # the driver's Ctrl-C is not for it: it leaves at EOF
            )
        except OSError as exc:
            self._break(f"it could not be started ({exc})")
            return False
        self._process = process
        self._startup_env = _startup_variables(environ)
        atexit.register(self._stop_if_unused, os.getpid())
        with self._state_lock:
            self._connected = True
        threading.Thread(target=self._read, args=(process,), name="xpm-fork-server", daemon=True).start()
        return True

    def _stop_if_unused(self, driver: int) -> None:
        """At the driver's exit: stop a zygote that never forked a job (started for an experiment
        that submitted none) rather than let it finish preloading; one that did leaves at EOF."""
        if os.getpid() != driver:
            return  # a forked copy of the driver exiting: the zygote is the driver's
        if not self._request_lock.acquire(blocking=False):
            return  # a request is under way: the zygote may be forking a job
        try:
            if self._next_id == 0 and self._process is not None:
                self._process.kill()
        finally:
            self._request_lock.release()

    def _ask(self, request: dict[str, Any]) -> dict[str, Any] | None:
        """Send a request and wait for its answer; ``None`` when the zygote is gone."""
        assert self._process is not None and self._process.stdin is not None
        try:
            self._process.stdin.write((json.dumps(request) + "\n").encode())
            self._process.stdin.flush()
        except OSError as exc:  # BrokenPipeError: it died
            self._break(f"it stopped reading ({exc})")
            return self._last_answer(request["id"])
        try:
            answer = self._answers.get(timeout=ANSWER_TIMEOUT)
        except queue.Empty:
            self._break(f"it did not answer within {ANSWER_TIMEOUT:.0f} s")
            return self._last_answer(request["id"])
        if answer is _GONE:
            self._broken = True
            return None
        return answer

    def _last_answer(self, request_id: int) -> dict[str, Any] | None:
        """After killing the zygote: its answer to ``request_id`` if it forked the job before dying."""
        assert self._process is not None
        self._process.kill()
        while (answer := self._answers.get()) is not _GONE:
            if answer.get("id") == request_id and "pid" in answer:
                return answer  # the job runs: starting it again would make two
        return None

    def _break(self, why: str) -> None:
        # At the driver's exit the zygote ends with it: nothing to warn about then.
        if not self._broken and not sys.is_finalizing():
            logger.warning("the fork server is not used any more: %s; jobs start as new processes", why)
        self._broken = True

    def _read(self, process: subprocess.Popen[bytes]) -> None:
        """The reader thread: record exit reports, pass answers on, until the zygote's output ends."""
        assert process.stdout is not None
        try:
            for line in process.stdout:
                message = json.loads(line)
                with self._state_lock:
                    if "exit" in message:
                        self._exits[message["exit"]] = message["code"]
                    elif "pid" in message:
                        # Recorded here, before any exit report of that pid can be read.
                        self._forked[message["pid"]] = message["start"]
                        self._exits.pop(message["pid"], None)  # an earlier child had this pid
                if "exit" in message:
                    self._notify_exit()
                else:
                    self._answers.put(message)
        except Exception as exc:  # a garbled line: the zygote cannot be trusted any more
            logger.warning("unreadable answer from the fork server (%s): stopping it", exc)
            process.kill()
        finally:
            code = process.wait()
            with self._state_lock:
                self._connected = False
            self._break(f"it ended with exit code {code}")
            self._answers.put(_GONE)
            self._notify_exit()  # its unreported children are now asked about another way

    def _notify_exit(self) -> None:
        with self._state_lock:
            listeners = list(self._exit_listeners)
        for listener in listeners:
            try:
                listener()
            except Exception as exc:  # e.g. the listener's event loop is closed: the reader goes on
                logger.debug("exit listener %r failed: %s", listener, exc)


_server: ForkServer | None = None
_server_lock = threading.Lock()


def server() -> ForkServer:
    """This process's fork server (its zygote starts at :meth:`ForkServer.warm_up` or the first job)."""
    global _server
    with _server_lock:
        if _server is None:
            _server = ForkServer()
        return _server


def warm_up_default() -> None:
    """Start this process's zygote now when the fork server is enabled (see :meth:`ForkServer.warm_up`)."""
    if enabled():
        server().warm_up()


def existing_server() -> ForkServer | None:
    """This process's fork server if one was created (asking about processes does not start one)."""
    return _server


def _forget_after_fork() -> None:
    """In a forked copy of the driver: leave the parent's zygote to the parent."""
    global _server, _server_lock
    inherited, _server, _server_lock = _server, None, threading.Lock()
    if inherited is not None:
        inherited.release_in_child()


os.register_at_fork(after_in_child=_forget_after_fork)
