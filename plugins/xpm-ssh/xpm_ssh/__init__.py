"""xpm-ssh: run xpm jobs on other machines over SSH, and watch remote workspaces.

``from xpm_ssh import SshConnector`` works, but imports nothing (fabric, paramiko) until a name
is used: the entry module (``xpm_ssh.plugin``) stays light.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_LAZY_EXPORTS = {
    "SshConnector": "xpm_ssh.connector",
    "SshError": "xpm_ssh.errors",
    "SshHostKeyError": "xpm_ssh.errors",
    "SshAuthenticationError": "xpm_ssh.errors",
    "SshUnreachableError": "xpm_ssh.errors",
}

__all__ = ["__version__", *_LAZY_EXPORTS]

if TYPE_CHECKING:  # pragma: no cover
    from xpm_ssh.connector import SshConnector
    from xpm_ssh.errors import SshAuthenticationError, SshError, SshHostKeyError, SshUnreachableError


def __getattr__(name: str) -> Any:
    module_name = _LAZY_EXPORTS.get(name)
    if module_name is None:
        raise AttributeError(f"module 'xpm_ssh' has no attribute {name!r}")
    return getattr(importlib.import_module(module_name), name)
