"""``params.json`` of a job directory (version 3): writing it for the runtime, reading it back (``from_task_dir``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import IO, Any, Dict, Optional, Union

from xpm_core.plugin.value_serializer import DeserializationContext, SerializationContext
from xpm_core.serialization.files import from_state_dict
from xpm_core.serialization.objects import ObjectWriter

#: Version of the params.json format written; readers refuse newer versions.
PARAMS_VERSION = 3
PARAMS_FILE = "params.json"


def params_dict(
    task: Any, *, workspace_path: Path, job_path: Path, extra: Optional[Dict[str, Any]] = None
) -> Dict[str, Any]:
    """The content of ``params.json`` for a sealed task: its records, last the task (paths relative)."""
    from xpm_core import __version__  # noqa: PLC0415

    writer = ObjectWriter(SerializationContext(job_path=job_path, workspace_path=workspace_path))
    data: Dict[str, Any] = {
        "workspace": str(Path(workspace_path).absolute()),
        "version": PARAMS_VERSION,
        "xpm": __version__,
        "objects": writer.records(task),
    }
    data.update(extra or {})
    return data


def write_params(
    task: Any,
    out: IO[str],
    *,
    workspace_path: Path,
    job_path: Path,
    extra: Optional[Dict[str, Any]] = None,
) -> None:
    """Write ``params.json`` (one line) for ``task`` to ``out``; ``extra`` adds top-level keys (carbon, ...)."""
    json.dump(params_dict(task, workspace_path=workspace_path, job_path=job_path, extra=extra), out)


def check_params_version(params: Dict[str, Any], source: str = PARAMS_FILE) -> None:
    """Refuse a params.json written in a newer format than this xpm reads."""
    version = params.get("version", 0)
    if not isinstance(version, int) or version > PARAMS_VERSION:
        raise ValueError(
            f"{source} has format version {version!r}; this xpm reads up to version {PARAMS_VERSION}: upgrade xpm"
        )


def from_task_dir(
    path: Union[str, Path], as_instance: bool = False, partial_loading: Optional[bool] = None
) -> Any:
    """The task stored in job directory ``path`` (its ``params.json``), with its parameters and identifier."""
    directory = Path(path)
    params_path = directory / PARAMS_FILE
    with params_path.open("rt") as fh:
        content = json.load(fh)
    check_params_version(content, str(params_path))
    workspace = content.get("workspace")
    context = DeserializationContext(
        job_path=directory.resolve(), workspace_path=Path(workspace) if workspace else None
    )
    objects = content["objects"]
    state = {"objects": objects, "data": {"type": "python", "value": objects[-1]["id"]}}
    return from_state_dict(state, context, as_instance=as_instance, partial_loading=partial_loading)
