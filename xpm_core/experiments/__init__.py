"""YAML-driven experiments (``xpm run-experiment``): configuration schemas, grid search, the run helper.

Names are experimaestro's, so ``from experimaestro.experiments import configuration`` ports by
changing the package. Exports are lazy: importing this package does not import YAML or cattrs.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_LAZY_EXPORTS = {
    "configuration": "xpm_core.experiments.schema",
    "ConfigurationBase": "xpm_core.experiments.schema",
    "DirtyGitAction": "xpm_core.experiments.schema",
    "ExperimentHelper": "xpm_core.experiments.helper",
    "GridSearch": "xpm_core.experiments.grid",
    "GridValues": "xpm_core.experiments.grid",
    "generate_grid": "xpm_core.experiments.grid",
    "ExperimentSetupError": "xpm_core.experiments.errors",
    "mock_modules": "xpm_core.experiments.fake_modules",
}

__all__ = list(_LAZY_EXPORTS)

if TYPE_CHECKING:  # pragma: no cover
    from xpm_core.experiments.errors import ExperimentSetupError
    from xpm_core.experiments.fake_modules import mock_modules
    from xpm_core.experiments.grid import GridSearch, GridValues, generate_grid
    from xpm_core.experiments.helper import ExperimentHelper
    from xpm_core.experiments.schema import ConfigurationBase, DirtyGitAction, configuration


def __getattr__(name: str) -> Any:
    module_name = _LAZY_EXPORTS.get(name)
    if module_name is None:
        raise AttributeError(f"module 'xpm_core.experiments' has no attribute {name!r}")
    return getattr(importlib.import_module(module_name), name)
