"""Iterative traversal of a configuration graph (no recursion per nesting level)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Iterator

if TYPE_CHECKING:
    from xpm_core.config.objects import ConfigMixin

Path_ = tuple  # a position in the tree: ("model", "0", ...)


def value_configs(value: Any, path: Path_, out: list) -> None:
    """Append ``(config, path)`` for every configuration inside a parameter value, in order."""
    from xpm_core.config.objects import ConfigMixin  # noqa: PLC0415

    # Containers of plain data are shallow; configurations are not expanded here.
    stack: list[tuple[Any, Path_]] = [(value, path)]
    while stack:
        item, where = stack.pop()
        if isinstance(item, ConfigMixin):
            out.append((item, where))
        elif isinstance(item, (list, tuple)):
            stack.extend(reversed([(v, (*where, str(i))) for i, v in enumerate(item)]))
        elif isinstance(item, dict):
            stack.extend(reversed([(v, (*where, str(k))) for k, v in item.items()]))
        elif isinstance(item, (set, frozenset)):
            stack.extend(reversed([(v, (*where, str(i))) for i, v in enumerate(item)]))


def children(
    config: ConfigMixin,
    path: Path_,
    *,
    recurse_task: bool,
    task_before_init: bool = False,
    skip_arg: Callable[[ConfigMixin, str], bool] | None = None,
    skip_init_task: Callable[[ConfigMixin, Any], bool] | None = None,
) -> list[tuple[ConfigMixin, Path_]]:
    """The configurations directly referenced by ``config``: parameters, then init tasks and task."""
    from xpm_core.config.objects import ConfigMixin  # noqa: PLC0415

    if not isinstance(config, ConfigMixin):
        return []  # a stand-in (TaskStub) for a task that was not loaded
    info = config.__xpm__
    out: list = []
    values = info.values
    for name in info.xpmtype.arguments:
        if name not in values:
            continue
        value = values[name]
        if value is None or (skip_arg is not None and skip_arg(config, name)):
            continue
        if isinstance(value, (int, float, str)):
            continue
        value_configs(value, (*path, name), out)

    def add_init() -> None:
        for index, init_task in enumerate(info.init_tasks):
            if skip_init_task is None or not skip_init_task(config, init_task):
                out.append((init_task, (*path, "__init_tasks__", str(index))))

    def add_task() -> None:
        task = info.task
        if recurse_task and task is not None and task is not config:
            out.append((task, (*path, "__task__")))

    if task_before_init:
        add_task()
        add_init()
    else:
        add_init()
        add_task()
    return out


def postorder(
    root: ConfigMixin,
    *,
    recurse_task: bool = False,
    task_before_init: bool = False,
    enter: Callable[[ConfigMixin], bool] | None = None,
    skip_arg: Callable[[ConfigMixin, str], bool] | None = None,
    skip_init_task: Callable[[ConfigMixin, Any], bool] | None = None,
    visited: set[int] | None = None,
) -> Iterator[tuple[ConfigMixin, Path_]]:
    """Configurations reachable from ``root``, each once, children before parents.

    ``enter(config)`` returning False prunes a configuration and what is only reachable through
    it; ``visited`` (ids) can be shared between calls to continue a traversal.
    """
    seen = set() if visited is None else visited
    if id(root) in seen:
        return
    seen.add(id(root))
    if enter is not None and not enter(root):
        return
    def children_of(config: ConfigMixin, path: Path_) -> list[tuple[ConfigMixin, Path_]]:
        return children(
            config,
            path,
            recurse_task=recurse_task,
            task_before_init=task_before_init,
            skip_arg=skip_arg,
            skip_init_task=skip_init_task,
        )

    stack: list[tuple[ConfigMixin, Path_, Iterator]] = [(root, (), iter(children_of(root, ())))]
    while stack:
        config, path, pending = stack[-1]
        for child, child_path in pending:
            if id(child) in seen:
                continue
            seen.add(id(child))
            if enter is not None and not enter(child):
                continue
            stack.append((child, child_path, iter(children_of(child, child_path))))
            break
        else:
            stack.pop()
            yield config, path
