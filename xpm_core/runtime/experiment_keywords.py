"""experimaestro 2.7.0's keywords of ``experiment(...)`` beyond xpm's own: checked, warned about, applied.

``register_signals``, ``project_paths`` and ``dirty_git`` act as in experimaestro;
``no_environmental_impact`` and ``no_db`` are accepted and do nothing (xpm tracks no carbon and
has no database to skip); ``host``, ``port``, ``token`` and ``wait_for_quit`` are deprecated: each
gives a DeprecationWarning naming what replaces it, and ``port=`` still opens the web monitor
(experimaestro 2.7.0 only warned).
"""

from __future__ import annotations

import difflib
import sys
import threading
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Optional

import attrs

if TYPE_CHECKING:
    from xpm_core.runtime.experiment import experiment

#: Deprecated keyword -> what to use instead.
REPLACEMENTS = {
    "host": "`xpm run-experiment --web --host HOST`, or `server: {host: ...}` in settings.yaml",
    "port": "`xpm run-experiment --web` (or `--port N`), or `xpm experiments monitor`",
    "token": "the XPM_WEB_TOKEN environment variable, or `server: {token: ...}` in settings.yaml",
    "wait_for_quit": "`xpm run-experiment --web`, which keeps the web monitor up after the run until Ctrl-C",
}

_XPM_CORE = str(Path(__file__).resolve().parents[1])


@attrs.frozen(kw_only=True)
class ExperimentKeywords:
    """The experimaestro keywords given to one ``experiment(...)``."""

    register_signals: bool = True
    #: Where the plan's code is, for the git check (None: the folder of the calling file).
    project_paths: Optional[list[Path]] = None
    dirty_git: str = "warn"
    no_environmental_impact: bool = False
    no_db: bool = False
    host: Optional[str] = None
    port: Optional[int] = None
    token: Optional[str] = None
    wait_for_quit: bool = False

    @classmethod
    def given(cls, unknown: dict[str, Any], valid: Callable[[], Iterable[str]], **keywords: Any) -> ExperimentKeywords:
        """Check the keywords (an unknown one is a TypeError suggesting the closest of ``valid()``) and
        warn about the deprecated ones, pointing at the user's line."""
        if unknown:
            raise TypeError(_unknown_message(sorted(unknown)[0], list(valid())))
        from xpm_core.experiments.schema import DirtyGitAction

        dirty_git = keywords.get("dirty_git", "warn")
        try:
            keywords["dirty_git"] = DirtyGitAction(getattr(dirty_git, "value", dirty_git)).value
        except ValueError:
            choices = ", ".join(repr(action.value) for action in DirtyGitAction)
            raise ValueError(f"experiment(dirty_git={dirty_git!r}): expected one of {choices}") from None
        paths = keywords.get("project_paths")
        if paths is not None:
            keywords["project_paths"] = [Path(path).expanduser().absolute() for path in paths]
        for name in REPLACEMENTS:
            value = keywords.get(name)
            if value is not None and value is not False:
                warnings.warn(
                    f"experiment({name}=...) is deprecated: use {REPLACEMENTS[name]}",
                    DeprecationWarning,
                    stacklevel=3,  # warn() in given() <- experiment.__init__ <- the user's line
                )
        return cls(**keywords)


def _unknown_message(name: str, valid: list[str]) -> str:
    close = difflib.get_close_matches(name, valid, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else f"; valid keywords: {', '.join(valid)}"
    return f"experiment() got an unexpected keyword argument {name!r}{hint}"


def caller_paths() -> list[Path]:
    """The folder of the first calling file outside xpm_core: where the plan's code is."""
    frame = sys._getframe(1)
    while frame is not None:
        filename = frame.f_code.co_filename
        if not filename.startswith("<") and not str(Path(filename).resolve()).startswith(_XPM_CORE):
            return [Path(filename).resolve().parent]
        frame = frame.f_back  # type: ignore[assignment]
    return []


def before_run(xp: experiment) -> None:
    """At ``__enter__``, before anything is written: the git check (``dirty_git``)."""
    from xpm_core.runtime.dirty_git import check_dirty_git

    keywords: ExperimentKeywords = xp.keywords
    if keywords.dirty_git == "ignore":
        return
    paths = keywords.project_paths if keywords.project_paths is not None else caller_paths()
    if keywords.dirty_git == "error":
        check_dirty_git(paths, keywords.dirty_git, setting='dirty_git="warn"')
        return
    # A warning only: git runs beside the plan, and the run waits for it at the end.
    checker = threading.Thread(
        target=check_dirty_git, args=(paths, keywords.dirty_git), kwargs={"setting": ""}, name="xpm-dirty-git",
        daemon=True,
    )
    checker.start()
    xp._stack.callback(checker.join)


def after_open(xp: experiment) -> None:
    """At ``__enter__``, once the run is open: the web monitor of ``port=`` (closed at the end of the
    run; with ``wait_for_quit=True``, after Ctrl-C)."""
    from xpm_core.runtime.web_monitor import keep_up_until_interrupted, start_web_monitor

    keywords: ExperimentKeywords = xp.keywords
    if keywords.port is None or keywords.port < 0:  # experimaestro: a negative port means no server
        return
    try:
        monitor = start_web_monitor(
            xp.workspace, xp.name, xp.run_id, port=keywords.port, host=keywords.host, token=keywords.token,
            what="experiment(port=...)",
        )
    except Exception as error:  # a view: the run goes on without it (port taken, bad host...)
        print(f"xpm: warning: experiment(port={keywords.port}): the web monitor did not start: {error}",
              file=sys.stderr)
        return
    if monitor is None:
        return
    xp._stack.callback(monitor.close)
    if keywords.wait_for_quit:
        def keep_up() -> None:
            if _ended_normally(xp):  # not after Ctrl-C: the user wants out already
                keep_up_until_interrupted(monitor)

        xp._stack.callback(keep_up)


def _ended_normally(xp: experiment) -> bool:
    import json

    try:
        status = json.loads((xp.run_dir / "status.json").read_text())["status"]
    except (OSError, ValueError, KeyError):
        return False
    return status in ("done", "failed")

