"""xpm-oar: the OAR launcher for xpm (oarsub -S, job arrays, batched oarstat polling, oardel).

``from xpm_oar import OarLauncher, OarOptions`` works, but imports nothing until a name is used:
the entry module (``xpm_oar.plugin``) and job processes (``xpm_oar.remaining``) stay light.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_LAZY_EXPORTS = {
    "OarLauncher": "xpm_oar.launcher",
    "OarOptions": "xpm_oar.options",
    "OarSettings": "xpm_oar.settings",
    "OarSubmitError": "xpm_oar.submission",
    "remaining_time": "xpm_oar.remaining",
}

__all__ = ["__version__", *_LAZY_EXPORTS]

if TYPE_CHECKING:  # pragma: no cover
    from xpm_oar.launcher import OarLauncher
    from xpm_oar.options import OarOptions
    from xpm_oar.remaining import remaining_time
    from xpm_oar.settings import OarSettings
    from xpm_oar.submission import OarSubmitError


def __getattr__(name: str) -> Any:
    module_name = _LAZY_EXPORTS.get(name)
    if module_name is None:
        raise AttributeError(f"module 'xpm_oar' has no attribute {name!r}")
    return getattr(importlib.import_module(module_name), name)
