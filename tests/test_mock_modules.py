"""``mock_modules([...])``: fake modules while planning; the jobs still import the real ones."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
import textwrap
from typing import Generic, TypeVar

import pytest

from xpm_core.experiments import mock_modules
from xpm_core.experiments.fake_modules import FakeBase, FakeModule, FakeModuleFinder


@pytest.fixture
def finder():
    """Mocks ``heavy`` (and its submodules) for one test, then forgets the fake modules."""
    installed = mock_modules(["heavy", "otherheavy"])
    yield installed
    sys.meta_path.remove(installed)
    for name in [name for name in sys.modules if name.split(".")[0] in ("heavy", "otherheavy")]:
        del sys.modules[name]


def test_imports_of_mocked_modules_and_their_submodules_give_fake_modules(finder):
    import heavy
    import heavy.nn.functional as functional
    from heavy.nn import Module

    assert isinstance(heavy, FakeModule) and isinstance(functional, FakeModule)
    assert repr(Module) == "<mocked heavy.nn.Module>"
    assert heavy.zeros is heavy.zeros  # one fake per attribute of a module
    assert importlib.util.find_spec("heavyweight") is None  # only the names given, and their submodules
    assert finder.mocks("heavy.a.b") and not finder.mocks("heavyweight")


def test_fakes_are_callable_and_work_as_decorators_bare_or_with_arguments(finder):
    import heavy

    @heavy.compile
    def add(x):
        return x + 1

    @heavy.no_grad()
    def double(x):
        return x * 2

    @heavy.jit.script(optimize=True)
    class Kept:
        value = 3

    assert (add(1), double(2), Kept.value) == (2, 4, 3)
    assert repr(heavy.zeros(3, dtype=heavy.float32)) == "<mocked heavy.zeros()>"
    assert repr(heavy.zeros(3).to("cuda").sum()) == "<mocked heavy.zeros().to().sum()>"


def test_fakes_are_subscriptable_and_subclassable(finder):
    import heavy
    from otherheavy import PreTrainedModel

    T = TypeVar("T")

    class Net(heavy.nn.Module):
        def __init__(self, size, **kwargs):
            super().__init__(size, **kwargs)
            self.size = size

    class Both(heavy.nn.Module, PreTrainedModel):  # two fake bases: one FakeBase
        pass

    class Typed(Net, Generic[T]):
        pass

    class Data(heavy.utils.data.Dataset[int]):
        pass

    assert Net(3, device="cpu").size == 3 and issubclass(Net, FakeBase)
    assert isinstance(Both(1, 2, x=3), FakeBase)
    assert Typed[int] is Typed and Data[str] is Data and Typed(2).size == 2
    assert repr(heavy.Tensor[int, float]) == "<mocked heavy.Tensor>"
    assert Net.apply(1) is None  # autograd.Function-style class methods exist


def test_a_configuration_may_subclass_a_fake(finder):
    import heavy

    from xpm_core import Config, Param

    class Model(Config, heavy.nn.Module):
        size: Param[int]

    assert Model.C(size=2).size == 2


def test_mock_modules_wants_a_list_and_decorators_is_deprecated():
    with pytest.raises(TypeError, match=r"a list of module names, not a string: mock_modules\(\['heavy'\]\)"):
        mock_modules("heavy")
    with pytest.warns(DeprecationWarning, match="every mocked object is already a decorator"):
        finder = mock_modules(["heavy"], decorators=["heavy.compile"])
    sys.meta_path.remove(finder)


def test_experimaestros_module_path():
    from xpm_core.experiments.mockmodule import FakeModuleFinder as Ported
    from xpm_core.experiments.mockmodule import mock_modules as ported

    assert Ported is FakeModuleFinder and ported is mock_modules


# ---- in a real run: the driver plans with the fakes, the jobs use the real library --------------

HEAVY = '''
"""A library slow to import: it records which process imported it."""
import os
from pathlib import Path

with open(os.environ["HEAVY_LOG"], "a") as log:
    log.write(f"{os.getpid()}\\n")


def compile(function):
    return function


def norm(values):
    return sum(v * v for v in values) ** 0.5


class nn:
    class Module:
        def __init__(self, *args, **kwargs):
            pass
'''

TASKS = '''
import heavy
from xpm_core import Task, Param


class Net(heavy.nn.Module):
    pass


@heavy.compile
def score(values):
    return heavy.norm(values)


class Measure(Task):
    values: Param[list[float]]

    def execute(self):
        print("norm", score(self.values), "net", type(Net()).__mro__[1].__module__)
'''

PLAN = '''
from xpm_core.experiments import ConfigurationBase, ExperimentHelper, configuration
from tasks import Measure


@configuration()
class Configuration(ConfigurationBase):
    pass


def run(helper: ExperimentHelper, cfg: Configuration):
    Measure.C(values=[3.0, 4.0]).submit()
'''


def test_pre_experiment_mocks_the_library_for_planning_only(tmp_path):
    project = tmp_path / "project"
    (project / "lib").mkdir(parents=True)
    (project / "lib" / "heavy.py").write_text(HEAVY)
    (project / "tasks.py").write_text(TASKS)
    (project / "experiment.py").write_text(PLAN)
    (project / "pre.py").write_text("from xpm_core.experiments import mock_modules\nmock_modules(['heavy'])\n")
    (project / "xp.yaml").write_text(textwrap.dedent("""
        id: mocked
        pre_experiment: pre.py
        pythonpath: [lib]
    """))
    log = tmp_path / "heavy.log"
    workspace = tmp_path / "ws"
    result = subprocess.run(
        [sys.executable, "-m", "xpm_core", "run-experiment", "xp.yaml", "--workdir", str(workspace)],
        cwd=project, capture_output=True, text=True, timeout=120,
        env={**os.environ, "HEAVY_LOG": str(log), "XPM_CONFIG_DIR": str(tmp_path / "config")},
    )
    assert result.returncode == 0, result.stderr
    importers = log.read_text().split()
    assert len(importers) == 1  # the job imported it, not the driver (which had the fake)
    stdout = next(workspace.glob("jobs/tasks.measure/*/measure.out")).read_text()
    assert "norm 5.0 net heavy" in stdout  # the real library ran the task
