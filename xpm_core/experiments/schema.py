"""``@configuration`` and ``ConfigurationBase``: the attrs classes a run-experiment YAML file fills."""

from __future__ import annotations

import enum
from typing import Any, Callable, Optional, TypeVar, overload

import attrs

C = TypeVar("C", bound=type)


class DirtyGitAction(str, enum.Enum):
    """What to do when the plan's code has uncommitted changes (YAML key ``dirty_git``)."""

    IGNORE = "ignore"
    WARN = "warn"  # one line on stderr
    ERROR = "error"  # refuse to run: results must be traceable to a commit


@overload
def configuration(cls: C) -> C: ...
@overload
def configuration(**kwargs: Any) -> Callable[[C], C]: ...


def configuration(cls: Any = None, **kwargs: Any) -> Any:
    """Make a keyword-only attrs class of a configuration schema: ``@configuration()`` or ``@configuration``.

    As in experimaestro: ``attrs.define(kw_only=True, slots=False, eq=True, unsafe_hash=True)``;
    ``kwargs`` go to ``attrs.define``. Annotations may be strings (``from __future__ import
    annotations``): ``run-experiment`` resolves them before reading the YAML.
    """
    options = {"kw_only": True, "slots": False, "eq": True, "unsafe_hash": True, **kwargs}

    def decorate(target: C) -> C:
        return attrs.define(target, **options)

    return decorate(cls) if cls is not None else decorate


@configuration()
class ConfigurationBase:
    """The keys every run-experiment YAML file may use; subclass it to add the plan's own keys."""

    id: str
    """The experiment id (``experiments/<id>/`` in the workspace)."""

    file: str = "experiment"
    """The Python file defining ``run`` (``.py`` optional), relative to the YAML file."""

    module: Optional[str] = None
    """The module defining ``run``, instead of ``file``."""

    pythonpath: list[str] = attrs.field(factory=list)
    """Folders added to the Python path, relative to the YAML file."""

    parent: Optional[str] = None
    """Deprecated: one YAML file to load first; use ``imports``."""

    imports: list[str] = attrs.field(factory=list)
    """YAML files loaded before this one (this one wins), relative to it."""

    pre_experiment: Optional[str] = None
    """A Python file (relative to the YAML file) or module run before the plan is imported."""

    title: str = ""
    subtitle: str = ""
    paper: str = ""
    description: str = ""

    add_timestamp: bool = False
    """Append ``-YYYYmmdd-HHMM`` to the experiment id: every run is a new experiment."""

    dirty_git: DirtyGitAction = DirtyGitAction.WARN
    """What to do when the plan's git repository has uncommitted changes."""

    grid_search: dict[str, Any] = attrs.field(factory=dict)
    """Dotted paths to lists of values (and ``config_dicts``): see ``generate_grid``."""


def resolve_annotations(schema: type, namespace: dict[str, Any] | None = None) -> None:
    """Turn string annotations of ``schema`` and of the attrs classes it uses into types.

    ``namespace`` is where names not defined in a class's own module are looked up (the
    plan module's dictionary, for a schema defined inside a function).
    """
    import typing

    seen: set[type] = set()

    def visit(cls: type) -> None:
        if cls in seen or not attrs.has(cls):
            return
        seen.add(cls)
        attrs.resolve_types(cls, localns=namespace)
        for field in attrs.fields(cls):
            for candidate in (field.type, *typing.get_args(field.type)):
                if isinstance(candidate, type):
                    visit(candidate)

    visit(schema)


resolve_annotations(ConfigurationBase)
