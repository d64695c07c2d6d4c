"""experimaestro's ``experimaestro.core.serialization`` (porting by changing imports): save and load."""

from xpm_core.serialization.experiment_info import ExperimentInfo, load_configs, load_xp_info
from xpm_core.serialization.files import (
    deserialize,
    from_state_dict,
    load,
    save,
    serialize,
    state_dict,
)
from xpm_core.serialization.params import from_task_dir

__all__ = [
    "ExperimentInfo",
    "deserialize",
    "from_state_dict",
    "from_task_dir",
    "load",
    "load_configs",
    "load_xp_info",
    "save",
    "serialize",
    "state_dict",
]
