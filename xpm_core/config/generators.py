"""Values generated when a configuration is sealed: ``PathGenerator`` and the generation context."""

from __future__ import annotations

import abc
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Sequence, Union

if TYPE_CHECKING:
    from xpm_core.config.objects import ConfigMixin
    from xpm_core.config.partial import Partial


class GenerationContext:
    """Where generated values go: the job directory (None outside a job) and the config's place in the tree.

    The runtime subclasses it to give the job directory and partial directories; sealing outside a
    job uses the base class, in which generating a path is an error.
    """

    def __init__(self, job_path: Path | None = None) -> None:
        self.job_path = job_path
        #: path of the configuration being sealed, from the task (``("model",)``, ``()`` for the task)
        self.config_path: Sequence[str] = ()

    @property
    def path(self) -> Path:
        """The job directory."""
        if self.job_path is None:
            raise RuntimeError(
                "this configuration generates a path (PathGenerator) and needs a job directory: "
                "submit the task inside an experiment instead of sealing it directly"
            )
        return self.job_path

    @property
    def name(self) -> str:
        """The job's name (the last component of the task identifier): ``NAME.out``, ``NAME.err``."""
        return self.path.parent.name.rsplit(".", 1)[-1]

    def currentpath(self) -> Path:
        """The directory of the configuration being sealed: the job directory, or ``out/<arg>/...`` below it."""
        if self.config_path:
            return self.path.joinpath("out", *self.config_path)
        return self.path

    def partial_path(self, partial: Partial, config: ConfigMixin) -> Path:
        """The shared directory of a partial; only a job context (the runtime) knows the workspace."""
        raise RuntimeError(
            f"partial {partial.name!r} needs a workspace: submit the task inside an experiment"
        )


class DirectoryContext(GenerationContext):
    """A generation context for a given directory (tests, debugging: ``cfg.instance(DirectoryContext(p))``)."""

    def __init__(self, path: Union[str, Path]) -> None:
        super().__init__(Path(path))


class Generator(abc.ABC):
    """Base class of values computed at sealing time from the context and the configuration."""

    @abc.abstractmethod
    def __call__(self, context: GenerationContext, config: ConfigMixin) -> Any:
        """The generated value for ``config``, sealed in ``context``."""

    def isoutput(self) -> bool:
        """Whether the generated value is an output of the task (a path in its directory)."""
        return False


PathSpec = Union[str, Path, Callable[[GenerationContext, "ConfigMixin"], Union[str, Path]]]


class PathGenerator(Generator):
    """A path inside the job directory (``out/<arg>/`` for nested configurations) or a partial directory.

    Use with ``field(default_factory=PathGenerator("model.pt"))`` on a ``Meta[Path]``.
    """

    def __init__(self, path: PathSpec = "", *, partial: Partial | None = None) -> None:
        self.path = path
        self.partial = partial

    def __call__(self, context: GenerationContext, config: ConfigMixin) -> Path:
        base = (
            context.partial_path(self.partial, config)
            if self.partial is not None
            else context.currentpath()
        )
        if callable(self.path):
            return base / self.path(context, config)
        if self.path:
            return base / Path(self.path)
        return base

    def isoutput(self) -> bool:
        return True

    def __repr__(self) -> str:
        return f"PathGenerator({self.path!r})"


class pathgenerator:  # noqa: N801 - experimaestro's spelling
    """Legacy ``Annotated[Path, pathgenerator("file")]``: same as ``field(default_factory=PathGenerator("file"))``."""

    def __init__(self, value: PathSpec) -> None:
        self.value = value
        self.generator = PathGenerator(value)


def STDOUT(context: GenerationContext, config: ConfigMixin) -> str:  # noqa: N802 - experimaestro's name
    """Path generator: the job's standard output file ``NAME.out``."""
    return f"{context.name}.out"


def STDERR(context: GenerationContext, config: ConfigMixin) -> str:  # noqa: N802 - experimaestro's name
    """Path generator: the job's standard error file ``NAME.err``."""
    return f"{context.name}.err"
