"""An experiment run's ``objects.jsonl``: streamed as tasks are submitted, read back by ``load_xp_info``."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import IO, Any, Dict, Union

import attrs

from xpm_core.plugin.value_serializer import DeserializationContext, SerializationContext
from xpm_core.serialization.files import from_state_dict
from xpm_core.serialization.objects import ObjectWriter, load_objects

OBJECTS_FILE = "objects.jsonl"


class ObjectsWriter:
    """Appends configuration records to ``objects.jsonl``; a sub-configuration shared by several
    writes is written once, so readers get it back as one object (paths are absolute)."""

    def __init__(self, path: Union[str, Path]) -> None:
        self.path = Path(path)
        self._writer = ObjectWriter(SerializationContext())
        self._file: IO[str] | None = self.path.open("a")

    def write(self, config: Any) -> None:
        """Append the records of ``config`` not written yet (the last one is ``config``'s)."""
        if self._file is None:
            raise ValueError(f"{self.path} is closed")
        for record in self._writer.records(config):
            self._file.write(json.dumps(record, separators=(",", ":")) + "\n")
        self._file.flush()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def __enter__(self) -> ObjectsWriter:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


@attrs.define
class ExperimentInfo:
    """What ``load_xp_info`` returns: configurations by job identifier, actions by action identifier."""

    jobs: Dict[str, Any]
    actions: Dict[str, Any]


def _read_jsonl(path: Path) -> list:
    records = []
    if path.exists():
        with path.open() as fh:
            for line in fh:
                line = line.strip()
                if line:
                    records.append(json.loads(line))
    return records


def load_xp_info(path: Union[str, Path]) -> ExperimentInfo:
    """Configurations of the jobs (and actions) of an experiment run directory.

    Job identifiers come from ``jobs.jsonl``, action identifiers from ``status.json``; all of
    ``objects.jsonl`` is loaded at once, so a sub-configuration shared by two tasks comes back as
    one Python object. Runs written before ``objects.jsonl`` existed are read from ``configs.json``.
    """
    run_dir = Path(path)
    objects_path = run_dir / OBJECTS_FILE
    if not objects_path.exists():
        legacy = run_dir / "configs.json"
        if legacy.exists():
            return _load_configs_json(legacy)
        raise FileNotFoundError(
            f"no {OBJECTS_FILE} (nor legacy configs.json) in {run_dir}: is it an experiment run directory?"
        )

    job_ids = {entry["job_id"] for entry in _read_jsonl(run_dir / "jobs.jsonl")}
    action_ids: set[str] = set()
    status_path = run_dir / "status.json"
    if status_path.exists():
        with status_path.open() as fh:
            action_ids = set(json.load(fh).get("actions", {}))

    records = _read_jsonl(objects_path)
    objects = load_objects(records, DeserializationContext())
    jobs: Dict[str, Any] = {}
    actions: Dict[str, Any] = {}
    for record in records:
        identifier = record.get("identifier")
        if identifier in job_ids:
            jobs[identifier] = objects[record["id"]]
        elif identifier in action_ids:
            actions[identifier] = objects[record["id"]]
    return ExperimentInfo(jobs=jobs, actions=actions)


def _load_configs_json(path: Path) -> ExperimentInfo:
    with path.open() as fh:
        data = json.load(fh)
    job_tags = data.pop("tags", {})
    configs = from_state_dict(data)
    for job_id, values in job_tags.items():
        if job_id in configs:
            for name, value in values.items():
                configs[job_id].__xpm__.addtag(name, value)
    return ExperimentInfo(jobs=configs, actions={})


def load_configs(path: Union[str, Path]) -> Dict[str, Any]:
    """Deprecated: ``load_xp_info(path).jobs``."""
    warnings.warn(
        "load_configs() is deprecated, use load_xp_info() instead", DeprecationWarning, stacklevel=2
    )
    return load_xp_info(path).jobs
