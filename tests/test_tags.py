"""Tags: tag(v), cfg.tag(k, v), tags(cfg) over the whole tree, conflicts, stop_tags, tagspath."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import pytest

from xpm_core import (
    Config,
    LightweightTask,
    Param,
    TagDict,
    Task,
    field,
    stop_tags,
    tag,
    tags,
    tagspath,
)
from xpm_core.config.generators import GenerationContext
from xpm_core.config.submission import running_experiment
from xpm_core.config.tags import TagConflictWarning


class DryRun:
    def submit(self, task, request):
        task.__xpm__.seal(GenerationContext(Path("/tmp/xpm-tests/jobs")))
        return object()


class Model(Config):
    name: Param[str]
    hidden_size: Param[int]


class Train(Task):
    model: Param[Model]
    learning_rate: Param[float]
    schedule: Param[Optional[Model]] = None

    def task_outputs(self, dep):
        return dep(Model.C(name="trained", hidden_size=self.model.hidden_size))


class Evaluate(Task):
    model: Param[Model]


class Init(LightweightTask):
    seed: Param[int]


def test_tag_wrapper_keeps_the_value_and_tags_it():
    model = Model.C(name="transformer", hidden_size=tag(128))
    assert model.hidden_size == 128
    assert tags(model) == {"hidden_size": 128}
    assert isinstance(tags(model), TagDict)


def test_tags_are_collected_through_the_tree_and_sorted():
    model = Model.C(name=tag("t"), hidden_size=tag(128))
    task = Train.C(model=model, learning_rate=tag(1e-3))
    assert list(tags(task).items()) == [
        ("hidden_size", 128),
        ("learning_rate", 0.001),
        ("name", "t"),
    ]
    assert task.tags() == tags(task)


def test_tag_method_and_setattr():
    model = Model.C(name="a", hidden_size=1).tag("variant", "small")
    model.hidden_size = tag(2)
    assert tags(model) == {"variant": "small", "hidden_size": 2}


def test_tag_dict_is_read_only_and_hashable():
    result = tags(Model.C(name=tag("a"), hidden_size=1))
    with pytest.raises(TypeError):
        result["name"] = "b"  # type: ignore[index]
    assert hash(result) == hash(tags(Model.C(name=tag("a"), hidden_size=2)))


def test_conflicting_tags_warn_with_both_locations_and_the_parent_wins():
    model = Model.C(name="m", hidden_size=1).tag("size", "small")
    task = Train.C(model=model, learning_rate=0.1).tag("size", "large")
    with pytest.warns(TagConflictWarning) as caught:
        result = tags(task)
    assert result["size"] == "large"
    message = str(caught[0].message)
    assert "'small'" in message and "'large'" in message
    assert message.count("test_tags.py:") == 2


def test_equal_values_do_not_warn(recwarn):
    a = Model.C(name="m", hidden_size=tag(1))
    b = Model.C(name="n", hidden_size=tag(1))
    tags(Train.C(model=a, learning_rate=0.1, schedule=b))
    assert not [w for w in recwarn if issubclass(w.category, TagConflictWarning)]


def test_stop_tags_blocks_a_sub_tree():
    model = Model.C(name="m", hidden_size=tag(64))
    task = Train.C(model=stop_tags(model), learning_rate=tag(0.1))
    assert tags(task) == {"learning_rate": 0.1}
    stopped = Train.C(model=stop_tags(Model.C(name="m", hidden_size=tag(3))), learning_rate=0.2)
    assert "hidden_size" not in tags(stopped)


def test_tagging_a_configuration_is_refused_where_it_is_written():
    with pytest.raises(TypeError, match=r"tag\(\) takes a plain value .* tag one of its parameters"):
        Train.C(model=tag(Model.C(name="m", hidden_size=3)), learning_rate=0.2)
    with pytest.raises(TypeError, match=r"tag\(\) takes a plain value"):
        stop_tags(tag(Model.C(name="m", hidden_size=3)))


def test_tags_of_task_outputs_include_the_task_and_init_tasks():
    train = Train.C(model=Model.C(name="m", hidden_size=tag(32)), learning_rate=tag(0.5))
    with running_experiment(DryRun()):
        output = train.submit()
        evaluate = Evaluate.C(model=output)
        evaluate.submit(init_tasks=[Init.C(seed=tag(7)), stop_tags(Init.C(seed=tag(8)))])
    assert tags(output) == {"hidden_size": 32, "learning_rate": 0.5}
    assert tags(evaluate) == {"hidden_size": 32, "learning_rate": 0.5, "seed": 7}


def test_init_task_cannot_be_tagged():
    with running_experiment(DryRun()):
        with pytest.raises(TypeError, match=r"tag\(\) takes a plain value"):
            Evaluate.C(model=Model.C(name="m", hidden_size=1)).submit(
                init_tasks=[tag(Init.C(seed=1))]
            )


def test_tagspath():
    model = Model.C(name=tag("a/b"), hidden_size=tag(16))
    assert tagspath(model) == "hidden_size=16_name=a-b"


class Node(Config):
    v: Param[int]
    child: Param[Optional["Node"]] = field(default=None)


def test_tags_of_a_deep_chain_without_recursion():
    previous = sys.getrecursionlimit()
    sys.setrecursionlimit(1000)
    try:
        node = None
        for i in range(3000):
            node = Node.C(v=tag(i) if i == 0 else i, child=node)
        assert tags(node) == {"v": 0}
    finally:
        sys.setrecursionlimit(previous)
