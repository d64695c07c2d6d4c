"""``Workspace``: experimaestro's workspace object (paths, settings, default launcher) and ``set_launcher``.

In xpm, ``xp.workspace`` is the workspace *path*; this object is what experimaestro code
reads instead: ``Workspace.CURRENT`` (the workspace of the running experiment), or one built
from settings and given to ``experiment(Workspace(...), "name")``.
"""

from __future__ import annotations

import os
from collections import ChainMap
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Optional, Union

if TYPE_CHECKING:
    from xpm_core.plugin.connector import Connector
    from xpm_core.plugin.launcher import Launcher
    from xpm_core.runtime.experiment import RunMode, experiment
    from xpm_core.settings.settings_file import Settings, WorkspaceSettings


class _WorkspaceClass(type):
    """Gives ``Workspace.CURRENT``: the entered workspace, else the running experiment's."""

    _entered: list[Workspace]

    @property
    def CURRENT(cls) -> Optional[Workspace]:  # noqa: N802 - experimaestro's name
        if cls._entered:
            return cls._entered[-1]
        from xpm_core.runtime.experiment import experiment

        if not experiment._current:
            return None
        return Workspace._of(experiment._current[-1])


class Workspace(metaclass=_WorkspaceClass):
    """A workspace: its folder, its settings, and the launcher its jobs get by default.

    ``Workspace(settings, workspace_settings, launcher=None, run_mode=None)`` as in
    experimaestro; ``workspace_settings`` may also be a path (the workspace of settings.yaml at
    that path, or one with default settings).
    """

    _entered: ClassVar[list[Workspace]] = []

    def __init__(
        self,
        settings: Optional[Settings],
        workspace_settings: Union[WorkspaceSettings, str, os.PathLike[str]],
        launcher: Optional[Launcher] = None,
        run_mode: Optional[RunMode] = None,
    ) -> None:
        from xpm_core.settings.directory import settings_path
        from xpm_core.settings.settings_file import Settings, load_settings, settings_of_workspace

        if settings is None:  # the user's settings.yaml, if any (reading YAML costs: only then)
            settings = load_settings() if settings_path().exists() else Settings()
        self.settings: Settings = settings
        self.workspace_settings: WorkspaceSettings = settings_of_workspace(workspace_settings)
        self.path: Path = Path(self.workspace_settings.path).expanduser().absolute()
        self.run_mode = run_mode
        self.notificationURL: Optional[str] = None  # noqa: N815 - experimaestro's name
        self.python_path: list[Path] = []
        #: Job environment: the workspace's variables over the global ones (as experiment(...) uses them).
        self.env: ChainMap[str, str] = ChainMap({}, dict(self.workspace_settings.env), dict(self.settings.env))
        self._launcher = launcher
        self._experiment: Optional[experiment] = None

    @classmethod
    def _of(cls, xp: experiment) -> Workspace:
        """The workspace of a running experiment: its launcher is the experiment's default one."""
        workspace = cls(None, xp.workspace, run_mode=xp.run_mode)
        workspace.env = ChainMap(xp.env)
        workspace._experiment = xp
        return workspace

    def __repr__(self) -> str:
        return f"Workspace({str(self.path)!r})"

    # ---- launcher ------------------------------------------------------------------------

    @property
    def launcher(self) -> Optional[Launcher]:
        """The default launcher of jobs (None: the one settings.yaml gives, else ``direct``)."""
        if self._experiment is not None:
            return self._experiment.launcher
        return self._launcher

    @launcher.setter
    def launcher(self, launcher: Optional[Launcher]) -> None:
        if self._experiment is not None:
            self._experiment.launcher = launcher  # tasks submitted from now on use it
        self._launcher = launcher

    @property
    def connector(self) -> Connector:
        """Where the jobs run: the default launcher's connector (this machine without one)."""
        if self.launcher is not None:
            return self.launcher.connector
        from xpm_core.builtin.local.connector import LocalConnector

        return LocalConnector()

    @classmethod
    def set_launcher(cls, launcher: Launcher) -> None:
        """Set the default launcher of the current workspace (inside ``with experiment(...)``)."""
        current = cls.CURRENT
        if current is None:
            raise RuntimeError(
                "set_launcher() needs a running experiment: call it inside `with experiment(...)`, "
                "or give the launcher to experiment(..., launcher=...)"
            )
        current.launcher = launcher

    # ---- settings read by experiment(...) -------------------------------------------------

    @property
    def max_retries(self) -> int:
        return self.workspace_settings.max_retries

    @property
    def lock_mode(self) -> Optional[str]:
        return self.workspace_settings.lock_mode

    # ---- paths ---------------------------------------------------------------------------

    @property
    def jobspath(self) -> Path:
        """``jobs/``: one folder per job, ``jobs/<task-id>/<hash>``."""
        return self.path / "jobs"

    @property
    def partialspath(self) -> Path:
        """``partials/``: folders shared by jobs that differ only in some parameters."""
        return self.path / "partials"

    @property
    def experimentspath(self) -> Path:
        """``experiments/``: one folder per experiment, with its runs."""
        return self.path / "experiments"

    @property
    def configcachepath(self) -> Path:
        return self.path / "config"

    @property
    def schedulerpath(self) -> Path:
        """``.scheduler/``: drivers' logs."""
        return self.path / ".scheduler"

    # ---- with Workspace(...): ------------------------------------------------------------

    def __enter__(self) -> Workspace:
        Workspace._entered.append(self)
        return self

    def __exit__(self, *exc: Any) -> None:
        Workspace._entered.remove(self)


def set_launcher(launcher: Launcher) -> None:
    """experimaestro's ``set_launcher``: the default launcher of the tasks submitted from now on
    in the running experiment."""
    Workspace.set_launcher(launcher)
