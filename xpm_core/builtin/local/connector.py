"""The ``local`` connector: files, commands, processes and locks of the machine xpm runs on.

Job scripts (``python NAME.py``) are forked by the fork server (:mod:`xpm_core.builtin.local.fork_server`),
which has the job runtime imported already; other commands, and jobs it cannot start, use ``Popen``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import threading
from pathlib import Path
from typing import Any, BinaryIO, Callable, ContextManager, Iterator, Mapping, Sequence

from xpm_core.builtin.local import fork_server
from xpm_core.local_host import file_lock, process_alive, process_start_stamp
from xpm_core.plugin.connector import CommandResult, Connector, PathLike, ProcessInfo, TreeEntry

# Children started by any LocalConnector of this process, by pid: only their parent can reap
# them (and read their exit code); an unreaped child would look alive forever as a zombie.
_children: dict[int, tuple[subprocess.Popen[bytes], str | None]] = {}
_children_lock = threading.Lock()



class LocalConnector(Connector):
    """The machine xpm runs on."""

    name = "local"

    def __init__(self, path: str | None = None) -> None:
        # ``path`` comes from URL dispatch (``/scratch/xp``): the local machine needs no more.
        self.path = path

    @property
    def hostname(self) -> str:
        return socket.gethostname()

    def to_spec(self) -> dict[str, Any]:
        return {}

    def __repr__(self) -> str:
        return "LocalConnector()"

    # ---- files ---------------------------------------------------------------------------

    def exists(self, path: PathLike) -> bool:
        return Path(path).exists()

    def read_text(self, path: PathLike) -> str:
        return Path(path).read_text()

    def write_text(self, path: PathLike, text: str, *, executable: bool = False) -> None:
        target = Path(path)
        fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w") as stream:
                stream.write(text)
            # mkstemp creates 0600 files; give the usual permissions under the umask.
            os.chmod(temporary, (0o777 if executable else 0o666) & ~_current_umask())
            os.replace(temporary, target)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise

    def mkdir(self, path: PathLike) -> None:
        Path(path).mkdir(parents=True, exist_ok=True)

    def remove(self, path: PathLike) -> None:
        with contextlib.suppress(FileNotFoundError):
            Path(path).unlink()

    def rename(self, source: PathLike, target: PathLike) -> None:
        os.replace(source, target)

    def symlink(self, target: PathLike, link: PathLike) -> None:
        link_path = Path(link)
        temporary = link_path.with_name(f".{link_path.name}.{os.getpid()}.tmp")
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()
        temporary.symlink_to(target)
        os.replace(temporary, link_path)  # atomic: readers never miss the link

    def listdir(self, path: PathLike) -> list[str]:
        return sorted(os.listdir(path))

    # ---- trees and streams ---------------------------------------------------------------

    def walk(self, path: PathLike) -> list[TreeEntry]:
        root = Path(path)
        if not root.is_dir():
            raise FileNotFoundError(f"cannot list the directory {path}: not a directory")
        entries = []
        for folder, directories, files in os.walk(root):
            for name in directories + files:
                full = os.path.join(folder, name)
                info = os.lstat(full)
                relative = os.path.relpath(full, root).replace(os.sep, "/")
                if stat.S_ISLNK(info.st_mode):
                    entries.append(TreeEntry(relative, "symlink", target=os.readlink(full)))
                elif stat.S_ISDIR(info.st_mode):
                    entries.append(TreeEntry(relative, "directory"))
                elif stat.S_ISREG(info.st_mode):
                    entries.append(TreeEntry(relative, "file", info.st_size, bool(info.st_mode & 0o100)))
        return sorted(entries, key=lambda entry: entry.path.split("/"))

    def open_read(self, path: PathLike) -> ContextManager[BinaryIO]:
        return open(path, "rb")

    @contextlib.contextmanager
    def _open_write(self, path: PathLike, executable: bool) -> Iterator[BinaryIO]:
        with open(path, "wb") as stream:
            os.chmod(path, (0o777 if executable else 0o666) & ~_current_umask())
            yield stream

    def open_write(self, path: PathLike, *, executable: bool = False) -> ContextManager[BinaryIO]:
        return self._open_write(path, executable)

    def remove_tree(self, path: PathLike) -> None:
        with contextlib.suppress(FileNotFoundError):
            shutil.rmtree(path)

    # ---- commands and processes ----------------------------------------------------------

    def run(
        self,
        args: Sequence[str],
        *,
        cwd: PathLike | None = None,
        env: Mapping[str, str] | None = None,
        input: str | None = None,
        timeout: float | None = None,
    ) -> CommandResult:
        try:
            done = subprocess.run(
                list(args),
                cwd=cwd,
                env={**os.environ, **(env or {})},
                input=input,
                capture_output=True,
                text=True,
                timeout=timeout,
            )
        except subprocess.TimeoutExpired:
            raise TimeoutError(f"{args[0]} did not finish within {timeout} s") from None
        return CommandResult(done.returncode, done.stdout, done.stderr)

    def spawn(
        self,
        args: Sequence[str],
        *,
        cwd: PathLike,
        env: Mapping[str, str],
        stdout: PathLike,
        stderr: PathLike,
    ) -> tuple[int, str | None]:
        environ = {**os.environ, **env}
        if fork_server.is_python_script(args) and fork_server.enabled():
            # A job script: forked by the zygote, which has the job runtime imported already.
            started = fork_server.server().spawn(args, cwd=cwd, env=environ, stdout=stdout, stderr=stderr)
            if started is not None:
                return started
        with open(stdout, "ab") as out, open(stderr, "ab") as err:
            process = subprocess.Popen(
                list(args),
                cwd=cwd,
                env=environ,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                start_new_session=True,  # survives the driver, its Ctrl-C and its death
            )
        start = process_start_stamp(process.pid)
        with _children_lock:
            _children[process.pid] = (process, start)
        return process.pid, start

    def warm_up(self) -> None:
        """Get ready to start job scripts: start the fork server's zygote now, in the background."""
        if fork_server.enabled():
            fork_server.server().warm_up()

    def on_process_end(self, listener: Callable[[], None]) -> bool:
        """Have ``listener()`` called (from another thread) when a job the fork server started
        ends; ``False`` when ends are not reported (every local process is then polled)."""
        if not fork_server.enabled():
            return False
        fork_server.server().add_exit_listener(listener)
        return True

    def reports_end(self, pid: int, start: str | None) -> bool:
        """Whether the end of ``pid`` will be told to :meth:`on_process_end` listeners (forked by the fork server)."""
        server = fork_server.existing_server()
        return server is not None and server.info(pid, start) is not None

    def process_info(self, pid: int, start: str | None) -> ProcessInfo:
        server = fork_server.existing_server()
        forked = server.info(pid, start) if server is not None else None
        if forked is not None:
            return forked
        with _children_lock:
            child, child_start = _children.get(pid, (None, None))
        if child is not None and (start is None or start == child_start):
            code = child.poll()
            return ProcessInfo(running=code is None, exit_code=code)
        return ProcessInfo(running=process_alive(pid, start))

    def kill(self, pid: int, *, force: bool = False) -> None:
        sig = signal.SIGKILL if force else signal.SIGTERM
        try:
            # Jobs lead their own session: signal the group so their children stop too.
            os.killpg(pid, sig)
        except ProcessLookupError:
            pass
        except PermissionError:
            os.kill(pid, sig)

    # ---- locks ---------------------------------------------------------------------------

    def lock(self, path: PathLike, *, timeout: float | None = None) -> ContextManager[None]:
        return file_lock(path, timeout=timeout)


def _current_umask() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return umask
