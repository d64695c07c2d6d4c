"""xpm-slurm: the Slurm launcher for xpm (sbatch, job arrays, batched sacct/squeue polling, scancel).

``from xpm_slurm import SlurmLauncher, SlurmOptions`` works, but imports nothing until a name is
used: the entry module (``xpm_slurm.plugin``) and job processes (``xpm_slurm.remaining``) stay light.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_LAZY_EXPORTS = {
    "SlurmLauncher": "xpm_slurm.launcher",
    "SlurmOptions": "xpm_slurm.options",
    "SlurmSettings": "xpm_slurm.settings",
    "SlurmSubmitError": "xpm_slurm.submission",
    "remaining_time": "xpm_slurm.remaining",
}

__all__ = ["__version__", *_LAZY_EXPORTS]

if TYPE_CHECKING:  # pragma: no cover
    from xpm_slurm.launcher import SlurmLauncher
    from xpm_slurm.options import SlurmOptions
    from xpm_slurm.remaining import remaining_time
    from xpm_slurm.settings import SlurmSettings
    from xpm_slurm.submission import SlurmSubmitError


def __getattr__(name: str) -> Any:
    module_name = _LAZY_EXPORTS.get(name)
    if module_name is None:
        raise AttributeError(f"module 'xpm_slurm' has no attribute {name!r}")
    return getattr(importlib.import_module(module_name), name)
