"""Identifiers: byte-identical with experimaestro 2.7.0 (reference §2.6 vectors) and xpm's extensions."""

from __future__ import annotations

import importlib
import sys
import textwrap
from enum import Enum, IntEnum
from pathlib import Path
from typing import Optional

import pytest

from xpm_core import (
    Annotated,
    Choices,
    Config,
    Constant,
    DataPath,
    InstanceConfig,
    LightweightTask,
    Meta,
    OptionalDataPath,
    Param,
    PathGenerator,
    PathSerializationLWTask,
    Task,
    deprecate,
    field,
    param_group,
    partial,
    sealed_set,
    setmeta,
)
from xpm_core.config.errors import MissingParameterError, UnhashableValueError
from xpm_core.config.generators import GenerationContext
from xpm_core.config.identifier import encode_value
from xpm_core.config.submission import running_experiment


class DryRun:
    """A stand-in for the runtime's experiment: seals submitted tasks for a fake job directory."""

    def submit(self, task, request):
        job_path = Path("/tmp/xpm-tests/jobs") / task.__identifier__().all.hex()
        task.__xpm__.seal(GenerationContext(job_path))
        return job_path


def submit(task, **kwargs):
    with running_experiment(DryRun()):
        return task.submit(**kwargs)


def hexid(config) -> str:
    return config.__identifier__().all.hex()


# --- reference §2.6 definitions (type ids forced with __xpmid__)


class Color(Enum):
    RED = 1


Color.__module__ = "__main__"  # as in the reference, where Color is defined in a script


class A(Config):
    __xpmid__ = "golden.A"
    x: Param[int]


class B(Config):
    __xpmid__ = "golden.B"
    a: Param[A]
    name: Param[str] = field(default="b")
    tags: Param[list[str]] = field(default_factory=list, ignore_default=True)
    comment: Meta[str] = field(default="ignored")
    version: Constant[str] = "1.0"
    opt: Param[Optional[int]]
    p: Param[Path] = field(default=Path("/data/x"))


class C(Config):
    __xpmid__ = "golden.C"
    f: Param[float]
    b: Param[bool]
    d: Param[dict[str, int]]
    e: Param[Color]
    s: Param[set[int]]


class Train(Task):
    __xpmid__ = "golden.Train"
    a: Param[A]
    out: Meta[Path] = field(default_factory=PathGenerator("model.pt"))

    def task_outputs(self, dep):
        return dep(A.C(x=100))


class Eval(Task):
    __xpmid__ = "golden.Eval"
    model: Param[A]


class Init(LightweightTask):
    __xpmid__ = "golden.Init"
    k: Param[int]


def test_golden_a():
    assert hexid(A.C(x=1)) == "9c02b357ae986b2cabeebe2dd9f2d517d91bb80700faca5d1ea5de6d015babfe"
    assert encode_value(1) == bytes.fromhex("010000000000000001")


def test_golden_b_defaults_and_skips():
    assert (
        hexid(B.C(a=A.C(x=1))) == "b6b26fdac762a58b073432ddccce2ba35e47c1f66c2b022165bb5749ae0a92b9"
    )


def test_golden_b_path_parameter_is_ignored():
    assert (
        hexid(B.C(a=A.C(x=1), p=Path("/elsewhere")))
        == "b6b26fdac762a58b073432ddccce2ba35e47c1f66c2b022165bb5749ae0a92b9"
    )


def test_golden_b_optional_meta_and_list():
    config = B.C(a=A.C(x=1), opt=3, comment="zzz", tags=["t"])
    assert hexid(config) == "e1258490d0196504c31ca2af18a22355da95855b2cea05f48c695810185c6cfd"


def test_golden_b_meta_subconfig_skipped():
    assert (
        hexid(B.C(a=setmeta(A.C(x=5), True)))
        == "96567b2722c29d70d5022693a2d8cc0c2cf36e6845c6d5e2e1ecdb201ecf1a89"
    )


def test_golden_c_scalars_containers_enum():
    config = C.C(f=0.5, b=True, d={"z": 1, "a": 2}, e=Color.RED, s={3, 1, 2})
    assert hexid(config) == "78e9be926ee06711035da7870729cc57fac4b5039eb23f6797038c9b6e07251b"


def test_golden_c_float_coerced():
    config = C.C(f=1, b=1, d={}, e=Color.RED, s=set())
    assert hexid(config) == "d2ef0a27f0f5ac122b843b0c01ffa04fbfca7574ef61df7b828ca6edeff56f47"


def test_golden_tasks_outputs_and_init_tasks():
    train = Train.C(a=A.C(x=1))
    output = submit(train)
    assert hexid(train) == "1bd858e6c39f551265d5e9ee53a780aaa49f195ed930a6b308d18d7e7d0e8f41"
    assert hexid(output) == "e07c95fa964baec1c530362bcb3e23957f7ce2ba1f8a263c316e014223e0ada3"
    assert hexid(A.C(x=100)) == "4ac3581ef79124166815822dcb005dd73eb8f2d93edbc82e214654e10e9124a7"
    assert (
        hexid(Eval.C(model=output))
        == "d64dfa444e0529159410727370ccfcd6c91ec0a654f0d4055c4bc4785cbf6483"
    )

    evaluate = Eval.C(model=A.C(x=2))
    submit(evaluate, init_tasks=[Init.C(k=7)])
    assert hexid(evaluate) == "51f4d6ad0284b40047b2491977ad41c5e79424b690d6ab3458323c5f7825a925"


def test_task_identifier_same_before_and_after_submit():
    train = Train.C(a=A.C(x=1))
    before = hexid(train)
    submit(train)
    assert hexid(train) == before
    assert train.out == Path("/tmp/xpm-tests/jobs") / before / "model.pt"


# --- reference §2.6 "more vectors" (edge.*)


class Big(Config):
    __xpmid__ = "edge.Big"
    x: Param[int]


with pytest.warns(DeprecationWarning, match="bare default"):

    class Bare(Config):
        __xpmid__ = "edge.Bare"
        x: Param[int] = 3
        y: Param[int]

    Bare.C  # noqa: B018 - arguments are collected (and warned about) on first use


class Inner(Config):
    __xpmid__ = "edge.Inner"
    v: Param[int]


class Holder(Config):
    __xpmid__ = "edge.Holder"
    o: Meta[Inner]


class LstMeta(Config):
    __xpmid__ = "edge.LstMeta"
    l: Param[list[Inner]]  # noqa: E741


class NewC(Config):
    __xpmid__ = "edge.NewC"
    values: Param[list[int]]


@deprecate(NewC)
class OldC(Config):
    __xpmid__ = "edge.OldC"
    value: Param[int]

    def __convert__(self):
        return NewC.C(values=[self.value])


def test_edge_string_coerced_to_int():
    expected = "0effca30941ea53ca30e6c178fc4e1206fb2c0a7c9f2eabb5ce458ac64ddab17"
    assert hexid(Big.C(x=5)) == expected
    assert hexid(Big.C(x="5")) == expected


def test_edge_bare_default_ignored_when_equal():
    expected = "d665d2e040b72480caa3a8aaed04dbbb724698851bf3a6a52726fae93069c273"
    assert hexid(Bare.C(y=1)) == expected
    assert hexid(Bare.C(x=3, y=1)) == expected
    assert hexid(Bare.C(x=4, y=1)) != expected


def test_edge_meta_subconfig_and_setmeta_false():
    assert (
        hexid(Holder.C(o=Inner.C(v=1)))
        == "486f1d6395cfbb52ab5f22e375ff73249bce0043df50172db9a2974a2cfbbaf1"
    )
    included = Holder.C(o=setmeta(Inner.C(v=1), False))
    assert hexid(included) == "afe790e2397c94261b162af1b07f080919e19f7a0edeec87ea09ade00ca65a20"


def test_edge_meta_element_removed_from_list():
    config = LstMeta.C(l=[Inner.C(v=1), setmeta(Inner.C(v=2), True)])
    assert hexid(config) == "48b645edd2768ee727e56eb0c605e0f2558b9037906cc0cf0c02e75db5ba395e"
    assert hexid(config) == hexid(LstMeta.C(l=[Inner.C(v=1)]))


def test_edge_deprecated_with_convert():
    expected = "ede731d333f2be3d04f31d002d63a976a5ed729570453fedd9f946a4800c28f5"
    assert hexid(OldC.C(value=4)) == expected
    assert hexid(NewC.C(values=[4])) == expected


# --- module-derived identifiers (reference §2.6: module mypkg.tasks)

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


@pytest.fixture
def mypkg(tmp_path, monkeypatch):
    package = tmp_path / "mypkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "tasks.py").write_text(textwrap.dedent(MYPKG_TASKS))
    monkeypatch.syspath_prepend(str(tmp_path))
    for name in ("mypkg", "mypkg.tasks"):
        sys.modules.pop(name, None)
    yield importlib.import_module("mypkg.tasks")
    for name in ("mypkg", "mypkg.tasks"):
        sys.modules.pop(name, None)


def test_module_derived_identifiers_and_partial(mypkg):
    learn = mypkg.Learn.C(model=mypkg.Model.C(hidden=8), max_iter=10)
    assert hexid(learn.model) == "2f33493161ba7bdce6f182763a4c812b2a1d4f200190758df8fff13b511dec00"
    assert hexid(learn) == "a9d64e09570cc28c195305efa735de4825d11ead08b243cf73f68d8e6145db35"
    partial_id = learn.__xpm__.get_partial_identifier(mypkg.Learn.checkpoints)
    assert (
        partial_id.all.hex() == "2b08d19f38b269bfda1596d7c8d1cb2b861e489a6c78c0f14e24eb417894f131"
    )
    other = mypkg.Learn.C(model=mypkg.Model.C(hidden=8), max_iter=20)
    assert hexid(other) != hexid(learn)
    assert other.__xpm__.get_partial_identifier(mypkg.Learn.checkpoints) == partial_id


# --- more vectors computed with experimaestro 2.7.0 (cycles, instances, containers, tasks)


class E(Enum):
    A = 1
    B = 2


E.__module__ = "__main__"  # the vectors were computed from a script


class IE(IntEnum):
    X = 3


class Leaf(Config):
    __xpmid__ = "d.leaf"
    v: Param[int]


class ILeaf(InstanceConfig):
    __xpmid__ = "d.ileaf"
    v: Param[int] = field(default=1)


class Pair(Config):
    __xpmid__ = "d.pair"
    a: Param[Optional[Config]] = None
    b: Param[Optional[Config]] = None


class Many(Config):
    __xpmid__ = "d.many"
    l: Param[list[Leaf]] = field(default_factory=list)  # noqa: E741
    d: Param[dict[str, Leaf]] = field(default_factory=dict)
    s: Param[Optional[set[Leaf]]] = None
    e: Param[Optional[E]] = None
    ie: Param[Optional[IE]] = None
    fl: Param[list[float]] = field(default_factory=list)
    st: Param[list[str]] = field(default_factory=list)
    big: Param[int] = field(default=0)
    o: Param[Optional[int]] = None
    c: Constant[int] = 7
    m: Meta[int] = 3
    ig: Param[int] = field(default=5, ignore_default=True)


class Cyc(Config):
    __xpmid__ = "d.cyc"
    other: Param[Optional["Cyc"]] = None
    v: Param[int] = field(default=0)


class Out(Config):
    __xpmid__ = "d.out"
    k: Param[int]


class T1(Task):
    __xpmid__ = "d.t1"
    x: Param[int]
    p: Meta[Path] = field(default_factory=PathGenerator("p"))

    def task_outputs(self, dep):
        return dep(Out.C(k=self.x))


class T2(Task):
    __xpmid__ = "d.t2"
    inp: Param[Out]
    lst: Param[list[Out]] = field(default_factory=list)


class Ini(LightweightTask):
    __xpmid__ = "d.ini"
    q: Param[int]


group = param_group("g")


class PT(Task):
    __xpmid__ = "d.pt"
    a: Param[int] = field(groups=[group])
    b: Param[int]
    pp = partial(exclude_groups=[group])


def test_containers_enums_and_defaults():
    l1, l2 = Leaf.C(v=1), Leaf.C(v=2)
    assert hexid(Leaf.C(v=-3)) == "383aeb6c975975fc31b8b12556dcd080f8b7c1e426e60763300f6b42213fc17d"
    assert hexid(Many.C()) == "b9910e7d1400bff1c06ccd50bcdfd273e5f3dfb16b03f84dd3717a97b5e3959c"
    many = Many.C(
        l=[l1, l2, l1],
        d={"b": l2, "a": l1},
        s=sealed_set(Leaf.C(v=3), Leaf.C(v=4)),
        e=E.B,
        ie=IE.X,
        fl=[1.5, -0.0],
        st=["é", ""],
        big=2**62,
        o=0,
        m=9,
        ig=5,
    )
    assert hexid(many) == "ab5580f0efe62787d8256a503c97ddf6e96711e206493c46f58510fe0882bfb1"
    assert (
        hexid(Many.C(ig=6, o=None))
        == "9cd55419235b626c58a458d3626c40f221afdd4833f71b612a98254950651434"
    )
    meta_list = Many.C(l=[setmeta(Leaf.C(v=1), True), Leaf.C(v=2)])
    assert hexid(meta_list) == "a373931b9934358f3701086fb2846203308e1c1e24cfeb38f05672f0528b06b1"
    meta_dict = Many.C(d={"x": setmeta(Leaf.C(v=1), True)})
    assert hexid(meta_dict) == "b9910e7d1400bff1c06ccd50bcdfd273e5f3dfb16b03f84dd3717a97b5e3959c"


def test_cycles():
    a, b = Cyc.C(v=1), Cyc.C(v=2)
    a.other = b
    b.other = a
    assert hexid(a) == "2d13b1bd43d2e571938c1daf76b35fa5071adf0038250e772da1cde00f6efcc7"
    itself = Cyc.C(v=5)
    itself.other = itself
    assert hexid(itself) == "c988bdb61d338f4ec464a32ea16ff3404637ec8532f5a75b6c7137574e13dd5d"
    assert (
        hexid(Pair.C(a=a, b=Cyc.C(v=9)))
        == "1b98e63d210d4ad6214fc58ec882344a03820a5ab510058a3ca5f08021b2cc86"
    )


def test_instance_configs_shared_versus_separate():
    s1, s2 = ILeaf.C(), ILeaf.C()
    shared = Pair.C(a=s1, b=s1)
    separate = Pair.C(a=s1, b=s2)
    assert hexid(shared) == "402845b26a8a2aa14f45ec1ad083b9920d3d1ceddde3a37f3bb920de138a7df0"
    assert hexid(separate) == "f1f61b5e403a4e3c761f9e15594063a0138dc0352e98b1dc6c72f2ce384bddb6"
    nested = Pair.C(a=Pair.C(a=s1, b=s2), b=s2)
    assert hexid(nested) == "2c1026fe4597c0e4b0d1b8581c7ef3e0b822753d357444e1185c64835f871c14"
    mixed = Pair.C(a=Pair.C(a=ILeaf.C(v=2), b=s1), b=Pair.C(a=s2, b=ILeaf.C(v=2)))
    assert hexid(mixed) == "693febb7fe46bf5bb2b1ca5cf73215561155319da519319988abeec9ad2b8900"
    sealed = Pair.C(a=s1, b=s2).seal()
    sealed.__identifier__()  # cached: used as is inside other configurations
    assert hexid(Pair.C(a=sealed, b=Pair.C(a=s2, b=s1))) == (
        "d99560df21402f25a618af5321772c395e4a37d0c783f5f90650210acedadc9e"
    )


def test_shared_plain_configs_hash_like_copies():
    shared = Leaf.C(v=8)
    dag = Pair.C(a=Pair.C(a=shared, b=shared), b=Pair.C(a=shared, b=Leaf.C(v=8)))
    assert hexid(dag) == "dd315963a66c1e9be206770a0aecdecae8d612c876a0e0b814645ce74291d013"


def test_task_outputs_lists_and_init_tasks():
    t1 = T1.C(x=4)
    out = submit(t1)
    assert hexid(t1) == "8d7702dc3774ce1856905b27606499f4117ee72c37831cea622aae0fa0bfe91e"
    assert hexid(out) == "a3739615a043daf98710e1533353369dcb053e4036d14ded8d9662828b6933a3"
    assert hexid(T2.C(inp=out, lst=[out, Out.C(k=4)])) == (
        "3c9b9da05014e10cf0d62a1fb4334df046ec25f41b1e2feb362a2c96aec33a12"
    )
    with_init = T2.C(inp=out)
    submit(with_init, init_tasks=[Ini.C(q=1), Ini.C(q=2)])
    assert hexid(with_init) == "3d678bd9d670ea5093c3c4da7c07676f12d8372aa4881161c4ddd5ad6f0938fc"
    assert (
        hexid(Pair.C(a=out, b=Out.C(k=4)))
        == "24f49c6f5521ee884148c0938cfc94959f84af1cec9d3080a9e2aea68ca52029"
    )


def test_partial_identifier_excludes_group():
    task = PT.C(a=1, b=2)
    assert hexid(task) == "943140d49b2dd073f181e6fccf237faffa82fb05ff383134ef5a9f80704ade1e"
    partial_id = task.__xpm__.get_partial_identifier(PT.pp)
    assert (
        partial_id.all.hex() == "d5f5ab0ef21810580ed5cd51db53a64ad3e20a7dc02173166fb693af78d46b5e"
    )
    assert PT.C(a=99, b=2).__xpm__.get_partial_identifier(PT.pp) == partial_id
    assert PT.C(a=1, b=3).__xpm__.get_partial_identifier(PT.pp) != partial_id


# --- behaviour


class Node(Config):
    __xpmid__ = "bench.node"
    v: Param[int]
    child: Param[Optional["Node"]] = None


@pytest.fixture
def default_recursion_limit():
    previous = sys.getrecursionlimit()
    sys.setrecursionlimit(1000)
    yield
    sys.setrecursionlimit(previous)


@pytest.mark.parametrize("depth", [1000, 5000])
def test_deep_chain_hashes_without_recursion(depth, default_recursion_limit):
    node = None
    for i in range(depth):
        node = Node.C(v=i, child=node)
    identifier = node.__identifier__()
    assert len(identifier.all) == 32
    # the same chain built again gives the same identifier; a change at the bottom changes it
    again = None
    for i in range(depth):
        again = Node.C(v=i if i else -1, child=again)
    assert again.__identifier__() != identifier


def test_identifier_cached_only_once_sealed():
    config = Leaf.C(v=1)
    first = config.__identifier__()
    config.v = 2
    assert config.__identifier__() != first
    config.seal()
    assert config.__identifier__() is config.__identifier__()


def test_values_experimaestro_cannot_hash_use_new_tags():
    # 2.7.0 raises on these; xpm encodes them with tags >= 0x40 (docs/identifiers.md)
    assert encode_value((1, 2)) == b"\x40" + (2).to_bytes(8, "big") + encode_value(
        1
    ) + encode_value(2)
    path_bytes = b"/data/x"
    assert (
        encode_value(Path("/data/x")) == b"\x41" + len(path_bytes).to_bytes(8, "big") + path_bytes
    )
    assert encode_value(2**70)[:1] == b"\x42"
    assert encode_value((1, 2)) != encode_value([1, 2])


class WithTuple(Config):
    __xpmid__ = "ext.tuple"
    t: Param[tuple[int, int]]
    paths: Param[list[Path]] = field(default_factory=list)


def test_tuple_and_list_of_paths_parameters_are_hashable():
    one = WithTuple.C(t=(1, 2), paths=[Path("/a")])
    assert hexid(one) == hexid(WithTuple.C(t=[1, 2], paths=["/a"]))
    assert hexid(one) != hexid(WithTuple.C(t=(1, 2), paths=[Path("/b")]))


class Anything(Config):
    __xpmid__ = "ext.any"
    value: Param[object]


def test_unhashable_value_error_names_parameter_and_location():
    config = Anything.C(value=object())
    with pytest.raises(
        UnhashableValueError,
        match=r"parameter 'value' \(set at .*test_identifier.py:\d+\) holds object",
    ):
        config.__identifier__()


def test_missing_parameter_in_identifier_is_reported():
    with pytest.raises(MissingParameterError, match="required parameter 'x' is not set"):
        A.C().__identifier__()


# --- experimaestro 2.7.0 vectors for the porting items (DataPath, checkers, serialization init
# tasks, @deprecate(replace=True)); computed with experimaestro 2.7.0 on the same definitions


class GoldenData(Config):
    __xpmid__ = "golden.Data"
    n: Param[int]
    path: DataPath
    extra: OptionalDataPath
    mode: Annotated[str, Choices(["a", "b"])]


class GoldenValues(Config):
    __xpmid__ = "golden.Values"
    values: Param[list[int]]


@deprecate(GoldenValues, replace=True)
class GoldenValue(Config):
    __xpmid__ = "golden.Value"
    value: Param[int]

    def __convert__(self):
        return GoldenValues.C(values=[self.value])


def test_porting_vectors_of_experimaestro_2_7_0():
    data = GoldenData.C(n=1, path=Path("/a"), mode="a")
    assert hexid(data) == "7ce9047dc53ad43a45c9bfcfd4d7c82d0b1598cacac6465a64b61c358cae0064"
    assert hexid(GoldenData.C(n=1, path=Path("/b"), extra=Path("/c"), mode="a")) == hexid(data)
    assert (
        hexid(GoldenData.C(n=1, path=Path("/a"), mode="b"))
        == "23c22c7af003a55eb0e557d24b588bbe89a1039135cc2818592ec80910f89221"
    )
    load = PathSerializationLWTask.C(value=data, path=Path("/w"))
    assert hexid(load) == "bb8cf42b850b11a5e023b5d169cd2652046b03b78dc96ab04f5c864666de740b"
    assert hexid(GoldenValue.C(value=3)) == "5ebe241c9d84fa76181dae97cdb3d385a09d772f2511b565f027f8ed275fda22"
    assert hexid(GoldenValues.C(values=[3])) == hexid(GoldenValue.C(value=3))
