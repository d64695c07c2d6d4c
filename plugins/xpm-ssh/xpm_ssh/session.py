"""One SSH transport per host per process, shared by every connector to that host, re-opened after a drop.

Every file operation (SFTP) and every command (exec channel) of every ``SshConnector`` of the
driver to the same destination goes through the one transport this module keeps for it, so a
driver following a thousand jobs on a host holds a single SSH connection to it.
"""

from __future__ import annotations

import os
import socket
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from xpm_ssh.errors import SshAuthenticationError, SshError, SshHostKeyError, SshUnreachableError
from xpm_ssh.remote_shells import RemoteShell, ShellBroken, ShellPool

if TYPE_CHECKING:
    import fabric
    import paramiko

#: Seconds to wait for the TCP connection and the SSH handshake.
CONNECT_TIMEOUT = 15.0
#: Bytes a channel may receive before acknowledging (paramiko's default is 2 MiB).
WINDOW_SIZE = 16 << 20


@attrs.frozen
class Destination:
    """Where to connect: what the user wrote, resolved later through ~/.ssh/config."""

    host: str
    user: str | None = None
    port: int | None = None
    #: An ssh_config file read instead of ~/.ssh/config (tests, or ``connectors:`` settings).
    ssh_config: str | None = None
    #: Extra known_hosts files (besides ~/.ssh/known_hosts and UserKnownHostsFile).
    known_hosts: tuple[str, ...] = ()
    #: Private key files (besides IdentityFile of ssh_config, ~/.ssh/id_* and the agent).
    identity: tuple[str, ...] = ()
    #: OpenSSH options in ``Key=Value`` form, as ``ssh -o`` takes them.
    options: tuple[str, ...] = ()


class Session:
    """The shared transport to one destination, opened on demand and re-opened after a drop."""

    def __init__(self, destination: Destination) -> None:
        self.destination = destination
        self._lock = threading.RLock()
        self._connection: fabric.Connection | None = None
        self._sftp: paramiko.SFTPClient | None = None
        self._shells: ShellPool | None = None
        self._keeper: RemoteShell | None = None
        self._keeper_fds: set[int] = set()
        self._keeper_lock = threading.Lock()
        #: Held around each SFTP operation (paramiko's client is not safe for concurrent requests).
        self.sftp_lock = threading.Lock()
        #: How many SSH connections this session opened (1 unless the connection dropped).
        self.connections_opened = 0
        #: How many channels (remote shells, locks) it opened, and commands it ran.
        self.channels_opened = 0
        self.commands_run = 0

    # ---- naming --------------------------------------------------------------------------

    @property
    def label(self) -> str:
        """How errors name the host: ``user@host:port`` as the user wrote it."""
        d = self.destination
        user = f"{d.user}@" if d.user else ""
        port = f":{d.port}" if d.port else ""
        return f"{user}{d.host}{port}"

    # ---- the transport -------------------------------------------------------------------

    def transport(self) -> paramiko.Transport:
        """The live transport, connecting (again) when there is none."""
        with self._lock:
            connection = self._connection
            if connection is not None and connection.transport is not None and connection.transport.is_active():
                return connection.transport
            self._drop()
            self._connection = self._connect()
            self.connections_opened += 1
            assert self._connection.transport is not None
            return self._connection.transport

    def sftp(self) -> paramiko.SFTPClient:
        """The SFTP channel of the live transport."""
        with self._lock:
            transport = self.transport()
            if self._sftp is None or self._sftp.get_channel() is None or self._sftp.get_channel().closed:  # type: ignore[union-attr]
                import paramiko

                try:
                    self._sftp = paramiko.SFTPClient.from_transport(transport)
                except (paramiko.SSHException, EOFError, OSError) as exc:
                    self._drop()
                    raise SshUnreachableError(f"SSH host {self.label}: cannot open SFTP ({exc})") from exc
            assert self._sftp is not None
            return self._sftp

    def open_channel(self) -> paramiko.Channel:
        """A new session channel, reconnecting once when the transport turns out dead."""
        import paramiko

        for attempt in (1, 2):
            transport = self.transport()
            try:
                # A wide window: large answers (a 10,000-job list) stream without stalls.
                channel = transport.open_session(window_size=WINDOW_SIZE, timeout=CONNECT_TIMEOUT)
                self.channels_opened += 1
                return channel
            except (paramiko.SSHException, EOFError, OSError) as exc:
                with self._lock:
                    self._drop()
                if attempt == 2:
                    raise SshUnreachableError(f"SSH host {self.label}: the connection dropped ({exc})") from exc
        raise AssertionError("unreachable")

    def execute(self, line: str, *, input: str | None = None, timeout: float | None = None) -> tuple[int, bytes, bytes]:
        """Run a shell command line in one of the connection's long-lived remote shells."""
        with self._lock:
            self.transport()
            if self._shells is None:
                self._shells = ShellPool(self.open_channel)
            shells = self._shells
        try:
            result = shells.execute(line, input, timeout)
        except ShellBroken as exc:
            self.mark_broken()
            raise SshUnreachableError(f"SSH host {self.label}: the connection dropped ({exc})") from exc
        self.commands_run += 1
        return result

    def try_lock(self, path: str) -> int | None:
        """Try once to take an flock on ``path`` in the lock keeper shell: its fd, or None when busy.

        The keeper is one more long-lived remote ``sh`` that holds the locks the driver takes
        without waiting (the scheduler's job locks) as open file descriptors: no channel, no
        login shell per lock. They are released with the keeper (the driver dies, the
        connection drops). :raises LookupError: when the keeper's descriptors are all in use.
        """
        import shlex

        with self._keeper_lock:
            free = sorted(set(range(3, 10)) - self._keeper_fds)
            if not free:
                raise LookupError("no free descriptor in the lock keeper")
            fd = free[0]
            quoted = shlex.quote(path)
            line = (
                f"if : 2>/dev/null >>{quoted}; then exec {fd}>>{quoted}; "
                f"if flock -n {fd}; then echo locked; else exec {fd}>&-; echo busy; fi; "
                f"else echo 'cannot open {path}' >&2; fi"
            )
            code, out, err = self._keeper_execute(line)
            answer = out.decode().strip()
            if answer == "locked":
                self._keeper_fds.add(fd)
                return fd
            if answer == "busy":
                return None
            raise SshError(f"SSH host {self.label}: cannot lock {path}: {err.decode(errors='replace').strip()}")

    def unlock(self, fd: int) -> None:
        """Release a lock :meth:`try_lock` took (nothing to do if the keeper died: it is released)."""
        with self._keeper_lock:
            if fd not in self._keeper_fds:
                return
            self._keeper_fds.discard(fd)
            try:
                self._keeper_execute(f"flock -u {fd}; exec {fd}>&-")
            except SshUnreachableError:
                pass  # the keeper is gone, and its locks with it

    def _keeper_execute(self, line: str) -> tuple[int, bytes, bytes]:
        if self._keeper is None or not self._keeper.alive:
            self._keeper_fds.clear()  # a new keeper holds nothing
            self._keeper = RemoteShell(self.open_channel())
        try:
            return self._keeper.execute(line, None, 60)
        except (ShellBroken, TimeoutError) as exc:
            self._keeper = None
            self._keeper_fds.clear()
            raise SshUnreachableError(f"SSH host {self.label}: the connection dropped ({exc})") from exc

    def mark_broken(self) -> None:
        """Forget the transport (an operation on it failed): the next one reconnects."""
        with self._lock:
            self._drop()

    def close(self) -> None:
        with self._lock:
            self._drop()

    def _drop(self) -> None:
        if self._keeper is not None:
            self._keeper.close()
            self._keeper = None
            self._keeper_fds.clear()
        if self._shells is not None:
            self._shells.close()
            self._shells = None
        if self._sftp is not None:
            try:
                self._sftp.close()
            except Exception:  # noqa: BLE001 - closing a dead channel may fail in any way
                pass
            self._sftp = None
        if self._connection is not None:
            try:
                self._connection.close()
            except Exception:  # noqa: BLE001
                pass
            self._connection = None

    def _connect(self) -> fabric.Connection:
        import paramiko

        connection = _fabric_connection(self.destination)
        _strict_host_keys(connection, self.destination)
        if connection.gateway is not None and not isinstance(connection.gateway, str):
            _strict_host_keys(connection.gateway, self.destination)  # ProxyJump hosts are checked too
        where = f"{connection.user}@{connection.host}:{connection.port}"
        try:
            connection.open()
        except paramiko.BadHostKeyException as exc:
            raise SshHostKeyError(
                f"SSH host {self.label} ({where}) presented a {exc.key.get_name()} key that differs from "
                "the one in known_hosts: it may have been reinstalled, or someone is in the middle; "
                f"check with its administrator, then remove the old key with 'ssh-keygen -R {_known_name(connection)}'"
                " and connect once with ssh to record the new one"
            ) from None
        except paramiko.AuthenticationException as exc:
            raise SshAuthenticationError(
                f"SSH host {self.label} ({where}) refused the keys offered ({exc}): xpm logs in with keys "
                "or an agent only; add your public key to ~/.ssh/authorized_keys there, or name the key "
                "with IdentityFile in ~/.ssh/config"
            ) from None
        except paramiko.SSHException as exc:
            if "not found in known_hosts" in str(exc):
                raise SshHostKeyError(
                    f"SSH host {self.label} ({where}) is not in known_hosts, and xpm never trusts a host "
                    f"by itself: check its key fingerprint and record it by connecting once with "
                    f"'ssh -p {connection.port} {connection.user}@{connection.host}' (or "
                    f"'ssh-keyscan -p {connection.port} {connection.host} >> ~/.ssh/known_hosts')"
                ) from None
            raise SshUnreachableError(f"SSH host {self.label} ({where}): {exc}") from exc
        except (socket.timeout, TimeoutError) as exc:
            raise SshUnreachableError(
                f"SSH host {self.label} ({where}) did not answer within {CONNECT_TIMEOUT:.0f} s: "
                "check the host name, the port and the network"
            ) from exc
        except (OSError, EOFError) as exc:
            raise SshUnreachableError(
                f"cannot reach SSH host {self.label} ({where}): {exc}; check the host name, the port, "
                "and that its SSH server runs"
            ) from exc
        transport = connection.transport
        assert transport is not None
        transport.set_keepalive(15)  # notice a silent drop (a dead NAT entry) within a minute
        return connection


def _fabric_connection(destination: Destination) -> fabric.Connection:
    """A fabric connection configured from ssh_config (Host aliases, ProxyJump, IdentityFile)."""
    import fabric

    config = fabric.Config(ssh_config=_ssh_config(destination))
    connect_kwargs: dict[str, Any] = {"password": None}  # never a password: keys and agent only
    identities = list(destination.identity)
    host_config = config.base_ssh_config.lookup(destination.host)
    identities += [os.path.expanduser(p) for p in host_config.get("identityfile", [])]
    if identities:
        connect_kwargs["key_filename"] = identities
    if str(host_config.get("identitiesonly", "no")).lower() == "yes":
        connect_kwargs["look_for_keys"] = False
        connect_kwargs["allow_agent"] = False
    return fabric.Connection(
        destination.host,
        user=destination.user,
        port=destination.port,
        config=config,
        connect_timeout=int(CONNECT_TIMEOUT),
        connect_kwargs=connect_kwargs,
    )


def _ssh_config(destination: Destination) -> paramiko.SSHConfig:
    """``-o Key=Value`` options first (ssh_config keeps the first value given), then the file."""
    import paramiko

    lines = []
    if destination.options:
        lines.append(f"Host {destination.host}")
        for option in destination.options:
            key, sep, value = option.partition("=")
            if not sep or not key.strip():
                raise SshError(f"SSH option {option!r} is not of the form Key=Value (as in 'ssh -o Key=Value')")
            lines.append(f"    {key.strip()} {value.strip()}")
    config = paramiko.SSHConfig.from_text("\n".join(lines) + "\n")
    path = os.path.expanduser(destination.ssh_config or "~/.ssh/config")
    if os.path.isfile(path):
        with open(path) as stream:
            config.parse(stream)
    elif destination.ssh_config:
        raise SshError(f"the ssh_config file {path} given for SSH host {destination.host} does not exist")
    return config


def _strict_host_keys(connection: fabric.Connection, destination: Destination) -> None:
    """Check host keys against known_hosts and refuse unknown hosts (fabric accepts them by default)."""
    import paramiko

    client = connection.client
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    files = [os.path.expanduser("~/.ssh/known_hosts"), *destination.known_hosts]
    configured = connection.ssh_config.get("userknownhostsfile")
    if configured:
        files += [os.path.expanduser(p) for p in str(configured).split()]
    for path in files:
        if Path(path).is_file():
            client.load_host_keys(path)


def _known_name(connection: fabric.Connection) -> str:
    return connection.host if connection.port == 22 else f"[{connection.host}]:{connection.port}"


_sessions: dict[Destination, Session] = {}
_sessions_lock = threading.Lock()


def session_for(destination: Destination) -> Session:
    """The one session of this process to ``destination``."""
    with _sessions_lock:
        session = _sessions.get(destination)
        if session is None:
            session = _sessions[destination] = Session(destination)
        return session


def all_sessions() -> list[Session]:
    """Every session of this process (for counts in benchmarks and tests)."""
    with _sessions_lock:
        return list(_sessions.values())
