"""Parameter groups and partial identifiers (``param_group``, ``partial``)."""

from __future__ import annotations

from typing import AbstractSet, Iterable

# Plain classes rather than attrs: this module is imported on the first use of any configuration
# class, and importing attrs there would double the cost of `import xpm_core` + first config.


class ParameterGroup:
    """A named group of parameters; two groups with the same name are the same group."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ParameterGroup) and other.name == self.name

    def __hash__(self) -> int:
        return hash((ParameterGroup, self.name))

    def __repr__(self) -> str:
        return f"ParameterGroup({self.name!r})"


def param_group(name: str) -> ParameterGroup:
    """A parameter group, to put in ``field(groups=[...])`` and in ``partial(...)``."""
    return ParameterGroup(name)


class Partial:
    """Which parameter groups a partial identifier leaves out.

    Rules, in order: a parameter in an ``include_groups`` group is kept; ``exclude_all`` drops
    everything else; ``exclude_no_group`` drops parameters without group; a parameter in an
    ``exclude_groups`` group is dropped. Only top-level parameters are concerned: nested
    configurations always contribute their full identifier.
    """

    def __init__(
        self,
        exclude_groups: Iterable[ParameterGroup] = (),
        include_groups: Iterable[ParameterGroup] = (),
        exclude_no_group: bool = False,
        exclude_all: bool = False,
        name: str | None = None,
    ) -> None:
        self.exclude_groups = frozenset(exclude_groups)
        self.include_groups = frozenset(include_groups)
        self.exclude_no_group = exclude_no_group
        self.exclude_all = exclude_all
        #: set from the class attribute the partial is assigned to
        self.name = name

    def __repr__(self) -> str:
        return (
            f"Partial(name={self.name!r}, exclude_groups={set(self.exclude_groups)!r}, "
            f"include_groups={set(self.include_groups)!r}, exclude_no_group={self.exclude_no_group}, "
            f"exclude_all={self.exclude_all})"
        )

    def is_excluded(self, groups: AbstractSet[ParameterGroup]) -> bool:
        """Whether a parameter belonging to ``groups`` is left out."""
        if groups and (groups & self.include_groups):
            return False
        if self.exclude_all:
            return True
        if not groups:
            return self.exclude_no_group
        return bool(groups & self.exclude_groups)

    def __set_name__(self, owner: type, name: str) -> None:
        if self.name is None:
            self.name = name


def partial(
    *,
    exclude_groups: Iterable[ParameterGroup] | None = None,
    include_groups: Iterable[ParameterGroup] | None = None,
    exclude_no_group: bool = False,
    exclude_all: bool = False,
) -> Partial:
    """A partial identifier specification; assign it to a task class attribute to name it."""
    return Partial(
        exclude_groups=frozenset(exclude_groups or ()),
        include_groups=frozenset(include_groups or ()),
        exclude_no_group=exclude_no_group,
        exclude_all=exclude_all,
    )
