"""The errors users see from xpm-ssh: one line naming the host, what went wrong and what to do."""

from __future__ import annotations


class SshError(RuntimeError):
    """A problem with an SSH host that retrying will not solve (host key, keys, interpreter)."""


class SshHostKeyError(SshError):
    """The host's key is unknown, or differs from the one recorded in known_hosts."""


class SshAuthenticationError(SshError):
    """The host refused every key offered (keys and agent only: xpm never sends a password)."""


class SshUnreachableError(ConnectionError):
    """The host cannot be reached now (network, server down); callers may try again later."""
