"""``SubmitHook``: class decorators whose ``process(job, launcher)`` runs when a task using the class is submitted."""

from __future__ import annotations

import abc
from typing import TYPE_CHECKING, Any, Set, TypeVar

if TYPE_CHECKING:
    from xpm_core.config.objects import ConfigMixin

C = TypeVar("C", bound=type)


class SubmitHook(abc.ABC):
    """Decorate a configuration class with an instance: ``@needs_java(11) class T(Task)``.

    When a task is submitted, each distinct hook (equal ``spec()``) found on the classes of its
    configuration tree is called once with the job (set ``job.environ[...]``) and its launcher.
    """

    def __call__(self, cls: C) -> C:
        hooks: Set[SubmitHook] = cls.__dict__.get("__xpm_submit_hooks__") or set()
        hooks.add(self)
        cls.__xpm_submit_hooks__ = hooks  # type: ignore[attr-defined]
        return cls

    @abc.abstractmethod
    def process(self, job: Any, launcher: Any) -> None:
        """Change the job (environment...) before it is scheduled."""

    @abc.abstractmethod
    def spec(self) -> Any:
        """A hashable value: two hooks of one class with equal specs are applied once."""

    def __eq__(self, other: object) -> bool:
        return other.__class__ is self.__class__ and self.spec() == other.spec()  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash((self.__class__, self.spec()))


def submit_hooks_of(task: ConfigMixin) -> list[SubmitHook]:
    """The distinct hooks of the classes in ``task``'s tree (not through other tasks), in walk order."""
    from xpm_core.config.walk import postorder  # noqa: PLC0415

    found: dict[SubmitHook, None] = {}
    for config, _ in postorder(task):
        for klass in type(config).__mro__:
            for hook in klass.__dict__.get("__xpm_submit_hooks__", ()):
                found.setdefault(hook, None)
    return list(found)


def apply_submit_hooks(task: ConfigMixin, job: Any, launcher: Any) -> None:
    """Call every submit hook of ``task``'s tree with its job and launcher."""
    for hook in submit_hooks_of(task):
        hook.process(job, launcher)
