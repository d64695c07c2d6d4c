"""Job folders whose identifier changed because a configuration was deprecated (``xpm deprecated``).

experimaestro's ``deprecated list --fix`` lets a workspace keep its results when a class is
deprecated: the job's configuration, reloaded with today's code, gets a new identifier; a link
``jobs/<new task id>/<new identifier>`` to the old folder makes the new plan find it
(``--cleanup`` moves the folder instead and rewrites its ``params.json``).
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any, Iterator, List, Optional

import attrs

from xpm_core.plugin.value_serializer import DeserializationContext
from xpm_core.serialization.objects import load_objects
from xpm_core.serialization.params import PARAMS_FILE, check_params_version

logger = logging.getLogger(__name__)


@attrs.frozen
class ChangedJob:
    """A job folder whose configuration now has another identifier."""

    path: Path
    task_id: str
    old_identifier: str
    new_task_id: str
    new_identifier: str

    @property
    def new_path(self) -> Path:
        return self.path.parents[1] / self.new_task_id / self.new_identifier


def load_task(job_dir: Path, *, keep_identifiers: bool) -> Any:
    """The task of a job folder; its identifiers recomputed with today's classes unless kept."""
    params = json.loads((job_dir / PARAMS_FILE).read_text())
    check_params_version(params, str(job_dir / PARAMS_FILE))
    workspace = params.get("workspace")
    context = DeserializationContext(
        job_path=job_dir.resolve(), workspace_path=Path(workspace) if workspace else None
    )
    records = params["objects"]
    objects = load_objects(records, context, discard_id=not keep_identifiers)
    return objects[records[-1]["id"]]


def changed_jobs(workspace: Path, errors: Optional[List[str]] = None) -> Iterator[ChangedJob]:
    """Job folders (not links) of ``workspace`` whose recomputed identifier differs from their name."""
    for params in sorted((workspace / "jobs").glob(f"*/*/{PARAMS_FILE}")):
        job_dir = params.parent
        if job_dir.is_symlink():
            continue
        try:
            task = load_task(job_dir, keep_identifiers=False)
            new_identifier = task.__identifier__().all.hex()
        except Exception as error:  # a job of a class that no longer imports: say so, go on
            if errors is not None:
                errors.append(f"{job_dir}: cannot load its configuration ({type(error).__name__}: {error})")
            continue
        if new_identifier != job_dir.name:
            yield ChangedJob(
                path=job_dir,
                task_id=job_dir.parent.name,
                old_identifier=job_dir.name,
                new_task_id=task.__xpmtype__.identifier,
                new_identifier=new_identifier,
            )


def remove_links(workspace: Path) -> List[Path]:
    """Remove the job links (``--cleanup``); returns them."""
    removed = []
    for params in (workspace / "jobs").glob(f"*/*/{PARAMS_FILE}"):
        if params.parent.is_symlink():
            params.parent.unlink()
            removed.append(params.parent)
    return removed


def fix(job: ChangedJob, *, move: bool) -> str:
    """Make the job reachable under its new identifier: a link, or (``move``) the folder itself."""
    from xpm_core.serialization.params import params_dict  # noqa: PLC0415

    new_path = job.new_path
    new_path.parent.mkdir(parents=True, exist_ok=True)
    if new_path.is_symlink() and not new_path.exists():
        new_path.unlink()  # a dangling link from an earlier fix
    if new_path.exists():
        if new_path.resolve() != job.path.resolve():
            return f"kept {new_path}: it exists and is not {job.path}"
        return f"already fixed: {new_path}"
    if not move:
        new_path.symlink_to(job.path)
        return f"linked {new_path} -> {job.path}"
    task = load_task(job.path, keep_identifiers=False)
    params_file = job.path / PARAMS_FILE
    params = json.loads(params_file.read_text())
    fresh = params_dict(task, workspace_path=Path(params.get("workspace") or job.path.parents[2]), job_path=new_path)
    params["objects"] = fresh["objects"]
    temporary = params_file.with_suffix(".json.tmp")
    temporary.write_text(json.dumps(params))
    os.replace(temporary, params_file)
    job.path.rename(new_path)
    return f"moved {job.path} to {new_path}"


def identifier_differences(job_dir: Path) -> List[str]:
    """Where a job's stored identifiers differ from today's, from the task down (``deprecated diff``)."""
    from xpm_core.config.objects import ConfigMixin  # noqa: PLC0415

    stored = load_task(job_dir, keep_identifiers=True)
    current = load_task(job_dir, keep_identifiers=False)
    lines: List[str] = []
    seen: set[int] = set()

    def check(path: str, old: Any, new: Any) -> None:
        if isinstance(old, ConfigMixin) and isinstance(new, ConfigMixin):
            if id(old) in seen:
                return
            seen.add(id(old))
            old_id, new_id = old.__identifier__().all.hex(), new.__identifier__().all.hex()
            if old_id != new_id:
                lines.append(f"{path} differ: {new_id} vs {old_id}")
                for name in old.__xpmtype__.arguments:
                    check(f"{path}/{name}", old.__xpm__.values.get(name), new.__xpm__.values.get(name))
        elif isinstance(old, list) and isinstance(new, list):
            for index, (a, b) in enumerate(zip(old, new)):
                check(f"{path}.{index}", a, b)
        elif isinstance(old, dict) and isinstance(new, dict):
            for key, value in old.items():
                check(f"{path}.{key}", value, new.get(key))

    check(".", stored, current)
    return lines
