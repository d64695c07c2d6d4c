"""Serialization: params.json v3, objects.jsonl, save/load, from_task_dir, load_xp_info, value serializers."""

from __future__ import annotations

import importlib
import json
import sys
import textwrap
from pathlib import Path

import pytest

from xpm_core import (
    deserialize,
    from_task_dir,
    load,
    load_xp_info,
    save,
    sealed_set,
    serialize,
    tags,
)
from xpm_core.config.generators import GenerationContext
from xpm_core.config.submission import running_experiment
from xpm_core.plugin.components import SerializerType
from xpm_core.plugin.hookspecs import hookimpl
from xpm_core.plugin.value_serializer import ValueSerializer
from xpm_core.serialization import values as value_codec
from xpm_core.serialization.experiment_info import ObjectsWriter
from xpm_core.serialization.params import PARAMS_VERSION, params_dict, write_params

# The configurations live in a real module, as they do in users' code, so that loading imports them.
PLAN_MODULE = """
from enum import Enum
from pathlib import Path
from typing import Optional

from xpm_core import Config, Task, LightweightTask, Param, Meta, field, PathGenerator


class Kind(Enum):
    SMALL = 1
    LARGE = 2


class Model(Config):
    name: Param[str]
    hidden_size: Param[int]


class Train(Task):
    model: Param[Model]
    learning_rate: Param[float]

    def execute(self):
        # Training logic here
        pass


class Rich(Task):
    model: Param[Model]
    kind: Param[Kind] = field(default=Kind.SMALL)
    sizes: Param[tuple[int, int]] = field(default=(1, 2))
    ids: Param[set[int]] = field(default_factory=set)
    table: Param[dict[str, list[float]]] = field(default_factory=dict)
    data: Meta[Path] = field(default=Path("/datasets/x"))
    out: Meta[Path] = field(default_factory=PathGenerator("out.txt"))
    scratch: Meta[Optional[Path]] = None


class Seed(LightweightTask):
    seed: Param[int]

    def execute(self):
        self.executed = True


class Chain(Config):
    v: Param[int]
    child: Param[Optional["Chain"]] = None
"""


@pytest.fixture
def plan(tmp_path, monkeypatch):
    package = tmp_path / "src" / "xpmplan"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "tasks.py").write_text(textwrap.dedent(PLAN_MODULE))
    monkeypatch.syspath_prepend(str(tmp_path / "src"))
    for name in ("xpmplan", "xpmplan.tasks"):
        sys.modules.pop(name, None)
    yield importlib.import_module("xpmplan.tasks")
    for name in ("xpmplan", "xpmplan.tasks"):
        sys.modules.pop(name, None)


class Runtime:
    """A minimal runtime: job directories, params.json, jobs.jsonl and objects.jsonl, as the runtime writes them."""

    def __init__(self, workspace: Path, run_id: str = "20260319_120000") -> None:
        self.workspace = workspace
        self.run_dir = workspace / "experiments" / "grid-search" / run_id
        self.run_dir.mkdir(parents=True)
        self.objects = ObjectsWriter(self.run_dir / "objects.jsonl")
        self.jobs = (self.run_dir / "jobs.jsonl").open("w")

    def job_path(self, task) -> Path:
        return (
            self.workspace / "jobs" / task.__xpmtype__.identifier / task.__identifier__().all.hex()
        )

    def submit(self, task, request):
        job_path = self.job_path(task)
        task.__xpm__.seal(GenerationContext(job_path))
        job_path.mkdir(parents=True, exist_ok=True)
        with (job_path / "params.json").open("w") as out:
            write_params(task, out, workspace_path=self.workspace, job_path=job_path)
        self.objects.write(task)
        entry = {
            "job_id": task.__identifier__().all.hex(),
            "task_id": task.__xpmtype__.identifier,
            "tags": dict(tags(task)),
        }
        self.jobs.write(json.dumps(entry) + "\n")
        self.jobs.flush()
        return job_path

    def close(self) -> None:
        self.objects.close()
        self.jobs.close()


def test_grid_search_plan_builds_seals_and_serializes(plan, tmp_path):
    from xpm_core import tag

    runtime = Runtime(tmp_path / "ws")
    submitted = []
    with running_experiment(runtime):
        for lr in [1e-3, 1e-4, 1e-5]:
            for size in [128, 256]:
                model = plan.Model.C(name="transformer", hidden_size=tag(size))
                task = plan.Train.C(model=model, learning_rate=tag(lr))
                task.submit()
                submitted.append(task)
    runtime.close()

    assert all(task.__xpm__.sealed for task in submitted)
    assert tags(submitted[1]) == {"hidden_size": 256, "learning_rate": 0.001}
    info = load_xp_info(runtime.run_dir)
    assert len(info.jobs) == 6 and info.actions == {}
    rows = sorted((c.learning_rate, c.model.hidden_size, c.model.name) for c in info.jobs.values())
    assert rows[0] == (1e-05, 128, "transformer")
    for task in submitted:
        loaded = info.jobs[task.__identifier__().all.hex()]
        assert loaded.__identifier__() == task.__identifier__()
        assert loaded.__xpm__.sealed and type(loaded) is plan.Train.C


def test_shared_sub_config_comes_back_as_one_object(plan, tmp_path):
    runtime = Runtime(tmp_path / "ws")
    shared = plan.Model.C(name="shared", hidden_size=8)
    first = plan.Train.C(model=shared, learning_rate=0.1)
    second = plan.Train.C(model=shared, learning_rate=0.2)
    with running_experiment(runtime):
        first.submit()
        second.submit()
    runtime.close()

    lines = (runtime.run_dir / "objects.jsonl").read_text().splitlines()
    assert len(lines) == 3  # the shared model is written once
    info = load_xp_info(runtime.run_dir)
    one = info.jobs[first.__identifier__().all.hex()]
    two = info.jobs[second.__identifier__().all.hex()]
    assert one.model is two.model
    assert one.model.__identifier__() == shared.__identifier__()


def test_params_json_v3_format(plan, tmp_path):
    runtime = Runtime(tmp_path / "ws")
    task = plan.Rich.C(model=plan.Model.C(name="m", hidden_size=2), ids={3, 1}, table={"a": [1.0]})
    task.scratch = tmp_path / "ws" / "scratch"
    with running_experiment(runtime):
        task.submit()
    runtime.close()
    job_path = runtime.job_path(task)
    params = json.loads((job_path / "params.json").read_text())

    assert params["version"] == PARAMS_VERSION == 3
    assert params["workspace"] == str((tmp_path / "ws").absolute())
    model_record, task_record = params["objects"]
    assert task_record["id"] == task_record["task"]  # last: the task itself
    assert task_record["module"] == "xpmplan.tasks" and task_record["type"] == "Rich"
    assert task_record["typename"] == "xpmplan.tasks.Rich"
    assert task_record["identifier"] == task.__identifier__().all.hex()
    fields = task_record["fields"]
    assert fields["model"] == {"type": "python", "value": model_record["id"]}
    assert fields["kind"] == {
        "type": "enum",
        "module": "xpmplan.tasks",
        "enum": "Kind",
        "value": "SMALL",
    }
    assert fields["sizes"] == [1, 2]
    assert fields["ids"]["type"] == "set" and sorted(fields["ids"]["items"]) == [1, 3]
    assert fields["out"] == {"type": "path", "value": "out.txt", "base": "job"}
    assert fields["scratch"] == {"type": "path", "value": "scratch", "base": "workspace"}
    assert fields["data"] == {"type": "path", "value": "/datasets/x"}
    assert model_record["fields"] == {"name": "m", "hidden_size": 2}


def test_from_task_dir_restores_the_task(plan, tmp_path):
    runtime = Runtime(tmp_path / "ws")
    task = plan.Rich.C(
        model=plan.Model.C(name="m", hidden_size=2), kind=plan.Kind.LARGE, sizes=(3, 4)
    )
    with running_experiment(runtime):
        task.submit()
    runtime.close()
    job_path = runtime.job_path(task)

    loaded = from_task_dir(job_path)
    assert loaded.__identifier__() == task.__identifier__()
    assert loaded.kind is plan.Kind.LARGE and loaded.sizes == (3, 4)
    assert loaded.out == job_path.resolve() / "out.txt"
    assert loaded.model.hidden_size == 2
    assert loaded.job is not None  # a loaded task counts as submitted

    instance = from_task_dir(job_path, as_instance=True)
    assert type(instance) is plan.Rich and instance.model.name == "m"
    assert instance.__xpmidentifier__ == task.__identifier__()


def test_newer_params_version_is_refused(plan, tmp_path):
    job = tmp_path / "job"
    job.mkdir()
    (job / "params.json").write_text(json.dumps({"version": 4, "objects": []}))
    with pytest.raises(ValueError, match="format version 4; this xpm reads up to version 3"):
        from_task_dir(job)


def test_reads_a_params_json_written_by_experimaestro(plan, tmp_path):
    # the shape of reference §3.8, with this module's classes
    ws = tmp_path / "ws"
    job = ws / "jobs" / "xpmplan.tasks.train" / "abc"
    job.mkdir(parents=True)
    params = {
        "workspace": str(ws),
        "version": 3,
        "experimaestro": "2.7.0",
        "objects": [
            {
                "id": 1,
                "module": "xpmplan.tasks",
                "type": "Model",
                "typename": "xpmplan.tasks.Model",
                "identifier": "11" * 32,
                "fields": {"name": "m", "hidden_size": 8},
            },
            {
                "id": 2,
                "module": "xpmplan.tasks",
                "type": "Train",
                "typename": "xpmplan.tasks.Train",
                "identifier": "22" * 32,
                "task": 2,
                "fields": {"model": {"type": "python", "value": 1}, "learning_rate": 0.5},
            },
        ],
        "carbon": {"enabled": False},
    }
    (job / "params.json").write_text(json.dumps(params))
    loaded = from_task_dir(job)
    assert loaded.__identifier__().all.hex() == "22" * 32  # stored identifiers are kept
    assert loaded.model.hidden_size == 8 and loaded.learning_rate == 0.5


def test_save_and_load_containers_and_shared_objects(plan, tmp_path):
    shared = plan.Model.C(name="s", hidden_size=1)
    value = {"models": [shared, shared], "other": plan.Model.C(name="o", hidden_size=2)}
    save(value, tmp_path / "saved")
    loaded = load(tmp_path / "saved")
    assert loaded["models"][0] is loaded["models"][1]
    assert loaded["other"].name == "o"
    assert loaded["models"][0].__identifier__() == shared.__identifier__()
    instances = load(tmp_path / "saved", as_instance=True)
    assert (
        type(instances["other"]) is plan.Model and instances["models"][0] is instances["models"][1]
    )


def test_serialize_with_init_tasks(plan, tmp_path):
    model = plan.Model.C(name="m", hidden_size=3)
    serialize(model, tmp_path / "s", init_tasks=[plan.Seed.C(seed=1)])
    config, init_tasks = deserialize(tmp_path / "s")
    assert config.hidden_size == 3 and init_tasks[0].seed == 1
    assert deserialize(tmp_path / "s", as_instance=True).hidden_size == 3


def test_sets_of_configurations_round_trip(plan, tmp_path):
    models = sealed_set(
        plan.Model.C(name="a", hidden_size=1), plan.Model.C(name="b", hidden_size=2)
    )
    save(models, tmp_path / "set")
    loaded = load(tmp_path / "set")
    assert isinstance(loaded, set) and sorted(m.name for m in loaded) == ["a", "b"]


def test_deep_chain_serializes_without_recursion(plan, tmp_path):
    previous = sys.getrecursionlimit()
    sys.setrecursionlimit(1000)
    try:
        node = None
        for i in range(2000):
            node = plan.Chain.C(v=i, child=node)
        save(node, tmp_path / "chain")
        loaded = load(tmp_path / "chain")
        assert loaded.v == 1999 and loaded.child.v == 1998
        assert loaded.__identifier__() == node.__identifier__()
    finally:
        sys.setrecursionlimit(previous)


class Point:
    """A value type unknown to the core."""

    def __init__(self, x: int, y: int) -> None:
        self.x, self.y = x, y


class PointSerializer(ValueSerializer):
    def serialize(self, value, context):
        return {"type": "test-point", "xy": [value.x, value.y]}

    def deserialize(self, data, context):
        return Point(*data["xy"])


class PointPlugin:
    @hookimpl
    def xpm_serializers(self):
        yield SerializerType(
            name="test-point",
            factory=PointSerializer,
            python_types=(f"{__name__}:Point",),
            summary="points",
        )


def test_plugin_value_types_serialize_without_core_changes(tmp_path, monkeypatch):
    from xpm_core import Config, Meta
    from xpm_core.plugin.manager import make_plugin_manager
    from xpm_core.plugin.registry import PluginRegistry

    registry = PluginRegistry(
        make_plugin_manager(load_entrypoints=False, extra_plugins=[("points", PointPlugin())])
    )
    monkeypatch.setattr(value_codec, "_registry", lambda: registry)
    value_codec.reset_serializer_cache()

    class WithPoint(Config):
        where: Meta[Point]

    config = WithPoint.C(where=Point(1, 2))
    record = params_dict(config, workspace_path=tmp_path, job_path=tmp_path)["objects"][-1]
    assert record["fields"]["where"] == {"type": "test-point", "xy": [1, 2]}
    value = value_codec.from_json(record["fields"]["where"], None, lambda ref: None)
    assert (value.x, value.y) == (1, 2)
    value_codec.reset_serializer_cache()


def test_unknown_value_type_is_a_clear_error(tmp_path):
    from xpm_core import Config, Meta
    from xpm_core.serialization.values import SerializationError

    class Opaque(Config):
        thing: Meta[object]

    with pytest.raises(
        SerializationError, match="no serializer for values of type builtins.object"
    ):
        save(Opaque.C(thing=object()), tmp_path / "x")


def test_record_identifiers_are_the_configurations_identifiers():
    from typing import Optional

    from xpm_core import Config, InstanceConfig, Param, field, state_dict
    from xpm_core.config.identifier import compute_identifier

    class Shared(InstanceConfig):
        v: Param[int] = field(default=1)

    class Pair(Config):
        a: Param[Optional[Config]] = None
        b: Param[Optional[Config]] = None

    s1, s2 = Shared.C(), Shared.C()
    inner = Pair.C(a=s1, b=s2)
    top = Pair.C(a=Pair.C(a=s2, b=inner), b=inner)
    identifiers = {record["id"]: record["identifier"] for record in state_dict(top)["objects"]}
    for config in (top, top.a, inner, s1, s2):
        assert identifiers[id(config)] == compute_identifier(config).all.hex()


MYPKG_TASKS = """
from pathlib import Path
from xpm_core import Config, ResumableTask, Param, Meta, field, param_group, partial, PathGenerator

iter_group = param_group("iter")

class Model(Config):
    hidden: Param[int]

class Learn(ResumableTask):
    checkpoints = partial(exclude_groups=[iter_group])
    model: Param[Model]
    max_iter: Param[int] = field(groups=[iter_group])
    ckpt_dir: Meta[Path] = field(default_factory=PathGenerator("ckpt", partial=checkpoints))
    attempts: Meta[Path] = field(default_factory=PathGenerator("attempts.txt"))
"""

# Written by experimaestro 2.7.0 (GENERATE_ONLY run) for the classes above; workspace path templated.
EXPERIMAESTRO_PARAMS = (
    '{"workspace": "@WS@", "version": 3, "experimaestro": "2.7.0", "objects": [{"id": 140664048408720, '
    '"module": "mypkg.tasks", "type": "Model", "typename": "mypkg.tasks.Model", "identifier": '
    '"2f33493161ba7bdce6f182763a4c812b2a1d4f200190758df8fff13b511dec00", "fields": {"hidden": 8}}, '
    '{"id": 140664056680784, "module": "mypkg.tasks", "type": "Learn", "typename": "mypkg.tasks.Learn", '
    '"identifier": "a9d64e09570cc28c195305efa735de4825d11ead08b243cf73f68d8e6145db35", "fields": {"model": '
    '{"type": "python", "value": 140664048408720}, "max_iter": 10, "ckpt_dir": {"type": "path", "value": '
    '"partials/mypkg.tasks.learn/checkpoints/2b08d19f38b269bfda1596d7c8d1cb2b861e489a6c78c0f14e24eb417894f131/ckpt",'
    ' "base": "workspace"}, "attempts": {"type": "path", "value": "attempts.txt", "base": "job"}}}], "carbon": '
    '{"enabled": true, "provider": "codecarbon", "country_iso_code": null, "region": null, "report_interval_s": '
    '60.0, "warn_if_unavailable": true}}'
)


def test_reads_a_job_directory_written_by_experimaestro(tmp_path, monkeypatch):
    from xpm_core.config.identifier import compute_identifier

    package = tmp_path / "src" / "mypkg"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "tasks.py").write_text(MYPKG_TASKS)
    monkeypatch.syspath_prepend(str(tmp_path / "src"))
    for name in ("mypkg", "mypkg.tasks"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    ws = tmp_path / "ws"
    job = (
        ws
        / "jobs"
        / "mypkg.tasks.learn"
        / "a9d64e09570cc28c195305efa735de4825d11ead08b243cf73f68d8e6145db35"
    )
    job.mkdir(parents=True)
    (job / "params.json").write_text(EXPERIMAESTRO_PARAMS.replace("@WS@", str(ws)))

    learn = from_task_dir(job)
    assert learn.max_iter == 10 and learn.model.hidden == 8
    assert learn.attempts == job.resolve() / "attempts.txt"
    assert learn.ckpt_dir == ws / "partials/mypkg.tasks.learn/checkpoints" / (
        "2b08d19f38b269bfda1596d7c8d1cb2b861e489a6c78c0f14e24eb417894f131/ckpt"
    )
    # the stored identifier is kept, and recomputing it gives the same bytes
    assert learn.__identifier__().all.hex() == job.name
    assert compute_identifier(learn).all.hex() == job.name
    for name in ("mypkg", "mypkg.tasks"):
        sys.modules.pop(name, None)


def test_load_xp_info_reads_legacy_configs_json(plan, tmp_path):
    from xpm_core import load_configs, state_dict

    model = plan.Model.C(name="m", hidden_size=1)
    task = plan.Train.C(model=model, learning_rate=0.1)
    job_id = task.__identifier__().all.hex()
    legacy = state_dict({job_id: task})
    legacy["tags"] = {job_id: {"lr": 0.1}}
    (tmp_path / "configs.json").write_text(json.dumps(legacy))

    info = load_xp_info(tmp_path)
    assert info.jobs[job_id].learning_rate == 0.1 and tags(info.jobs[job_id]) == {"lr": 0.1}
    with pytest.warns(DeprecationWarning, match="load_xp_info"):
        assert list(load_configs(tmp_path)) == [job_id]


def test_load_xp_info_needs_a_run_directory(tmp_path):
    with pytest.raises(FileNotFoundError, match="is it an experiment run directory"):
        load_xp_info(tmp_path)
