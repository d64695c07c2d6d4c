"""A configuration module written for experimaestro 2.7.0, ported by changing its imports only.

``record_composite.py`` changes its imports back to experimaestro in this file and runs
``composite_plan.py`` with experimaestro 2.7.0; the identifiers must be the same with xpm.
"""

from pathlib import Path
from typing import Dict, List, Optional

from xpm_core import (
    STDERR,
    STDOUT,
    Annotated,
    Config,
    Constant,
    InstanceConfig,
    Job,
    Launcher,
    LightweightTask,
    Meta,
    Param,
    PathGenerator,
    SubmitHook,
    Task,
    cache,
    deprecate,
    field,
    initializer,
    param_group,
    partial,
    setmeta,
)
from xpm_core.checkers import Choices
from xpm_core.core.arguments import DataPath, OptionalDataPath
from xpm_core.core.context import SerializationContext, SerializedPath
from xpm_core.core.objects import DependentMarker
from xpm_core.core.serializers import PathSerializationLWTask, SerializationLWTask
from xpm_core.generators import pathgenerator

iter_group = param_group("iter")


class needs_gpu(SubmitHook):
    """Sets CUDA_VISIBLE_DEVICES for the job."""

    def __init__(self, count: int):
        self.count = count

    def spec(self):
        return self.count

    def process(self, job: Job, launcher: Launcher):
        job.environ["CUDA_VISIBLE_DEVICES"] = ",".join(str(i) for i in range(self.count))


class Vocabulary(Config):
    """A vocabulary file (DataPath: out of the identifier)."""

    size: Param[int]
    path: DataPath
    extra: OptionalDataPath
    language: Annotated[str, Choices(["en", "fr"])] = field(default="en")

    @initializer
    def tokens(self) -> List[str]:
        return self.path.read_text().split()


class Encoder(InstanceConfig):
    vocabulary: Param[Vocabulary]
    hidden: Param[int]
    dropout: Param[float] = field(default=0.1, ignore_default=True)
    activation: Param[str] = field(default="relu")
    version: Constant[str] = "2"
    comment: Meta[str] = field(default="")

    @cache("embeddings.txt")
    def embeddings(self, path: Path) -> str:
        if not path.exists():
            path.write_text(str(self.hidden))
        return path.read_text()


class Model(Config):
    encoder: Param[Encoder]
    decoder: Param[Encoder]
    heads: Param[Dict[str, int]] = field(default_factory=dict, ignore_default=True)
    layers: Param[List[int]] = field(default_factory=lambda: [1, 2])
    scale: Param[Optional[float]]


class Checkpoint(Config):
    model: Param[Model]
    step: Param[int]


class Weights(Config):
    """Saved with a custom __xpm_serialize__."""

    model: Param[Model]

    def __xpm_serialize__(self, context: SerializationContext) -> Dict[str, SerializedPath]:
        return {}


class LoadWeights(PathSerializationLWTask):
    pass


class Seed(LightweightTask):
    seed: Param[int]

    def execute(self):
        pass


@needs_gpu(2)
class Learn(Task):
    model: Param[Model]
    max_iter: Param[int] = field(groups=[iter_group])
    lr: Param[float]
    checkpoints = partial(exclude_groups=[iter_group])
    checkpoints_path: Meta[Path] = field(default_factory=PathGenerator("ckpt", partial=checkpoints))
    stdout: Annotated[Path, pathgenerator(STDOUT)]
    stderr: Annotated[Path, pathgenerator(STDERR)]
    log: Annotated[Path, pathgenerator("log.txt")]

    def task_outputs(self, dep: DependentMarker):
        return dep(Checkpoint.C(model=self.model, step=self.max_iter))

    def execute(self):
        pass


class Evaluate(Task):
    checkpoint: Param[Checkpoint]
    metrics: Param[List[str]] = field(default_factory=lambda: ["map"], ignore_default=True)

    def execute(self):
        pass


# --- deprecation (reference A13)


class Values(Config):
    values: Param[List[int]] = field(default=[], ignore_default=True)

    @deprecate
    def value(self, x):
        self.values = [x]


class NewScorer(Config):
    k: Param[int]


@deprecate
class OldScorer(NewScorer):
    pass


class ScoreList(Config):
    ks: Param[List[int]]


@deprecate(ScoreList)
class SingleScore(Config):
    k: Param[int]

    def __convert__(self):
        return ScoreList.C(ks=[self.k])


class Ranker(Task):
    scorer: Param[Config]

    def execute(self):
        pass


def meta_encoder(vocabulary):
    return setmeta(Encoder.C(vocabulary=vocabulary, hidden=1), True)


__all__ = ["SerializationLWTask"]
