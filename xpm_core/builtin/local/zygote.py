"""The fork server process ("zygote"): forks job processes that have already imported the job runtime.

The driver starts it once (see :mod:`xpm_core.builtin.local.fork_server`) as
``python -c "...; from xpm_core.builtin.local.zygote import main; main()"``. It imports what every
job needs (:data:`PRELOAD`, never the user's modules), then serves requests, one JSON object a
line, on its standard input, and answers on its standard output:

- request ``{"id": n, "argv": [script, *args], "cwd": ..., "env": {...}, "stdout": ..., "stderr": ...}``
  (``env`` is the job's whole environment);
- answer ``{"id": n, "pid": pid, "start": stamp}``, or ``{"id": n, "error": message}`` when the
  job could not be started (the driver then starts it the ordinary way, which reports the error);
- report ``{"exit": pid, "code": code}`` when a job ends (``-N``: killed by signal N).

The forked child starts a new session, changes directory, sends its output to the job's files
(appended), takes the job's environment and runs the script as ``python SCRIPT ARGS...`` would:
as ``__main__``, with ``sys.argv`` and ``sys.path[0]`` set, and with exceptions and
``SystemExit`` left to the interpreter, so exit codes are those of a fresh process. A plain exit
status (what job scripts end with) leaves without the interpreter's teardown, after joining
non-daemon threads, running ``atexit`` handlers and flushing open files (:func:`_exit_quickly`). The zygote exits when its standard input
closes (the driver died or finished); jobs keep running. It stays single-threaded: forking is only safe then.
"""

from __future__ import annotations

import atexit
import builtins
import contextlib
import gc
import io
import json
import os
import select
import signal
import sys
from types import FrameType, ModuleType
from typing import Any

from xpm_core.local_host import process_start_stamp

#: Modules every job imports before running its task: the job runner and the ``params.json``
#: reader with what rebuilding and executing a task pulls in. Never the user's modules.
PRELOAD = (
    "xpm_core.run",
    "xpm_core.serialization.params",
    "xpm_core.config.generators",
    "xpm_core.config.instance",
    "xpm_core.config.partial",
    "xpm_core.config.sealing",
    # Imported by every job when it runs (lazily, to keep ``python -m xpm_core.run`` light):
    # ~2 ms a job otherwise.
    "xpm_core.config.checkers",
    "xpm_core.config.generics",
    "xpm_core.config.partial_lock",
    "xpm_core.runtime.progress_file",
    "xpm_core.runtime.rank",
    "xpm_core.runtime.task_progress",
)

_REQUEST_FD = 0
_ANSWER_FD = 1


def main() -> None:
    """Entry point of the zygote: preload, serve until the driver goes, run a job in each child."""
    for module in PRELOAD:
        __import__(module)
    # Preloaded objects live as long as the process: keeping them out of the collector spares
    # the children from copying the pages a collection would touch.
    gc.freeze()
    request = _serve()
    if request is None:
        return  # the driver closed our input: leave, running jobs carry on
    _run_script(request["argv"])


def _serve() -> dict[str, Any] | None:
    """Fork a child per request; returns the request in the child, ``None`` in the zygote at EOF."""
    wake_read, wake_write = os.pipe()
    os.set_blocking(wake_read, False)
    os.set_blocking(wake_write, False)
    # A SIGCHLD writes a byte to wake_write, waking select(): children are reaped at once.
    signal.signal(signal.SIGCHLD, _ignore_signal)
    signal.set_wakeup_fd(wake_write)
    pending = b""
    while True:
        ready, _, _ = select.select([_REQUEST_FD, wake_read], [], [])
        if wake_read in ready:
            _drain(wake_read)
            _reap()
        if _REQUEST_FD not in ready:
            continue
        data = os.read(_REQUEST_FD, 1 << 16)
        if not data:
            _reap()
            return None
        pending += data
        while b"\n" in pending:
            line, pending = pending.split(b"\n", 1)
            request = json.loads(line)
            if _fork(request):
                # In the child: forget the zygote's signal plumbing before running the job.
                signal.set_wakeup_fd(-1)
                signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                os.close(wake_read)
                os.close(wake_write)
                return request


def _fork(request: dict[str, Any]) -> bool:
    """Fork the job of ``request``; ``True`` in the child (set up), ``False`` in the zygote (answered)."""
    opened: list[int] = []
    try:
        # Everything that can fail is done before forking, so that a failure is an answer.
        flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND
        for path in (request["stdout"], request["stderr"]):
            opened.append(os.open(path, flags, 0o666))
        opened.append(os.open(request["cwd"], os.O_RDONLY | os.O_DIRECTORY))
        opened.append(os.open(os.devnull, os.O_RDONLY))
        # The child closes its end of this pipe once set up: see below.
        opened.extend(os.pipe())
        sys.stdout.flush()  # nothing buffered may be written twice
        sys.stderr.flush()
        pid = os.fork()
    except OSError as exc:
        for fd in opened:
            os.close(fd)
        _answer({"id": request["id"], "error": str(exc)})
        return False
    out, err, cwd, null, setup_read, setup_write = opened
    if pid == 0:
        os.setsid()  # its own session: it outlives the driver and the zygote, and their Ctrl-C
        os.fchdir(cwd)
        os.dup2(null, 0)  # the request and answer pipes are replaced, hence closed, here
        os.dup2(out, 1)
        os.dup2(err, 2)
        for fd in opened:
            os.close(fd)  # setup_write last: the zygote may answer from then on
        os.environ.clear()
        os.environ.update(request["env"])
        return True
    os.close(setup_write)
    # Answer only once the child leads its session and writes to its files, as Popen returns
    # only after the child's exec: until then, killing its process group would miss it.
    os.read(setup_read, 1)  # EOF when the child has closed its end (or died)
    for fd in (out, err, cwd, null, setup_read):
        os.close(fd)
    # The child cannot be reaped before this answer, so its /proc entry is still there.
    _answer({"id": request["id"], "pid": pid, "start": process_start_stamp(pid)})
    return False


def _run_script(argv: list[str]) -> None:
    """Run ``argv[0]`` as the ``__main__`` module of this process, like ``python SCRIPT ARGS...``."""
    script = argv[0]
    path = os.path.abspath(script)
    try:
        with open(path, "rb") as stream:
            source = stream.read()
    except OSError as exc:
        print(f"{sys.executable}: can't open file {path!r}: [Errno {exc.errno}] {exc.strerror}", file=sys.stderr)
        sys.exit(2)
    sys.argv = list(argv)
    sys.path[0] = os.path.dirname(os.path.realpath(script))  # what the interpreter puts there
    from importlib.machinery import SourceFileLoader

    module = ModuleType("__main__")
    module.__file__ = path
    module.__loader__ = SourceFileLoader("__main__", path)
    module.__builtins__ = builtins  # type: ignore[attr-defined]
    sys.modules["__main__"] = module
    # Exceptions and SystemExit go up to the interpreter, which reports them and sets the exit
    # code exactly as for a script, then runs atexit handlers and joins non-daemon threads.
    # Only a plain exit status (what job scripts end with) takes the quick way out.
    try:
        exec(compile(source, path, "exec", dont_inherit=True), module.__dict__)
    except SystemExit as exc:
        status = _plain_status(exc.code)
        if status is None:
            raise
    else:
        status = 0
    _exit_quickly(status)


def _plain_status(code: object) -> int | None:
    """The exit status of ``sys.exit(code)`` when it is a plain number (``None`` otherwise)."""
    if code is None:
        return 0
    if isinstance(code, int) and not isinstance(code, bool) and 0 <= code <= 255:
        return code
    return None


def _exit_quickly(status: int) -> None:
    """End the child as the interpreter would, without tearing down the zygote's modules.

    The interpreter's own exit would then free every object the zygote preloaded, writing to
    each of their memory pages (copies of the zygote's, made at that moment): half of a
    trivial job's time. What a script can see of an exit is done first, in the interpreter's
    order: non-daemon threads are joined, atexit handlers run, files left open are flushed
    (the interpreter's teardown would close them), then standard output and error.
    """
    threading = sys.modules.get("threading")
    if threading is not None:
        threading._shutdown()  # type: ignore[attr-defined]
    atexit._run_exitfuncs()
    gc.collect()  # garbage in cycles (e.g. an open file): finalized as the teardown would
    for obj in gc.get_objects():  # the zygote's frozen objects are not listed: only the job's
        if isinstance(obj, (io.BufferedIOBase, io.TextIOBase)) and obj is not sys.stdout and obj is not sys.stderr:
            with contextlib.suppress(Exception):
                if not obj.closed and obj.writable():
                    obj.flush()
    # The original streams too, should the script have replaced them (they were created before
    # gc.freeze(), so the scan above does not list them).
    for stream in dict.fromkeys((sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__)):
        try:
            if stream is not None and not stream.closed:
                stream.flush()
        except Exception:
            status = status or 120  # what the interpreter exits with when it cannot flush
    os._exit(status)


def _reap() -> None:
    """Collect every ended child and report its exit code."""
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        _answer({"exit": pid, "code": os.waitstatus_to_exitcode(status)})


def _answer(message: dict[str, Any]) -> None:
    data = (json.dumps(message) + "\n").encode()
    while data:  # a pipe may take part of a write
        data = data[os.write(_ANSWER_FD, data) :]


def _drain(fd: int) -> None:
    try:
        while os.read(fd, 4096):
            pass
    except BlockingIOError:
        pass


def _ignore_signal(signum: int, frame: FrameType | None) -> None:
    """The SIGCHLD handler: the wake-up pipe does the work (a handler is needed for it to be written)."""
