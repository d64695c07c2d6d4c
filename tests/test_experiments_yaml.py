"""Run-experiment YAML files: merging order, imports, overrides (``--show``), schemas and grid expansion."""

from __future__ import annotations

import enum
import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Optional

import pytest

from xpm_core.experiments import (
    ConfigurationBase,
    ExperimentHelper,
    ExperimentSetupError,
    GridSearch,
    GridValues,
    configuration,
    generate_grid,
)
from xpm_core.experiments.structuring import structure_configuration


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip())
    return path


def show(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "xpm_core", "run-experiment", "--show", *args],
        cwd=folder, capture_output=True, text=True, timeout=60,
    )


def shown(folder: Path, *args: str) -> dict:
    result = show(folder, *args)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


# ---- loading and merging (what --show prints) -------------------------------------------------


def test_pre_yaml_loads_before_and_post_yaml_after_the_main_file(tmp_path):
    write(tmp_path / "pre.yaml", "a: pre\nb: pre\nc: pre\n")
    write(tmp_path / "main.yaml", "id: x\nb: main\nc: main\n")
    write(tmp_path / "post.yaml", "c: post\n")
    assert shown(tmp_path, "--pre-yaml", "pre.yaml", "--post-yaml", "post.yaml", "main.yaml") == {
        "a": "pre", "b": "main", "c": "post", "id": "x"
    }


def test_repeated_pre_and_post_files_load_in_order(tmp_path):
    for name in ("p1", "p2", "q1", "q2"):
        write(tmp_path / f"{name}.yaml", f"last: {name}\n{name}: true\n")
    write(tmp_path / "main.yaml", "id: x\n")
    data = shown(tmp_path, "--pre-yaml", "p1", "--pre-yaml", "p2.yaml", "--post-yaml", "q1", "--post-yaml", "q2", "main")
    assert data["last"] == "q2" and all(data[name] for name in ("p1", "p2", "q1", "q2"))


def test_imports_come_before_the_file_and_nested_mappings_merge(tmp_path):
    write(tmp_path / "configs" / "base.yaml", "model: {name: base, layers: 2}\nsizes: [1, 2, 3]\n")
    write(tmp_path / "configs" / "more.yaml", "imports: [base.yaml]\nmodel: {layers: 4}\n")
    write(tmp_path / "main.yaml", "id: x\nimports: [configs/more.yaml]\nsizes: [9]\n")
    data = shown(tmp_path, "main.yaml")
    assert data["model"] == {"name": "base", "layers": 4}
    assert data["sizes"] == [9]  # lists are replaced, not merged


def test_parent_is_a_deprecated_import(tmp_path):
    write(tmp_path / "base.yaml", "id: from-parent\n")
    write(tmp_path / "main.yaml", "parent: base.yaml\nother: 1\n")
    result = show(tmp_path, "main.yaml")
    assert result.returncode == 0
    assert json.loads(result.stdout)["id"] == "from-parent"
    assert "'parent' is deprecated" in result.stderr


def test_conf_overrides_are_typed_as_yaml(tmp_path):
    write(tmp_path / "main.yaml", "id: x\nmodel: {name: base}\n")
    data = shown(
        tmp_path, "main.yaml", "-c", "model.layers=3", "--conf", "lr=1.5e-3", "-c", "name=big",
        "-c", "sizes=[1, 2]", "-c", "flag=true", "-c", "new.deep.key=null",
    )
    assert data["model"] == {"name": "base", "layers": 3}
    assert (data["lr"], data["name"], data["sizes"], data["flag"]) == (0.0015, "big", [1, 2], True)
    assert data["new"] == {"deep": {"key": None}}


def test_paths_are_relative_to_their_yaml_file(tmp_path):
    write(tmp_path / "sub" / "inner.yaml", "file: plan\npythonpath: [src]\npre_experiment: setup.py\n")
    write(tmp_path / "main.yaml", "id: x\nimports: [sub/inner.yaml]\n")
    data = shown(tmp_path, "main.yaml")
    assert data["file"] == str(tmp_path / "sub" / "plan")
    assert data["pythonpath"] == [str(tmp_path / "sub" / "src")]
    assert data["pre_experiment"] == str(tmp_path / "sub" / "setup.py")


@pytest.mark.parametrize(
    ("files", "args", "message"),
    [
        ({"main.yaml": "imports: [a.yaml]\n", "a.yaml": "imports: [main.yaml]\n"}, ["main.yaml"],
         "YAML files import each other in a cycle: main.yaml -> a.yaml -> main.yaml"),
        ({"main.yaml": "imports: [gone.yaml]\n"}, ["main.yaml"],
         "main.yaml: imports: gone.yaml does not exist"),
        ({"main.yaml": "id: x\n"}, ["--pre-yaml", "gone", "main.yaml"], "the --pre-yaml file gone does not exist"),
        ({"main.yaml": "id: x\n"}, ["--post-yaml", "gone.yml", "main.yaml"], "the --post-yaml file gone.yml does not exist"),
        ({"main.yaml": "- a\n- b\n"}, ["main.yaml"], "main.yaml: an experiment file must be a mapping"),
        ({"main.yaml": "id: x\n"}, ["main.yaml", "-c", "novalue"], "-c/--conf expects KEY=VALUE"),
        ({"main.yaml": "id: x\n"}, ["main.yaml", "-c", "id.sub=1"], "-c/--conf 'id.sub=1': id is not a mapping"),
        ({"main.yaml": "a: {b: 1\n"}, ["main.yaml"], "main.yaml:2:1: invalid YAML"),
        ({"main.yaml": "parent: a.yaml\nimports: [a.yaml]\n", "a.yaml": ""}, ["main.yaml"],
         "'parent' and 'imports' cannot both be given"),
    ],
)
def test_loading_errors_are_one_message_with_exit_code_2(tmp_path, files, args, message):
    for name, text in files.items():
        write(tmp_path / name, text)
    result = show(tmp_path, *args)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


# ---- schemas (structuring with cattrs) --------------------------------------------------------


class Optimizer(str, enum.Enum):
    ADAM = "adam"
    SGD = "sgd"


@configuration()
class Model:
    name: str = "toy"
    layers: int = 1


@configuration
class Schema(ConfigurationBase):
    lr: GridSearch[float] = 0.1
    hidden: GridSearch[int] = 4
    optimizer: Optimizer = Optimizer.ADAM
    model: Model = Model()
    data: Optional[Path] = None
    seeds: list[int] = [1]


def structure(data: dict) -> Schema:
    return structure_configuration(data, Schema, {key: "xp.yaml" for key in data}, "xp.yaml")


def test_values_are_read_into_the_schema():
    cfg = structure({"id": "x", "lr": "1e-4", "optimizer": "SGD", "model": {"layers": 3}, "data": "~/d", "seeds": [3, 4],
                     "title": "T", "subtitle": "S", "paper": "P", "description": "D"})
    assert (cfg.title, cfg.subtitle, cfg.paper, cfg.description) == ("T", "S", "P", "D")
    assert cfg.lr == 1e-4  # YAML 1.1 reads 1e-4 as a string
    assert cfg.optimizer is Optimizer.SGD
    assert cfg.model == Model(name="toy", layers=3)
    assert cfg.data == Path.home() / "d"
    assert cfg.seeds == [3, 4] and cfg.file == "experiment"


def test_a_grid_field_holds_a_value_or_grid_values():
    assert structure({"id": "x", "hidden": 8}).hidden == 8
    assert structure({"id": "x", "hidden": [8]}).hidden == 8
    assert structure({"id": "x", "hidden": [8, 16]}).hidden == GridValues([8, 16])
    assert structure({"id": "x", "hidden": {"values_range": [0, 6, 2]}}).hidden == GridValues([0, 2, 4])


def test_every_problem_is_reported_with_its_path_and_file():
    with pytest.raises(ExperimentSetupError) as caught:
        structure({"id": 3, "optimizer": "rmsprop", "model": {"nmae": "a"}, "seeds": [1, "two"], "hidden": 1.5})
    lines = str(caught.value).splitlines()
    assert sorted(lines) == sorted([
        "xp.yaml: id: expected a string, found a number (3)",
        "xp.yaml: optimizer: expected one of adam, sgd, found a string ('rmsprop')",
        "xp.yaml: model.nmae: unknown key (did you mean 'name'?)",
        "xp.yaml: seeds[1]: expected an integer, found a string ('two')",
        "xp.yaml: hidden: expected an integer, found a number (1.5)",
    ])


def test_postponed_annotations_in_the_plan_module(tmp_path):
    write(tmp_path / "experiment.py", """
        from __future__ import annotations
        from xpm_core.experiments import ConfigurationBase, configuration

        @configuration()
        class Inner:
            size: int = 1

        @configuration()
        class Configuration(ConfigurationBase):
            inner: Inner = Inner()

        def run(helper, cfg: Configuration):
            print("size", cfg.inner.size, type(cfg.inner).__name__)
    """)
    write(tmp_path / "xp.yaml", "id: x\ninner: {size: 5}\n")
    result = subprocess.run(
        [sys.executable, "-m", "xpm_core", "run-experiment", "--workdir", str(tmp_path / "ws"), "xp.yaml"],
        cwd=tmp_path, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "size 5 Inner" in result.stdout


def test_experiment_helper_decorator_wraps_the_function():
    calls = []

    @ExperimentHelper.decorator
    def bare(helper, cfg):
        calls.append(("bare", cfg))

    @ExperimentHelper.decorator()
    def called(helper, cfg):
        calls.append(("called", cfg))

    bare.run([], 1)
    called.run([], 2)
    assert calls == [("bare", 1), ("called", 2)]


# ---- grid expansion --------------------------------------------------------------------------


def test_generate_grid_is_the_cartesian_product_with_tags():
    cfg = structure({"id": "x", "lr": [0.1, 0.01], "grid_search": {"model.layers": {"range": [1, 3]}}})
    configs, tags = generate_grid(cfg)
    assert tags == [
        {"lr": 0.1, "model.layers": 1}, {"lr": 0.1, "model.layers": 2},
        {"lr": 0.01, "model.layers": 1}, {"lr": 0.01, "model.layers": 2},
    ]
    assert [(c.lr, c.model.layers, c.grid_search) for c in configs] == [
        (0.1, 1, {}), (0.1, 2, {}), (0.01, 1, {}), (0.01, 2, {}),
    ]
    assert cfg.model.layers == 1 and cfg.lr == GridValues([0.1, 0.01])  # the original is untouched


def test_grid_search_block_overrides_an_inline_grid_and_couples_config_dicts():
    cfg = structure({
        "id": "x", "hidden": [1, 2],
        "grid_search": {
            "hidden": {"values_list": [7]},
            "config_dicts": [{"optimizer": "adam", "lr": 0.1}, {"optimizer": "sgd", "lr": "1e-2"}],
        },
    })
    configs, tags = generate_grid(cfg)
    assert tags == [{"hidden": 7, "optimizer": Optimizer.ADAM, "lr": 0.1}, {"hidden": 7, "optimizer": Optimizer.SGD, "lr": 0.01}]
    assert [(c.hidden, c.optimizer, c.lr) for c in configs] == [(7, Optimizer.ADAM, 0.1), (7, Optimizer.SGD, 0.01)]


def test_without_grid_one_configuration():
    cfg = structure({"id": "x"})
    configs, tags = generate_grid(cfg)
    assert tags == [{}] and configs == [cfg] and configs[0] is not cfg


def test_multiplicative_range():
    cfg = structure({"id": "x", "lr": {"values_mult": ["1e-4", 3, 10]}})
    assert [c.lr for c in generate_grid(cfg)[0]] == pytest.approx([1e-4, 1e-3, 1e-2])


@pytest.mark.parametrize(
    ("grid", "message"),
    [
        ({"model.size": [1]}, "grid_search: unknown key 'model.size': 'size' is not one of name, layers"),
        ({"lr.x": [1]}, "grid_search: lr.x: lr has no fields"),
        ({"hidden": ["a", "b"]}, "grid_search: hidden: expected an integer, found a string ('a')"),
        ({"hidden": []}, "grid_search: hidden: an empty list of values gives no configuration"),
        ({"hidden": {"range": [1.5, 3]}}, "expected [start, stop] or [start, stop, step] (integers)"),
        ({"hidden": {"range": [3, 1]}}, "range: [3, 1] gives no value"),
        ({"lr": {"range_mult": [1, 2]}}, "expected [start, count, multiplier]"),
        ({"hidden": {"range": [1, 2], "values_list": [3]}}, "give exactly one of"),
        ({"config_dicts": [{"lr": 1}, {"hidden": 2}]}, "config_dicts[1]: every entry must set the same keys (lr)"),
        ({"config_dicts": {"lr": 1}}, "config_dicts: expected a non-empty list of mappings"),
    ],
)
def test_grid_errors_name_the_path(grid, message):
    cfg = structure({"id": "x", "grid_search": grid})
    with pytest.raises(ExperimentSetupError) as caught:
        generate_grid(cfg)
    assert message in str(caught.value)
