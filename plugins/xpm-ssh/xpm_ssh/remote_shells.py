"""Long-lived remote ``sh`` processes that run xpm's commands, so that a command costs one round trip.

Opening an exec channel makes sshd start the user's login shell, which reads its start-up files
(``module`` systems, conda or pyenv set-ups: often tenths of a second). A few ``sh`` started
once per connection and fed one command after another avoid that. Each command's output goes to
files of the shell's private directory and comes back framed by a marker line with its exit
code and sizes, so any output, even binary or without a final newline, is returned exactly.
"""

from __future__ import annotations

import base64
import queue
import shlex
import threading
import uuid
from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:
    import paramiko

#: Shells kept per connection: commands of concurrent threads run in parallel up to this.
POOL_SIZE = 4

_START = r"""
T=$(mktemp -d "${TMPDIR:-/tmp}/xpm-ssh.XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT
echo __MARK__ ready
"""

_REQUEST = r"""
__INPUT__ { __LINE__ ; } <"$T/i" >"$T/o" 2>"$T/e"; c=$?
echo "__MARK__ $c $(wc -c <"$T/o") $(wc -c <"$T/e")"; cat "$T/o" "$T/e"
"""


class ShellBroken(Exception):
    """The shell or its channel went away; the caller reconnects or uses another shell."""


class RemoteShell:
    """One ``sh`` on the host, running one command at a time."""

    def __init__(self, channel: paramiko.Channel) -> None:
        self.channel = channel
        self.mark = f"XPM-{uuid.uuid4().hex}"
        channel.exec_command("exec sh")
        self._stdin = channel.makefile_stdin("wb")
        self._stdout = channel.makefile("rb")
        self._send(_START.replace("__MARK__", self.mark))
        if self._stdout.readline().decode(errors="replace").strip() != f"{self.mark} ready":
            raise ShellBroken("the remote shell did not start")

    def _send(self, text: str) -> None:
        self._stdin.write(text.encode())
        self._stdin.flush()

    def execute(self, line: str, input: str | None, timeout: float | None) -> tuple[int, bytes, bytes]:
        """Run ``line``; its exit code, standard output and standard error."""
        if input:
            encoded = base64.b64encode(input.encode()).decode()
            feed = f'printf %s {shlex.quote(encoded)} | base64 -d >"$T/i";'
        else:
            feed = ': >"$T/i";'
        request = _REQUEST.replace("__MARK__", self.mark).replace("__INPUT__", feed).replace("__LINE__", line)
        self.channel.settimeout(timeout)
        try:
            self._send(request)
            header = self._stdout.readline().decode(errors="replace").split()
            if len(header) != 4 or header[0] != self.mark:
                raise ShellBroken(f"unexpected answer from the remote shell: {' '.join(header)[:200]!r}")
            code, out_size, err_size = (int(x) for x in header[1:])
            out = self._stdout.read(out_size) if out_size else b""
            err = self._stdout.read(err_size) if err_size else b""
            if len(out) != out_size or len(err) != err_size:
                raise ShellBroken("the remote shell's answer was cut")
            return code, out, err
        except TimeoutError:
            self.close()
            raise
        except (OSError, EOFError, ValueError) as exc:
            self.close()
            raise ShellBroken(str(exc)) from exc

    @property
    def alive(self) -> bool:
        return not self.channel.closed and not self.channel.exit_status_ready()

    def close(self) -> None:
        self.channel.close()


class ShellPool:
    """Up to ``POOL_SIZE`` shells on one transport, handed to one thread at a time."""

    def __init__(self, open_channel: Callable[[], paramiko.Channel]) -> None:
        self._open_channel = open_channel
        self._idle: queue.LifoQueue[RemoteShell] = queue.LifoQueue()
        self._count = 0
        self._lock = threading.Lock()

    def execute(self, line: str, input: str | None, timeout: float | None) -> tuple[int, bytes, bytes]:
        shell = self._take()
        try:
            result = shell.execute(line, input, timeout)
        except BaseException:
            self._discard(shell)
            raise
        self._idle.put(shell)
        return result

    def _take(self) -> RemoteShell:
        while True:
            try:
                shell = self._idle.get_nowait()
            except queue.Empty:
                with self._lock:
                    grow = self._count < POOL_SIZE
                    if grow:
                        self._count += 1
                if not grow:
                    try:
                        shell = self._idle.get(timeout=0.1)
                    except queue.Empty:
                        continue  # a shell may have been discarded meanwhile: room to grow
                else:
                    try:
                        return RemoteShell(self._open_channel())
                    except BaseException:
                        with self._lock:
                            self._count -= 1
                        raise
            if shell.alive:
                return shell
            self._discard(shell)

    def _discard(self, shell: RemoteShell) -> None:
        shell.close()
        with self._lock:
            self._count -= 1

    def close(self) -> None:
        while True:
            try:
                self._idle.get_nowait().close()
            except queue.Empty:
                break
        with self._lock:
            self._count = 0
