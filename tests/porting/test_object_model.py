"""experimaestro 2.7.0 object-model features ported with the imports only (reference §1.A, §1.B, §1.K)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path
from typing import Annotated

import pytest

from xpm_core import (
    STDERR,
    STDOUT,
    Choices,
    Config,
    DataPath,
    Launcher,
    LightweightTask,
    Meta,
    OptionalDataPath,
    Param,
    PathGenerator,
    RunMode,
    Task,
    field,
    initializer,
    load,
    pathgenerator,
    save,
    tag,
)
from xpm_core.config.errors import InvalidParameterError, NoExperimentError, UnknownParameterError
from xpm_core.core.context import SerializationContext, SerializedPath
from xpm_core.core.serializers import PathSerializationLWTask


class Weights(Config):
    __xpmid__ = "porting.Weights"
    size: Param[int]
    data: DataPath
    extra: OptionalDataPath


class Holder(Config):
    __xpmid__ = "porting.Holder"
    weights: Param[Weights]


def test_data_paths_are_left_out_of_identifiers(tmp_path):
    one = Weights.C(size=1, data=tmp_path / "a")
    other = Weights.C(size=1, data=tmp_path / "b", extra=tmp_path / "c")
    assert one.__identifier__() == other.__identifier__()
    assert Weights.C.__xpmtype__.arguments["extra"].required is False
    with pytest.raises(InvalidParameterError):
        Weights.C(size=1, data=3)


def test_save_copies_data_paths_with_hard_links_and_load_finds_them(tmp_path):
    (tmp_path / "weights.bin").write_text("W")
    (tmp_path / "folder").mkdir()
    (tmp_path / "folder" / "f.txt").write_text("F")
    holder = Holder.C(weights=Weights.C(size=2, data=tmp_path / "weights.bin", extra=tmp_path / "folder"))
    save(holder, tmp_path / "saved")
    copy = tmp_path / "saved" / "weights" / "data"
    assert copy.read_text() == "W" and os.stat(copy).st_ino == os.stat(tmp_path / "weights.bin").st_ino
    assert (tmp_path / "saved" / "weights" / "extra" / "f.txt").read_text() == "F"
    loaded = load(tmp_path / "saved")
    assert loaded.weights.data == copy and loaded.weights.extra == tmp_path / "saved" / "weights" / "extra"
    assert loaded.__identifier__() == holder.__identifier__()


def test_save_refuses_a_missing_data_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        save(Weights.C(size=1, data=tmp_path / "nothing"), tmp_path / "saved")


class Custom(Config):
    __xpmid__ = "porting.Custom"
    x: Param[int]

    def __xpm_serialize__(self, context: SerializationContext) -> dict:
        target = context.save_directory / "custom.txt"
        target.write_text(f"x={self.x}")
        return {"state": SerializedPath(Path("custom.txt"), False)}


def test_custom_xpm_serialize_adds_entries(tmp_path):
    save(Custom.C(x=4), tmp_path / "saved")
    assert (tmp_path / "saved" / "custom.txt").read_text() == "x=4"
    assert '"state": {"type": "path.serialized", "value": "custom.txt"' in (
        tmp_path / "saved" / "experimaestro.json"
    ).read_text()


def test_path_serialization_init_task_keeps_2_7_0_type_identifier():
    assert PathSerializationLWTask.__getxpmtype__().identifier == (
        "experimaestro.core.serializers.pathserializationlwtask"
    )


class Chosen(Config):
    __xpmid__ = "porting.Chosen"
    mode: Annotated[str, Choices(["fast", "slow"])]
    level: Param[Annotated[int, Choices([1, 2])]] = field(default=1)


def test_choices_check_values_when_set():
    assert Chosen.C(mode="fast").mode == "fast"
    with pytest.raises(InvalidParameterError, match="value in fast, slow"):
        Chosen.C(mode="medium")
    config = Chosen.C(mode="slow")
    with pytest.raises(InvalidParameterError, match="value in 1, 2"):
        config.level = 3


class Logs(Task):
    __xpmid__ = "porting.Logs"
    x: Param[int]
    out: Annotated[Path, pathgenerator(STDOUT)]
    err: Annotated[Path, pathgenerator(STDERR)]
    model: Annotated[Path, pathgenerator("model.pt")]


def test_legacy_path_generators_and_stdout_stderr(tmp_path):
    output = Logs.C(x=1).submit(run_mode=RunMode.DRY_RUN, workspace=tmp_path)
    job_dir = tmp_path / "jobs" / "porting.logs" / output.__identifier__().all.hex()
    assert (output.out, output.err, output.model) == (job_dir / "logs.out", job_dir / "logs.err", job_dir / "model.pt")
    assert not (tmp_path / "jobs").exists()  # nothing written


class Source(Config):
    __xpmid__ = "porting.Source"
    calls = 0

    @initializer
    def load(self) -> int:
        Source.calls += 1
        return 42


def test_initializer_runs_once_per_object():
    obj = Source.C().instance()
    assert (obj.load(), obj.load(), Source.calls) == (42, 42, 1)


class A(Config):
    __xpmid__ = "golden.A"
    x: Param[int]


class Train(Task):
    __xpmid__ = "golden.Train"
    a: Param[A]
    out: Meta[Path] = field(default_factory=PathGenerator("model.pt"))

    def task_outputs(self, dep):
        return dep(A.C(x=100))


def test_dry_run_outside_an_experiment_gives_ids_paths_and_outputs(tmp_path, capsys):
    task = Train.C(a=A.C(x=1))
    output = task.submit(run_mode=RunMode.DRY_RUN, workspace=tmp_path)
    # golden vectors of reference §2.6, computed with experimaestro 2.7.0
    assert task.__identifier__().all.hex() == "1bd858e6c39f551265d5e9ee53a780aaa49f195ed930a6b308d18d7e7d0e8f41"
    assert output.__identifier__().all.hex() == "e07c95fa964baec1c530362bcb3e23957f7ce2ba1f8a263c316e014223e0ada3"
    assert task.out == tmp_path / "jobs" / "golden.train" / task.__identifier__().all.hex() / "model.pt"
    assert task.__xpm__.job.jobpath == task.out.parent
    assert "golden.train/1bd858e6" in capsys.readouterr().out
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(NoExperimentError, match="DRY_RUN"):
        Train.C(a=A.C(x=1)).submit()
    with pytest.raises(NoExperimentError):
        Train.C(a=A.C(x=1)).submit(run_mode=RunMode.GENERATE_ONLY)


def test_assigning_an_unknown_attribute_is_an_error_with_a_suggestion():
    config = Chosen.C(mode="fast")
    with pytest.raises(
        UnknownParameterError, match=r"cannot set Chosen.modes: no such parameter .* did you mean 'mode'\?"
    ):
        config.modes = "slow"
    with pytest.raises(UnknownParameterError, match="did you mean 'level'"):
        Chosen.C(mode="fast", levl=2)
    config._scratch = 1  # private attributes stay free


def test_a_lone_surrogate_is_a_parameter_error():
    class Named(Config):
        name: Param[str]
        names: Param[list[str]]

    with pytest.raises(InvalidParameterError, match="lone surrogate"):
        Named.C(name="bad\udc80", names=[])
    with pytest.raises(InvalidParameterError, match="lone surrogate"):
        Named.C(name="ok", names=["\ud800"])
    assert Named.C(name="héllo wörld 🌍", names=[]).name == "héllo wörld 🌍"


def test_provenance_of_parameters_and_tags():
    line = sys._getframe().f_lineno + 1
    config = Chosen.C(mode=tag("fast"))
    where = f"{Path(__file__).resolve()}:{line}"
    assert (config.__xpm__.provenance_of("mode").kind, config.__xpm__.provenance_of("mode").location) == (
        "explicit",
        where,
    )
    assert config.__xpm__.provenance_of("level").kind == "default"
    config.level = 2
    assert config.__xpm__.provenance_of("level").location == f"{Path(__file__).resolve()}:{line + 7}"
    assert config.__xpm__.tag_provenance()["mode"].location == where
    holder = Holder.C() @ Weights.C(size=1, data="/x")
    assert holder.__xpm__.provenance_of("weights").kind == "composed"
    task = Logs.C(x=1)
    task.submit(run_mode=RunMode.DRY_RUN, workspace="/nonexistent")
    assert task.__xpm__.provenance_of("model").kind == "generated"


def test_same_tag_with_two_values_warns_with_both_places():
    class Inner(Config):
        v: Param[int]

    class Outer(Config):
        inner: Param[Inner]
        v: Param[int]

    outer = Outer.C(inner=Inner.C(v=tag(1)), v=tag(2))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert outer.tags() == {"v": 2}
    message = str(caught[0].message)
    assert "tag 'v' has two values" in message and message.count(Path(__file__).name) == 2


def test_override_without_overrides_true_warns_and_incompatible_override_raises():
    class Base(Config):
        x: Param[int]

    with pytest.warns(UserWarning, match="overrides the parameter"):

        class Child(Base):
            x: Param[int]

        Child.C(x=1)

    class Bad(Base):
        x: Param[str] = field(overrides=True)

    with pytest.raises(TypeError, match="type int with str"):
        Bad.C(x="a")


def test_launcher_get_gives_the_default_direct_launcher(tmp_path):
    launcher = Launcher.get(tmp_path)
    assert isinstance(launcher, Launcher) and launcher.name == "direct"
    with pytest.raises(ValueError, match="local path"):
        Launcher.get(3)


PLAN = '''
import os, sys
from pathlib import Path
from xpm_core import Task, Config, Param, SubmitHook, cache, experiment, Job, Launcher


class needs_java(SubmitHook):
    def __init__(self, version):
        self.version = version

    def spec(self):
        return self.version

    def process(self, job: Job, launcher: Launcher):
        job.environ["JAVA_HOME"] = f"/opt/java{self.version}"


class Data(Config):
    n: Param[int]

    @cache("squares.txt")
    def squares(self, path: Path):
        if not path.exists():
            path.write_text(" ".join(str(i * i) for i in range(self.n)))
            print("computed")
        return path.read_text()


@needs_java(11)
class Hooked(Task):
    data: Param[Data]

    def execute(self):
        print("JAVA_HOME", os.environ.get("JAVA_HOME"))
        print("squares", self.data.squares(), self.data.squares())


if __name__ == "__main__":
    with experiment(sys.argv[1], "porting") as xp:
        task = Hooked.C(data=Data.C(n=4))
        task.submit()
    print("job", task.__xpm__.job.path)
'''


def test_submit_hooks_and_cache_in_a_real_run(tmp_path):
    plan = tmp_path / "plan.py"
    plan.write_text(textwrap.dedent(PLAN))
    result = subprocess.run(
        [sys.executable, str(plan), str(tmp_path / "ws")], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    job_dir = Path(result.stdout.split("job ", 1)[1].strip())
    out = (job_dir / "hooked.out").read_text()
    assert "JAVA_HOME /opt/java11" in out
    assert out.count("computed") == 1 and "squares 0 1 4 9 0 1 4 9" in out
    cached = list((tmp_path / "ws" / "config").glob("__main__.data/*/squares.txt"))
    assert len(cached) == 1 and (cached[0].parent / "squares.txt.lock").exists()


def test_cache_outside_a_task_says_so():
    class Data(Config):
        n: Param[int]

        @__import__("xpm_core").cache("x")
        def get(self, path):
            return path

    with pytest.raises(RuntimeError, match="inside a running task"):
        Data.C(n=1).instance().get()


def test_lightweight_serialization_task_is_a_lightweight_task():
    assert issubclass(PathSerializationLWTask, LightweightTask)


def test_messages_keep_experimaestro_key_words():
    with pytest.raises(TypeError, match="not sealed.*sealed_set"):
        {A.C(x=1)}  # noqa: B018 - building the set is what fails
    with pytest.raises(AttributeError, match=r"no configuration tracked.*instance\(keep=True\)"):
        A().xpmconfig  # noqa: B018


class NewValues(Config):
    __xpmid__ = "porting.NewValues"
    values: Param[list[int]]


@__import__("xpm_core").deprecate(NewValues, replace=True)
class OldValue(Config):
    __xpmid__ = "porting.OldValue"
    value: Param[int]

    def __convert__(self):
        return NewValues.C(values=[self.value])


def test_replace_true_builds_the_new_class_and_discards_old_only_attributes(caplog):
    converted = OldValue.C(value=3)
    assert isinstance(converted, NewValues) and converted.values == [3]
    with caplog.at_level("WARNING"):
        converted.value = 4
    assert "Attribute 'value' was in deprecated config porting.oldvalue" in caplog.text
    assert "being discarded" in caplog.text and converted.values == [3]
    with pytest.raises(UnknownParameterError):
        converted.valeus = [1]
