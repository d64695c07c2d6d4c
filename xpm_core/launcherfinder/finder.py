"""``find_launcher``: ask the user's ``launchers.py`` for a launcher that fits requirement specs."""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import sys
import traceback
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable, Sequence

from xpm_core.launcherfinder.grammar import parse
from xpm_core.launcherfinder.specs import HostRequirement
from xpm_core.settings import directory as user_config

if TYPE_CHECKING:
    from xpm_core.plugin.launcher import Launcher

logger = logging.getLogger("xpm.launchers")

LAUNCHERS_FILE = "launchers.py"

#: What launchers.py defines: ``find_launcher(requirement, tags) -> Launcher | None``.
FindFunction = Callable[[HostRequirement, "set[str]"], "Launcher | None"]


class LauncherNotFoundError(LookupError):
    """No launcher fits the requirement specs."""

    def __init__(self, message: str, specs: Sequence[str], tags: set[str]) -> None:
        super().__init__(message)
        #: The specs, as spec strings.
        self.specs = list(specs)
        self.tags = tags


class LaunchersFileError(RuntimeError):
    """The user's launchers.py failed; the message names the file and, when known, the line."""

    def __init__(self, path: Path, reason: str, line: int | None = None) -> None:
        self.path = path
        self.line = line
        self.reason = reason
        where = f"{path}, line {line}" if line is not None else str(path)
        super().__init__(f"{where}: {reason}")


def config_directory(config_dir: str | os.PathLike[str] | None = None) -> Path:
    """The xpm configuration directory: ``config_dir``, else ``$XPM_CONFIG_DIR``, else ``~/.config/xpm``."""
    if config_dir is None:
        return user_config.config_dir()
    return Path(config_dir).expanduser()


def find_launcher(
    *specs: str | HostRequirement,
    tags: Iterable[str] = (),
    config_dir: str | os.PathLike[str] | None = None,
) -> Launcher:
    """The launcher for the first spec that the configuration's ``launchers.py`` can serve.

    :param specs: requirement specs (``"duration=4h & cuda(mem=16G) * 2"``) or requirement
        objects (``cuda(mem="16G") * 2``), in order of preference; launchers.py's
        ``find_launcher(requirement, tags)`` is called with each in turn until it returns a launcher.
    :param tags: passed to launchers.py, which may use them to choose (e.g. ``{"slurm"}``).
    :param config_dir: where ``launchers.py`` is (default: see :func:`config_directory`).
    :raises RequirementSpecError: a spec cannot be read (checked even without launchers.py).
    :raises LauncherNotFoundError: launchers.py returned ``None`` for every spec.
    :raises LaunchersFileError: launchers.py cannot be loaded, or its ``find_launcher`` failed.

    Without ``launchers.py``, every job runs on this machine: a ``direct`` launcher is returned.
    """
    if not specs:
        raise TypeError(
            "find_launcher() needs at least one requirement spec, e.g. find_launcher('cpu(cores=4)')"
        )
    requirements = [_requirement(spec) for spec in specs]
    # A single string is one tag, not a set of letters.
    tag_set = {tags} if isinstance(tags, str) else set(tags)

    path = (config_directory(config_dir) / LAUNCHERS_FILE).absolute()
    if not path.is_file():
        logger.debug("no %s: jobs run on this machine", path)
        return _local_launcher()

    from xpm_core.plugin.launcher import Launcher

    find = _load(path)
    for requirement in requirements:
        try:
            # A copy per call: launchers.py may change the set it is given.
            launcher = find(requirement, set(tag_set))
        except Exception as error:
            raise LaunchersFileError(
                path,
                f'find_launcher("{requirement}") raised {_describe(error)}',
                _line_in(error, path),
            ) from error
        if launcher is None:
            continue
        if not isinstance(launcher, Launcher):
            raise LaunchersFileError(
                path, f'find_launcher("{requirement}") returned {launcher!r}, expected a Launcher or None'
            )
        return launcher

    # Strings as the user wrote them; objects written as specs.
    names = [spec.strip() if isinstance(spec, str) else str(spec) for spec in specs]
    quoted = ", ".join(f'"{name}"' for name in names)
    with_tags = f" with tags {', '.join(sorted(tag_set))}" if tag_set else ""
    raise LauncherNotFoundError(
        f"no launcher for {quoted}{with_tags}: "
        f"find_launcher() in {path} returned None for each",
        names,
        tag_set,
    )


def _requirement(spec: str | HostRequirement) -> HostRequirement:
    if isinstance(spec, str):
        return parse(spec)
    if isinstance(spec, HostRequirement):
        return spec
    raise TypeError(
        f"a requirement is a spec string or a HostRequirement, not {type(spec).__name__}: {spec!r}"
    )


def _local_launcher() -> Launcher:
    from xpm_core.plugin.registry import get_registry

    # Through the registry, as any launcher: the built-in ``direct`` one on the local connector.
    return get_registry().launchers()["direct"].create()


# launchers.py runs once per process, not once per task: it may build launchers, connectors or
# tokens meant to be shared. It runs again when the file changes (a notebook being edited).
_loaded: dict[Path, tuple[tuple[int, int], FindFunction]] = {}


def _load(path: Path) -> FindFunction:
    """The ``find_launcher`` function of ``path``, executing the file if needed."""
    status = path.stat()
    stamp = (status.st_mtime_ns, status.st_size)
    cached = _loaded.get(path)
    if cached is not None and cached[0] == stamp:
        return cached[1]

    # One module name per file, registered while it runs (dataclasses and pickle look it up).
    name = "xpm_launchers_" + hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:12]
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None  # a .py path always has a source loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as error:
        del sys.modules[name]
        if isinstance(error, SyntaxError) and error.filename == str(path):
            raise LaunchersFileError(path, f"syntax error: {error.msg}", error.lineno) from error
        reason = f"loading it raised {_describe(error)}"
        raise LaunchersFileError(path, reason, _line_in(error, path)) from error

    find = getattr(module, "find_launcher", None)
    if not callable(find):
        raise LaunchersFileError(path, "defines no function find_launcher(requirement, tags)")
    logger.debug("loaded %s", path)
    _loaded[path] = (stamp, find)
    return find


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__


def _line_in(error: BaseException, path: Path) -> int | None:
    """The line of ``path`` where ``error`` was raised (the deepest frame in that file)."""
    frames = traceback.extract_tb(error.__traceback__)
    lines = [frame.lineno for frame in frames if frame.filename == str(path)]
    return lines[-1] if lines else None
