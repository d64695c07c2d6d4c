"""``LauncherRegistry``: experimaestro's handle on the launcher configuration directory.

``LauncherRegistry.instance().find("cuda(mem=16G)")`` is ``find_launcher`` over the directory's
``launchers.py``; ``getToken(name)`` is a counter token sized by its ``tokens.yaml``;
``LauncherRegistry.set_config_dir(path)`` moves the directory, as ``--xpm-config-dir`` does.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, Iterable, Optional

from xpm_core.launcherfinder.finder import find_launcher
from xpm_core.launcherfinder.specs import HostRequirement
from xpm_core.settings import directory as user_config

if TYPE_CHECKING:
    from xpm_core.plugin.launcher import Launcher
    from xpm_core.runtime.tokens import CounterToken

TOKENS_FILE = "tokens.yaml"


class LauncherRegistry:
    """The launcher configuration of one directory (``launchers.py``, ``tokens.yaml``)."""

    _instance: ClassVar[Optional[LauncherRegistry]] = None
    _lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, basepath: str | os.PathLike[str]) -> None:
        self.basepath = Path(basepath).expanduser().absolute()

    def __repr__(self) -> str:
        return f"LauncherRegistry({str(self.basepath)!r})"

    @classmethod
    def instance(cls) -> LauncherRegistry:
        """The registry of the configuration directory (``$XPM_CONFIG_DIR``, else ``~/.config/xpm``)."""
        directory = user_config.config_dir().expanduser().absolute()
        with cls._lock:
            if cls._instance is None or cls._instance.basepath != directory:
                cls._instance = cls(directory)
            return cls._instance

    @classmethod
    def set_config_dir(cls, path: str | os.PathLike[str]) -> None:
        """Use ``path`` as the configuration directory of this process (sets ``XPM_CONFIG_DIR``:
        settings.yaml is read from there too, as with ``run-experiment --xpm-config-dir``)."""
        os.environ[user_config.CONFIG_DIR_ENV] = str(Path(path).expanduser().absolute())

    def find(self, *specs: str | HostRequirement, tags: Iterable[str] = ()) -> Launcher:
        """``find_launcher(*specs, tags=tags)`` over this directory's ``launchers.py``."""
        return find_launcher(*specs, tags=tags, config_dir=self.basepath)

    def getToken(self, name: str) -> CounterToken:  # noqa: N802 - experimaestro's name
        """The counter token ``name`` of ``tokens.yaml`` (``countertoken: {NAME: {tokens: N}}``), in
        the running experiment's workspace (xpm keeps tokens in the workspace, not per machine)."""
        import yaml

        from xpm_core.runtime.experiment import experiment

        path = self.basepath / TOKENS_FILE
        try:
            content = yaml.safe_load(path.read_text()) if path.is_file() else None
        except yaml.YAMLError as error:
            raise ValueError(f"{path}: not valid YAML: {error}") from error
        tokens = content.get("countertoken") if isinstance(content, dict) else None
        entry = tokens.get(name) if isinstance(tokens, dict) else None
        count = entry.get("tokens") if isinstance(entry, dict) else None
        if not isinstance(count, int) or isinstance(count, bool) or count < 1:
            raise LookupError(
                f"no counter token {name!r} in {path}: add `countertoken: {{{name}: {{tokens: N}}}}` "
                "(N a positive integer)"
            )
        return experiment.current().token(name, count)
