"""experimaestro's ``experimaestro.core.objects`` (porting by changing imports): configuration objects."""

from xpm_core.config.errors import SealedError
from xpm_core.config.methods import cache
from xpm_core.config.objects import (
    Config,
    ConfigInformation,
    ConfigMixin,
    DependentMarker,
    InstanceConfig,
    LightweightTask,
    ResumableTask,
    Task,
    copyconfig,
    logger,
    sealed_set,
    setmeta,
)
from xpm_core.config.tags import ConfigWrapper
from xpm_core.runtime.prepare import Prepare
from xpm_core.serialization.objects import TaskStub

__all__ = [
    "Config",
    "ConfigInformation",
    "ConfigMixin",
    "ConfigWrapper",
    "DependentMarker",
    "InstanceConfig",
    "LightweightTask",
    "Prepare",
    "ResumableTask",
    "SealedError",
    "Task",
    "TaskStub",
    "cache",
    "copyconfig",
    "logger",
    "sealed_set",
    "setmeta",
]
