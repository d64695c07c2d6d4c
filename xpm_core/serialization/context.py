"""experimaestro's serialization context: ``save`` copies ``DataPath`` files next to the definition.

``Config.__xpm_serialize__(context)`` returns ``{name: SerializedPath}``; the default one serializes
every ``DataPath`` parameter with :meth:`SerializationContext.serialize`, which copies the file or
folder (hard links when possible) to ``save_directory/<parameter path>``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator, List, Optional, Protocol, Set, Union

from xpm_core.plugin.value_serializer import SerializationContext as ValueSerializationContext

if TYPE_CHECKING:
    from xpm_core.config.objects import ConfigMixin


def shallow_copy(src_path: Path, dest_path: Path) -> None:
    """Copy a file or a folder, hard-linking files when the file system allows it."""
    if src_path.is_file():
        try:
            dest_path.hardlink_to(src_path)
        except (NotImplementedError, OSError):
            shutil.copy(src_path, dest_path)
        return
    if dest_path.exists():
        shutil.rmtree(dest_path)
    os.mkdir(dest_path)
    for child in src_path.iterdir():
        shallow_copy(child, dest_path / child.name)


class SerializedPath:
    """A data path as saved: relative to the save directory (or absolute without one)."""

    def __init__(self, path: Union[str, Path], is_folder: Optional[bool] = None) -> None:
        self.path = Path(path)
        self.is_folder = self.path.is_dir() if is_folder is None else is_folder

    def __repr__(self) -> str:
        return f"SerializedPath({str(self.path)!r}, is_folder={self.is_folder})"


class SerializationContext(ValueSerializationContext):
    """What ``__xpm_serialize__`` receives: where data files go (``save_directory``) and the current
    parameter path (``var_path``)."""

    def __init__(
        self,
        *,
        save_directory: Optional[Path] = None,
        job_path: Optional[Path] = None,
        workspace_path: Optional[Path] = None,
    ) -> None:
        super().__init__(job_path=job_path, workspace_path=workspace_path)
        self.save_directory = None if save_directory is None else Path(save_directory)
        self.var_path: List[str] = []
        self.serialized: Set[int] = set()
        self.serialized_paths: Set[str] = set()

    def serialize(self, var_path: List[str], data_path: Path, config: ConfigMixin) -> SerializedPath:
        """Copy ``data_path`` to ``save_directory/<var_path>``; a path used twice is an error."""
        if self.save_directory is None:
            return SerializedPath(data_path)
        path = Path(*var_path)
        if str(path) in self.serialized_paths:
            raise ValueError(f"Serialization path conflict: '{path}' is already used")
        self.serialized_paths.add(str(path))
        if not data_path.exists():
            raise FileNotFoundError(
                f"cannot save the data path {'.'.join(var_path)} of {config.__xpmtype__.display_name}: "
                f"{data_path} does not exist"
            )
        destination = self.save_directory / path
        destination.parent.mkdir(parents=True, exist_ok=True)
        shallow_copy(data_path, destination)
        return SerializedPath(path, data_path.is_dir())

    @contextlib.contextmanager
    def push(self, varname: str) -> Iterator[List[str]]:
        """Within the block, ``var_path`` ends with ``varname``."""
        self.var_path.append(varname)
        try:
            yield self.var_path
        finally:
            self.var_path.pop()

    @property
    def depth(self) -> int:
        """The depth in the configuration tree (0 for the saved object)."""
        return len(self.var_path)


class SerializedPathLoader(Protocol):
    """Turns a saved data path back into a path on disk."""

    def __call__(self, path: Union[Path, str, SerializedPath]) -> Path: ...


def serialized_path_json(value: SerializedPath) -> dict[str, Any]:
    """The JSON form experimaestro writes for a saved data path."""
    return {"type": "path.serialized", "value": str(value.path), "is_folder": value.is_folder}


def default_xpm_serialize(config: Any, context: SerializationContext) -> dict[str, SerializedPath]:
    """Every set ``DataPath`` parameter of ``config``, saved through ``context``."""
    result: dict[str, SerializedPath] = {}
    for argument, value in config.__xpm__.xpmvalues():
        if argument.is_data and value is not None:
            result[argument.name] = context.serialize([*context.var_path, argument.name], Path(value), config)
    return result
