"""Configuration objects: building, sealing, equality, copies, instances, tasks and submission."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import pytest

from xpm_core import (
    Config,
    InstanceConfig,
    LightweightTask,
    Meta,
    Param,
    PathGenerator,
    Task,
    copyconfig,
    field,
    sealed_set,
    setmeta,
)
from xpm_core.config.errors import (
    MissingParameterError,
    NoExperimentError,
    SealedError,
    UnknownParameterError,
)
from xpm_core.config.generators import GenerationContext
from xpm_core.config.submission import current_experiment, running_experiment


class DryRun:
    """A stand-in for the runtime's experiment: seals submitted tasks for a fake job directory."""

    def __init__(self, root: Path = Path("/tmp/xpm-tests/jobs")) -> None:
        self.root = root
        self.submitted = []
        self.actions = []

    def submit(self, task, request):
        job_path = self.root / task.__identifier__().all.hex()
        task.__xpm__.seal(GenerationContext(job_path))
        self.submitted.append((task, request))
        return job_path

    def add_action(self, action):
        self.actions.append(action)


class Model(Config):
    """A model.

    Attributes:
        hidden: size of the hidden layer
    """

    hidden: Param[int]
    name: Param[str] = field(default="m")
    layers: Param[list[int]] = field(default_factory=list)


class Trainer(Config):
    model: Param[Model]
    other: Param[Optional[Model]] = None


class Learn(Task):
    model: Param[Model]
    epochs: Param[int] = field(default=1)
    out: Meta[Path] = field(default_factory=PathGenerator("model.pt"))
    logs: Meta[list[str]] = field(default_factory=list)


class Evaluate(Task):
    model: Param[Model]
    learned: Param[Optional[Learn]] = None


class Init(LightweightTask):
    seed: Param[int]

    def execute(self):
        pass


def test_c_builds_a_configuration_and_plain_call_a_value():
    config = Model.C(hidden=3)
    assert type(config).__name__ == "Model.XPMConfig"
    assert isinstance(config, Model)
    assert Model.C is Model.XPMConfig is type(config)
    assert config.hidden == 3 and config.name == "m" and config.layers == []
    assert repr(config) == f"Config[{Model.__getxpmtype__().identifier}]"
    assert str(config) == f"{__name__}.Model(name=m, layers=[], hidden=3)"
    assert not hasattr(Model(), "__xpm__")


def test_type_identifier_defaults_to_lowercase_module_qualname():
    class Nested(Config):
        class Inner(Config):
            x: Param[int]

    assert (
        Nested.Inner.__getxpmtype__().identifier
        == f"{__name__}.{Nested.Inner.__qualname__}".lower()
    )

    class Named(Config):
        __xpmid__ = "My.Name"

    assert Named.__getxpmtype__().identifier == "my.name"


def test_mutable_defaults_are_not_shared():
    one, two = Model.C(hidden=1), Model.C(hidden=2)
    one.layers.append(3)
    assert two.layers == []


def test_unknown_parameter_names_itself_and_lists_valid_ones():
    with pytest.raises(UnknownParameterError) as error:
        Model.C(hidden=1, hiden=2)
    message = str(error.value)
    assert (
        "'hiden'" in message
        and "hidden, layers, name" in message
        and "did you mean 'hidden'" in message
    )
    assert "test_config_objects.py:" in message


def test_setting_after_creation_validates_and_records_location():
    config = Model.C(hidden=1)
    config.hidden = "4"
    assert config.hidden == 4
    with pytest.raises(
        ValueError, match=r"set at .*test_config_objects.py:\d+\): expected int, got 'x'"
    ):
        config.hidden = "x"


def test_sealed_configuration_is_read_only_and_hashable():
    config = Trainer.C(model=Model.C(hidden=1))
    with pytest.raises(TypeError, match="unhashable configuration Trainer"):
        hash(config)
    config.seal()
    assert config.model.__xpm__.sealed
    with pytest.raises(SealedError, match="sealed"):
        config.model.hidden = 2
    assert hash(config) == hash(config.__identifier__())
    assert {config} == {config}


def test_equality_by_values_then_by_identifier_once_sealed():
    assert Model.C(hidden=1) == Model.C(hidden=1)
    assert Model.C(hidden=1) != Model.C(hidden=2)
    a, b = Model.C(hidden=1, name="x").seal(), Model.C(hidden=1, name="x").seal()
    assert a == b and a is not b
    assert len(sealed_set(Model.C(hidden=1), Model.C(hidden=1), Model.C(hidden=2))) == 2


def test_copyconfig_gives_an_unsealed_modified_copy():
    original = Model.C(hidden=1, name="a").seal()
    copy = copyconfig(original, name="b")
    assert copy.name == "b" and copy.hidden == 1 and original.name == "a"
    copy.hidden = 5  # not sealed
    assert copy.__identifier__() != original.__identifier__()


def test_copy_is_deep():
    config = Trainer.C(model=Model.C(hidden=1))
    clone = config.copy()
    assert clone == config and clone.model is not config.model


def test_setmeta_is_refused_once_sealed():
    config = Model.C(hidden=1).seal()
    with pytest.raises(SealedError):
        setmeta(config, True)


def test_instance_builds_plain_objects_keeping_shared_objects_shared():
    calls = []

    class Part(Config):
        x: Param[int]

        def __post_init__(self):
            calls.append(self.x)

    class Whole(Config):
        a: Param[Part]
        b: Param[Part]
        parts: Param[list[Part]]

    shared = Part.C(x=1)
    whole = Whole.C(a=shared, b=shared, parts=[shared, Part.C(x=2)]).instance()
    assert type(whole) is Whole and type(whole.a) is Part
    assert whole.a is whole.b is whole.parts[0]
    assert whole.parts[1].x == 2
    assert whole.xpmconfig.a is shared
    assert sorted(calls) == [1, 2]


def test_value_class_is_used_by_instance():
    class Base(Config):
        x: Param[int]

    @Base.value_class()
    class Runtime(Base):
        def double(self):
            return 2 * self.x

    assert Base.C(x=2).instance().double() == 4


def test_validate_hook_runs_before_sealing():
    class Checked(Config):
        low: Param[int]
        high: Param[int]

        def __validate__(self):
            if self.low > self.high:
                raise ValueError("low must be <= high")

    Checked.C(low=1, high=2).instance()
    with pytest.raises(ValueError, match="low must be <= high"):
        Checked.C(low=3, high=2).instance()


def test_composition_operator_sets_the_matching_parameter():
    class Outer(Config):
        model: Param[Model]
        size: Param[int] = field(default=1)

    outer = Outer.C() @ Model.C(hidden=3)
    assert outer.model.hidden == 3
    with pytest.raises(ValueError, match="ambiguous composition"):
        Trainer.C() @ Model.C(hidden=1)


def test_submit_without_experiment_is_a_clear_error():
    assert current_experiment() is None
    with pytest.raises(
        NoExperimentError, match=r"no experiment is running: use `with experiment\(...\)`"
    ):
        Learn.C(model=Model.C(hidden=1)).submit()


def test_submit_validates_the_whole_tree_with_the_full_path():
    with running_experiment(DryRun()):
        with pytest.raises(
            MissingParameterError, match=r"missing required parameter learn\.model\.hidden"
        ):
            Learn.C(model=Model.C()).submit()


def test_submit_seals_generates_paths_and_returns_the_task():
    xp = DryRun()
    learn = Learn.C(model=Model.C(hidden=1))
    with running_experiment(xp):
        result = learn.submit(launcher="fake", init_tasks=[Init.C(seed=1)], max_retries=2)
        with pytest.raises(RuntimeError, match="already submitted"):
            learn.submit()
    assert result is learn
    task, request = xp.submitted[0]
    assert task is learn and request.launcher == "fake" and request.max_retries == 2
    assert [t.seed for t in request.init_tasks] == [1]
    job = Path("/tmp/xpm-tests/jobs") / learn.__identifier__().all.hex()
    assert learn.out == job / "model.pt"
    assert learn.logs == []  # Meta default_factory called at sealing
    assert learn.__xpm__.sealed and learn.job == job


def test_nested_generated_paths_go_under_out():
    class Output(Config):
        path: Meta[Path] = field(default_factory=PathGenerator("data"))

    class Producer(Task):
        output: Param[Output]

    producer = Producer.C(output=Output.C())
    with running_experiment(DryRun()):
        producer.submit()
    job = Path("/tmp/xpm-tests/jobs") / producer.__identifier__().all.hex()
    assert producer.output.path == job / "out" / "output" / "data"
    with pytest.raises(ValueError, match="generated values"):
        Producer.C(output=producer.output)


def test_sealing_outside_a_job_cannot_generate_paths():
    with pytest.raises(RuntimeError, match="needs a job directory"):
        Learn.C(model=Model.C(hidden=1)).seal()


def test_task_parameter_must_be_submitted():
    learn = Learn.C(model=Model.C(hidden=1))
    with pytest.raises(ValueError, match="must be submitted"):
        Evaluate.C(model=Model.C(hidden=1), learned=learn)
    with running_experiment(DryRun()):
        learn.submit()
    assert Evaluate.C(model=Model.C(hidden=1), learned=learn).learned is learn


def test_task_outputs_and_submit_hook():
    class Produce(Task):
        n: Param[int]

        def task_outputs(self, dep):
            return {"model": dep(Model.C(hidden=self.n))}

    class WithAction(Task):
        def __submit__(self, dep, add_action):
            add_action("describe")
            return dep(Model.C(hidden=0))

    xp = DryRun()
    with running_experiment(xp):
        outputs = Produce.C(n=3).submit()
        marked = WithAction.C().submit()
    assert outputs["model"].__xpm__.task is not None
    assert marked.__xpm__.task is not None and xp.actions == ["describe"]
    plain = Model.C(hidden=3)
    assert outputs["model"].__identifier__() != plain.__identifier__()


def test_init_tasks_must_be_lightweight_tasks():
    with running_experiment(DryRun()):
        with pytest.raises(TypeError, match="LightweightTask"):
            Learn.C(model=Model.C(hidden=1)).submit(init_tasks=[Model.C(hidden=1)])


def test_instance_config_is_a_config():
    class Shared(InstanceConfig):
        v: Param[int] = field(default=1)

    assert Shared.C().v == 1


def test_deprecated_class_replaced_and_deprecated_parameter():
    from xpm_core import deprecate

    class New(Config):
        values: Param[list[int]]

        @deprecate
        def value(self, value: int):
            self.values = [value]

    @deprecate(New, replace=True)
    class Old(Config):
        value: Param[int]

        def __convert__(self):
            return New.C(values=[self.value])

    converted = Old.C(value=3)
    assert type(converted) is New.C and converted.values == [3]
    assert New.C(value=4).values == [4]
    with pytest.raises(UnknownParameterError):
        New.C(valeu=4)


def test_legacy_deprecation_takes_the_parent_identifier():
    from xpm_core import deprecate

    class Current(Config):
        x: Param[int]

    @deprecate
    class Former(Current):
        pass

    assert Former.C(x=1).__identifier__() == Current.C(x=1).__identifier__()
