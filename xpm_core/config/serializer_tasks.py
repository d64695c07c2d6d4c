"""``SerializationLWTask``/``PathSerializationLWTask``: init tasks that restore a configuration's state from data."""

from __future__ import annotations

from typing import Any, List

from xpm_core.config.objects import Config, LightweightTask
from xpm_core.config.params import DataPath, Param


class SerializationLWTask(LightweightTask):
    """An init task holding the configuration (``value``) whose state it restores when executed."""

    # experimaestro's type identifiers: tasks and outputs using these keep their 2.7.0 identifiers
    __xpmid__ = "experimaestro.core.serializers.SerializationLWTask"

    value: Param[Config]
    """The configuration that will be restored"""

    registered: List[Any]

    def __post_init__(self) -> None:
        super().__post_init__()
        self.registered = []

    def register(self, config: Any) -> None:
        """(execution only) Record a configuration that uses the restored one."""
        self.registered.append(config)


class PathSerializationLWTask(SerializationLWTask):
    """A :class:`SerializationLWTask` whose data is a file or folder (``path``, saved with ``save``)."""

    __xpmid__ = "experimaestro.core.serializers.PathSerializationLWTask"

    path: DataPath
    """Path containing the data"""
