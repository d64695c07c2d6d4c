"""The ``ssh`` connector: files (SFTP), commands and detached jobs (exec channels) and locks of an SSH host.

All of it goes through the one transport per host that :mod:`xpm_ssh.session` keeps for the
process. Locks are ``flock`` held by a remote ``flock`` process that lives as long as the
channel that started it: the lock is released when the driver releases it, and also when the
driver dies or its connection drops (sshd then closes the channel, ``flock``'s child reads end
of file and exits). Being ``flock(2)`` on the host, it excludes the job processes and local
drivers on that host as well, and other hosts sharing the file system over NFSv4 or Lustre
(where the kernel maps ``flock`` onto the file system's locks).
"""

from __future__ import annotations

import base64
import contextlib
import errno
import posixpath
import stat
import time
import uuid
from typing import Any, BinaryIO, Callable, ContextManager, Iterator, Mapping, Sequence

from xpm_core.plugin import CommandResult, Connector, PathLike, ProcessInfo, TreeEntry
from xpm_ssh import remote_shell
from xpm_ssh.errors import SshError, SshUnreachableError
from xpm_ssh.session import Destination, Session, session_for


class SshConnector(Connector):
    """A host reached over SSH, configured by ~/.ssh/config (aliases, ProxyJump, IdentityFile)."""

    name = "ssh"

    def __init__(
        self,
        host: str,
        user: str | None = None,
        port: int | None = None,
        *,
        path: str | None = None,
        ssh_config: str | None = None,
        known_hosts: Sequence[str] = (),
        identity: Sequence[str] = (),
        options: Sequence[str] = (),
        python: str = "python3",
    ) -> None:
        if "@" in host and user is None:
            user, host = host.split("@", 1)
        named = _named_host(host)
        if named:  # connectors: ssh: NAME: {...} of settings.yaml; arguments given here win
            host = str(named.get("host", host))
            user = user or named.get("user")
            port = port or named.get("port")
            ssh_config = ssh_config or named.get("ssh_config")
            known_hosts = tuple(known_hosts) or tuple(named.get("known_hosts", ()))
            identity = tuple(identity) or tuple(named.get("identity", ()))
            options = tuple(options) or tuple(named.get("options", ()))
            if python == "python3":
                python = str(named.get("python", python))
        self.destination = Destination(
            host=host,
            user=user or None,
            port=int(port) if port else None,
            ssh_config=ssh_config,
            known_hosts=tuple(known_hosts),
            identity=tuple(identity),
            options=tuple(options),
        )
        #: The location the connector was made for (``ssh://host/path``), if any.
        self.path = path
        #: The Python interpreter jobs run with on the host.
        self.python = python
        self._python_checked = False

    @property
    def session(self) -> Session:
        return session_for(self.destination)

    @property
    def hostname(self) -> str:
        return self.destination.host

    def to_spec(self) -> dict[str, Any]:
        d = self.destination
        spec: dict[str, Any] = {"host": d.host}
        optional = {
            "user": d.user,
            "port": d.port,
            "ssh_config": d.ssh_config,
            "known_hosts": list(d.known_hosts),
            "identity": list(d.identity),
            "options": list(d.options),
        }
        spec.update({key: value for key, value in optional.items() if value})
        if self.python != "python3":
            spec["python"] = self.python
        return spec

    def __repr__(self) -> str:
        return f"SshConnector({self.session.label!r})"

    # ---- files ---------------------------------------------------------------------------

    def _sftp_call(self, what: str, operation: Any, *args: Any) -> Any:
        """Run an SFTP operation, reconnecting once if the connection dropped."""
        for attempt in (1, 2):
            sftp = self.session.sftp()
            try:
                # paramiko's SFTP client mixes up the answers of concurrent requests: one at a time.
                with self.session.sftp_lock:
                    return operation(sftp, *args)
            except (EOFError, ConnectionError, _ssh_exception()) as exc:
                self.session.mark_broken()
                if attempt == 2:
                    raise SshUnreachableError(f"SSH host {self.session.label}: {what} failed ({exc})") from exc
        raise AssertionError("unreachable")

    def exists(self, path: PathLike) -> bool:
        def op(sftp: Any, p: str) -> bool:
            try:
                sftp.stat(p)
            except FileNotFoundError:
                return False
            return True

        return bool(self._sftp_call(f"stat {path}", op, str(path)))

    def read_text(self, path: PathLike) -> str:
        def op(sftp: Any, p: str) -> str:
            with sftp.open(p, "rb") as stream:
                return stream.read().decode()

        return str(self._sftp_call(f"reading {path}", op, str(path)))

    def read_bytes(self, path: PathLike, offset: int = 0, size: int | None = None) -> bytes:
        """Part of a file (logs are read by chunks, never copied whole)."""

        def op(sftp: Any, p: str) -> bytes:
            with sftp.open(p, "rb") as stream:
                stream.seek(offset)
                return bytes(stream.read(size) if size is not None else stream.read())

        return bytes(self._sftp_call(f"reading {path}", op, str(path)))

    def read_files(self, paths: Sequence[PathLike]) -> dict[str, str | None]:
        """Several small files (job markers) from one remote command, whatever their number."""
        names = [str(path) for path in paths]
        if not names:
            return {}
        line = _one_command([[name] for name in names], remote_shell.read_files_line)
        result = self.execute(line, timeout=60)
        result.check(f"reading files on SSH host {self.session.label}")
        rows = result.stdout.splitlines()
        if len(rows) != len(names):
            raise SshError(f"SSH host {self.session.label}: reading {len(names)} files gave {len(rows)} answers")
        return {name: _file_content(row) for name, row in zip(names, rows)}

    def write_text(self, path: PathLike, text: str, *, executable: bool = False) -> None:
        target = str(path)
        temporary = posixpath.join(
            posixpath.dirname(target), f".{posixpath.basename(target)}.{uuid.uuid4().hex[:12]}.tmp"
        )

        def op(sftp: Any) -> None:
            try:
                with sftp.open(temporary, "wb") as stream:
                    stream.write(text.encode())
                sftp.chmod(temporary, 0o755 if executable else 0o644)
                sftp.posix_rename(temporary, target)  # atomic: readers see old or new, never a part
            except BaseException:
                with contextlib.suppress(OSError):
                    sftp.remove(temporary)
                raise

        self._sftp_call(f"writing {target}", op)

    def mkdir(self, path: PathLike) -> None:
        def op(sftp: Any, p: str) -> None:
            missing = []
            while p not in ("", "/"):
                try:
                    if stat.S_ISDIR(sftp.stat(p).st_mode):
                        break
                    raise FileExistsError(errno.EEXIST, f"{p} exists and is not a directory")
                except FileNotFoundError:
                    missing.append(p)
                    p = posixpath.dirname(p)
            for directory in reversed(missing):
                try:
                    sftp.mkdir(directory)
                except OSError:
                    if not stat.S_ISDIR(sftp.stat(directory).st_mode):  # made by someone else meanwhile?
                        raise

        self._sftp_call(f"mkdir {path}", op, posixpath.normpath(str(path)))

    def remove(self, path: PathLike) -> None:
        def op(sftp: Any, p: str) -> None:
            with contextlib.suppress(FileNotFoundError):
                sftp.remove(p)

        self._sftp_call(f"removing {path}", op, str(path))

    def rename(self, source: PathLike, target: PathLike) -> None:
        self._sftp_call(f"renaming {source}", lambda sftp: sftp.posix_rename(str(source), str(target)))

    def symlink(self, target: PathLike, link: PathLike) -> None:
        link = str(link)
        temporary = posixpath.join(posixpath.dirname(link), f".{posixpath.basename(link)}.{uuid.uuid4().hex[:12]}.tmp")

        def op(sftp: Any) -> None:
            sftp.symlink(str(target), temporary)
            sftp.posix_rename(temporary, link)  # atomic: readers never miss the link

        self._sftp_call(f"linking {link}", op)

    def listdir(self, path: PathLike) -> list[str]:
        return sorted(self._sftp_call(f"listing {path}", lambda sftp: sftp.listdir(str(path))))

    # ---- trees and streams (xpm experiments copy) -------------------------------------------

    def walk(self, path: PathLike) -> list[TreeEntry]:
        """Every entry below ``path``, by SFTP (one listing per directory)."""

        def op(sftp: Any, root: str) -> list[TreeEntry]:
            try:
                if not stat.S_ISDIR(sftp.stat(root).st_mode):
                    raise FileNotFoundError(f"{root} is not a directory")
            except FileNotFoundError:
                raise FileNotFoundError(f"cannot list the directory {root} on SSH host {self.session.label}") from None
            entries: list[TreeEntry] = []
            pending = [""]
            while pending:
                relative = pending.pop()
                for attributes in sftp.listdir_attr(posixpath.join(root, relative) if relative else root):
                    name = posixpath.join(relative, attributes.filename) if relative else attributes.filename
                    mode = attributes.st_mode or 0
                    if stat.S_ISLNK(mode):
                        entries.append(TreeEntry(name, "symlink", target=sftp.readlink(posixpath.join(root, name))))
                    elif stat.S_ISDIR(mode):
                        entries.append(TreeEntry(name, "directory"))
                        pending.append(name)
                    elif stat.S_ISREG(mode):
                        entries.append(TreeEntry(name, "file", attributes.st_size or 0, bool(mode & 0o100)))
            return sorted(entries, key=lambda entry: entry.path.split("/"))

        return list(self._sftp_call(f"listing {path}", op, str(path)))

    def open_read(self, path: PathLike) -> ContextManager[BinaryIO]:
        return self._stream(str(path), "rb", executable=False)

    def open_write(self, path: PathLike, *, executable: bool = False) -> ContextManager[BinaryIO]:
        return self._stream(str(path), "wb", executable=executable)

    @contextlib.contextmanager
    def _stream(self, path: str, mode: str, *, executable: bool) -> Iterator[BinaryIO]:
        """A file of the host over an SFTP channel of its own on the shared transport: a long
        transfer never holds up the scheduler's own SFTP requests."""
        import paramiko

        try:
            client = paramiko.SFTPClient.from_transport(self.session.transport())
        except (paramiko.SSHException, EOFError, OSError) as exc:
            self.session.mark_broken()
            raise SshUnreachableError(f"SSH host {self.session.label}: cannot open SFTP ({exc})") from exc
        assert client is not None
        try:
            with client.open(path, mode) as stream:
                if mode == "rb":
                    stream.prefetch()  # pipelined reads: a file comes at the link's speed
                else:
                    stream.set_pipelined(True)
                    client.chmod(path, 0o755 if executable else 0o644)
                yield stream  # type: ignore[misc]
        finally:
            client.close()

    def remove_tree(self, path: PathLike) -> None:
        self.run(["rm", "-rf", "--", str(path)], timeout=600).check(f"removing {path} on SSH host {self.session.label}")

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
        line = remote_shell.command_line(args, cwd=None if cwd is None else str(cwd), env=env)
        if timeout is not None:
            # The remote command is killed with the time-out, not only abandoned.
            line = f"timeout -k 2 {timeout:.3f} {line}"
        result = self.execute(line, input=input, timeout=None if timeout is None else timeout + 5)
        if timeout is not None and result.returncode == 124:
            raise TimeoutError(f"{args[0]} did not finish within {timeout} s on {self.session.label}")
        return result

    def execute(self, line: str, *, input: str | None = None, timeout: float | None = None) -> CommandResult:
        """Run a shell command line on the host and capture its output (one round trip)."""
        try:
            code, out, err = self.session.execute(line, input=input, timeout=timeout)
        except TimeoutError:
            raise TimeoutError(
                f"a command on SSH host {self.session.label} did not finish within {timeout} s"
            ) from None
        return CommandResult(code, out.decode(errors="replace"), err.decode(errors="replace"))

    def spawn(
        self,
        args: Sequence[str],
        *,
        cwd: PathLike,
        env: Mapping[str, str],
        stdout: PathLike,
        stderr: PathLike,
    ) -> tuple[int, str | None]:
        line = remote_shell.spawn_line(args, cwd=str(cwd), env=env, stdout=str(stdout), stderr=str(stderr))
        result = self.execute(line, timeout=60).check(f"starting {args[0]} on SSH host {self.session.label}")
        pid, _, start = result.stdout.strip().partition(" ")
        return int(pid), start or None

    def process_info(self, pid: int, start: str | None) -> ProcessInfo:
        return self.processes_info([(pid, start)])[pid]

    def processes_info(self, processes: Sequence[tuple[int, str | None]]) -> dict[int, ProcessInfo]:
        """The state of many processes from one remote command (one per poll, whatever their number)."""
        return self.processes_and_files(processes, {})

    def processes_and_files(
        self, processes: Sequence[tuple[int, str | None]], files: Mapping[int, Sequence[PathLike]]
    ) -> dict[int, ProcessInfo]:
        """The state of many processes and the files of those that ended, from one remote command."""
        if not processes:
            return {}
        wanted = {pid: [str(path) for path in files.get(pid, ())] for pid, _ in processes}
        line = _one_command(
            [remote_shell.process_arguments(pid, start, wanted[pid]) for pid, start in processes],
            remote_shell.processes_line,
        )
        result = self.execute(line, timeout=60)
        result.check(f"reading processes on SSH host {self.session.label}")
        rows = iter(result.stdout.splitlines())
        infos: dict[int, ProcessInfo] = {}
        for pid, _ in processes:
            fields = next(rows, "").split()
            if fields == [str(pid), "R"]:
                infos[pid] = ProcessInfo(running=True)
            elif len(fields) == 3 and fields[:2] == [str(pid), "F"]:
                contents = {path: _file_content(next(rows, "M")) for path in wanted[pid]}
                exit_code = None if fields[2] == "-" else int(fields[2])
                infos[pid] = ProcessInfo(running=False, exit_code=exit_code, files=contents if files else None)
            else:
                raise SshError(f"SSH host {self.session.label}: unexpected answer about process {pid}: {fields!r}")
        return infos

    def kill(self, pid: int, *, force: bool = False) -> None:
        self.execute(remote_shell.kill_line(pid, force=force), timeout=60)

    # ---- the interpreter jobs run with ---------------------------------------------------

    def interpreter(self) -> str:
        """The host's Python for jobs, checked once: it must exist and import xpm_core."""
        if not self._python_checked:
            result = self.run([self.python, "-c", "import xpm_core"], timeout=60)
            if result.returncode != 0:
                detail = (result.stderr or result.stdout).strip().splitlines()
                raise SshError(
                    f"SSH host {self.session.label}: the job interpreter {self.python!r} cannot run xpm "
                    f"({detail[-1] if detail else f'exit code {result.returncode}'}); install xpm-core "
                    "there and set 'python:' of the ssh connector to that interpreter"
                )
            self._python_checked = True
        return self.python

    # ---- locks ---------------------------------------------------------------------------

    def lock(self, path: PathLike, *, timeout: float | None = None) -> ContextManager[None]:
        return self._lock(str(path), timeout)

    @contextlib.contextmanager
    def _lock(self, path: str, timeout: float | None) -> Iterator[None]:
        if timeout is not None and timeout <= 0:
            # "Try once" (the scheduler's job locks): held by the session's lock keeper shell.
            try:
                fd = self.session.try_lock(path)
            except LookupError:
                pass  # every keeper descriptor in use: a channel of its own, below
            else:
                if fd is None:
                    raise TimeoutError(f"the lock {path} on SSH host {self.session.label} is held by another process")
                try:
                    yield
                finally:
                    self.session.unlock(fd)
                return
        with self._channel_lock(path, timeout):
            yield

    @contextlib.contextmanager
    def _channel_lock(self, path: str, timeout: float | None) -> Iterator[None]:
        """A lock held by a remote ``flock`` process of its own channel (waits, or many locks)."""
        channel = self.session.open_channel()
        try:
            channel.exec_command(remote_shell.lock_line(path, timeout))
            channel.settimeout(None if timeout is None else timeout + 30)
            answer = b""
            while not answer.endswith(b"\n"):
                chunk = channel.recv(64)
                if not chunk:
                    break
                answer += chunk
            if answer.strip() != b"locked":
                code = channel.recv_exit_status()
                if code == remote_shell.LOCK_BUSY:
                    raise TimeoutError(f"the lock {path} on SSH host {self.session.label} is held by another process")
                detail = channel.makefile_stderr("rb").read().decode(errors="replace").strip()
                raise SshError(f"SSH host {self.session.label}: cannot lock {path}: {detail or f'exit code {code}'}")
            yield
        finally:
            # End of input ends the remote holder; closing the channel is enough if it is gone.
            with contextlib.suppress(Exception):
                channel.shutdown_write()
                deadline = time.monotonic() + 5
                while not channel.exit_status_ready() and time.monotonic() < deadline:
                    time.sleep(0.005)
            channel.close()


def _ssh_exception() -> type[Exception]:
    import paramiko

    return paramiko.SSHException


#: Characters of arguments given to one remote ``sh`` (under Linux's smallest ARG_MAX, 128 KiB,
#: with room for the environment): a longer list is split across several ``sh`` of one command.
ARGUMENTS_PER_SH = 100_000


def _one_command(groups: Sequence[Sequence[str]], line: Callable[[list[str]], str]) -> str:
    """One command line running ``line(arguments)`` on the groups of arguments, in order.

    Several ``sh`` in one command line: each gets a bounded argument list, a group (the
    arguments about one process) never split, and the whole still costs one round trip.
    """
    lines: list[str] = []
    batch: list[str] = []
    size = 0
    for group in groups:
        length = sum(len(argument) + 1 for argument in group)
        if batch and size + length > ARGUMENTS_PER_SH:
            lines.append(line(batch))
            batch, size = [], 0
        batch.extend(group)
        size += length
    if batch:
        lines.append(line(batch))
    return "; ".join(lines)


def _file_content(row: str) -> str | None:
    """A file's text from a ``readf`` answer (``F BASE64``), or None (``M``: missing)."""
    return base64.b64decode(row[2:]).decode(errors="replace") if row.startswith("F") else None

#: The options ``connectors: ssh: NAME:`` of settings.yaml may give.
NAMED_OPTIONS = frozenset({"host", "user", "port", "ssh_config", "known_hosts", "identity", "options", "python"})


def _named_host(name: str) -> dict[str, Any]:
    """The options settings.yaml gives the SSH host ``name`` (``connectors: ssh: NAME:``), if any."""
    from xpm_core.plugin import load_settings

    settings = load_settings()
    named = dict(settings.connectors.get("ssh", {}).get(name) or {})
    unknown = sorted(set(named) - NAMED_OPTIONS)
    if unknown:
        raise SshError(
            f"{settings.source}: connectors.ssh.{name}: unknown option(s) {', '.join(unknown)} "
            f"(known: {', '.join(sorted(NAMED_OPTIONS))})"
        )
    return named
