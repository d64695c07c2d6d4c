"""The history of an experiment: its runs, their tags, and pruning old runs (never job folders).

A run is the record ``experiments/<xp-id>/<run-id>/`` of one execution of a plan. Pruning deletes
run records only: jobs that no run lists any more become orphans, which ``xpm orphans`` shows and
cleans. Rules (experimaestro's ``HistorySettings``): the newest ``max_done`` successful runs and
the newest ``max_failed`` failed runs are kept; a successful run removes the failed runs older
than it; runs still running, of unknown status, tagged, or kept by the caller are never removed.
``xpm experiments history-prune`` also selects runs as experimaestro's does (:class:`RunFilter`).
"""

from __future__ import annotations

import datetime
import json
import logging
import os
import re
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Optional

import attrs

from xpm_core.workspace import disk

if TYPE_CHECKING:
    from xpm_core.workspace.index import WorkspaceIndex

logger = logging.getLogger("xpm.history")

DEFAULT_MAX_DONE = 5
DEFAULT_MAX_FAILED = 1
#: Run ids that name a run by its place in the history.
SPECIAL_RUN_IDS = ("latest", "oldest")

#: Statuses of runs that ended well, or not (a "detached" run lost its driver: it did not complete).
DONE_STATUSES = frozenset({"done", "completed"})
FAILED_STATUSES = frozenset({"failed", "error", "detached"})


class HistoryError(LookupError):
    """An unknown run or tag, or a tag already on another run."""


@attrs.frozen
class HistoryLimits:
    """How many successful and failed runs of an experiment are kept."""

    max_done: int = DEFAULT_MAX_DONE
    max_failed: int = DEFAULT_MAX_FAILED


def limits_of(*sources: Any) -> HistoryLimits:
    """The limits of the first source with a ``history`` (a workspace of settings.yaml, then the
    settings), else the defaults. Read defensively: settings without history support give defaults."""
    for source in sources:
        history = getattr(source, "history", None)
        if history is not None:
            return HistoryLimits(
                max_done=int(getattr(history, "max_done", DEFAULT_MAX_DONE)),
                max_failed=int(getattr(history, "max_failed", DEFAULT_MAX_FAILED)),
            )
    return HistoryLimits()


@attrs.frozen(kw_only=True)
class RunEntry:
    """One run of an experiment as its ``status.json`` and ``jobs.jsonl`` describe it."""

    experiment_id: str
    run_id: str
    path: Path
    status: Optional[str]
    started_at: Optional[float]
    ended_at: Optional[float]
    job_ids: tuple[str, ...]
    tags: tuple[str, ...]

    @property
    def outcome(self) -> Optional[str]:
        """"done", "failed", or None (running or unknown: never pruned)."""
        if self.status in DONE_STATUSES:
            return "done"
        if self.status in FAILED_STATUSES:
            return "failed"
        return None


def _read_status(run_dir: Path) -> dict[str, Any]:
    try:
        content = json.loads((run_dir / "status.json").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return {}
    return content if isinstance(content, dict) else {}


def _tags(status: dict[str, Any]) -> tuple[str, ...]:
    tags = status.get("run_tags")
    return tuple(tag for tag in tags if isinstance(tag, str)) if isinstance(tags, list) else ()


def experiment_runs(workspace: Path, experiment_id: str) -> list[RunEntry]:
    """The runs of ``experiment_id``, oldest first (the ``current`` link is not a run)."""
    entries = []
    for run_dir in disk.run_directories(workspace, experiment_id):
        status = _read_status(run_dir)
        entries.append(RunEntry(
            experiment_id=experiment_id,
            run_id=run_dir.name,
            path=run_dir,
            status=status.get("status") if isinstance(status.get("status"), str) else None,
            started_at=disk.to_timestamp(status.get("started_at")),
            ended_at=disk.to_timestamp(status.get("ended_at")),
            job_ids=tuple(entry.job_id for entry in disk.read_run_jobs(run_dir)),
            tags=_tags(status),
        ))
    return sorted(entries, key=lambda run: disk.run_order_key(run.run_id, run.started_at))


def runs_to_prune(runs: list[RunEntry], limits: HistoryLimits, keep: Iterable[str] = ()) -> list[RunEntry]:
    """The runs (oldest first) that the rules remove; ``runs`` oldest first, ``keep`` never removed."""
    protected = set(keep)
    removed: set[str] = set()
    # A successful run makes the failures before it history.
    newest_done = max((position for position, run in enumerate(runs) if run.outcome == "done"), default=-1)
    for run in runs[:max(newest_done, 0)]:
        if run.outcome == "failed":
            removed.add(run.run_id)
    for outcome, limit in (("done", limits.max_done), ("failed", limits.max_failed)):
        # Tagged runs are kept and do not count: a tag says "keep this one".
        counted = [run for run in runs if run.outcome == outcome and not run.tags and run.run_id not in removed]
        surplus = counted[:max(len(counted) - max(limit, 0), 0)]
        removed.update(run.run_id for run in surplus)
    return [run for run in runs if run.run_id in removed and run.run_id not in protected and not run.tags]


#: A run id: its start time, ``YYYYmmdd_HHMMSS``, then ``.N`` when several started in one second.
_RUN_TIME = re.compile(r"^(\d{8}_\d{6})(?:\.\d+)?$")
_TIME_FORMATS = ("%Y%m%d_%H%M%S", "%Y%m%d", "%Y-%m-%d", "%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S",
                 "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S")


def parse_run_time(text: str) -> str:
    """A time as run ids write it (``20250101_000000``), from ``YYYYMMDD[_HHMMSS]`` or ISO
    ``YYYY-MM-DD[THH:MM[:SS]]``; ValueError naming the accepted forms otherwise."""
    for form in _TIME_FORMATS:
        try:
            return datetime.datetime.strptime(text.strip(), form).strftime("%Y%m%d_%H%M%S")
        except ValueError:
            continue
    raise ValueError(f"{text!r} is not a time: use YYYYMMDD_HHMMSS (as run ids), YYYYMMDD or YYYY-MM-DD[THH:MM[:SS]]")


@attrs.frozen(kw_only=True)
class RunFilter:
    """experimaestro's ``history-prune`` selection: runs between two times, of one outcome, but the
    ``keep`` newest of them. Times are run-id times (``parse_run_time``), compared with run ids."""

    before: Optional[str] = None  # runs started before this time
    after: Optional[str] = None  # runs started after this time
    outcome: Optional[str] = None  # "done" or "failed"
    keep: Optional[int] = None  # the newest runs among those selected that are kept

    def matches(self, run: RunEntry) -> bool:
        if run.outcome is None:  # running, or unknown: never removed
            return False
        if self.outcome is not None and run.outcome != self.outcome:
            return False
        if self.before is None and self.after is None:
            return True
        started = _RUN_TIME.match(run.run_id)
        if started is None:  # a run id that says no time: no time filter selects it
            return False
        if self.before is not None and not started.group(1) < self.before:
            return False
        return self.after is None or started.group(1) > self.after


def runs_selected(runs: list[RunEntry], run_filter: RunFilter, keep: Iterable[str] = ()) -> list[RunEntry]:
    """The runs (oldest first) ``run_filter`` selects; tagged runs and ``keep`` are never selected."""
    selected = [run for run in runs if run_filter.matches(run) and not run.tags]
    if run_filter.keep:  # the newest N of the selection, the latest run among them if selected
        selected = selected[:max(len(selected) - run_filter.keep, 0)]
    protected = set(keep)
    return [run for run in selected if run.run_id not in protected]


def remove_run(run: RunEntry) -> None:
    """Delete a run's record folder; its ``jobs/`` entries are links, the jobs themselves stay."""

    try:
        shutil.rmtree(run.path)  # rmtree unlinks symbolic links, never follows them
    except FileNotFoundError:
        pass  # removed meanwhile (by another prune)


def prune(
    workspace: Path,
    experiment_id: str,
    limits: HistoryLimits,
    *,
    keep: Iterable[str] = (),
    dry_run: bool = False,
    index: Optional[WorkspaceIndex] = None,
    run_filter: Optional[RunFilter] = None,
) -> list[RunEntry]:
    """Remove the runs :func:`runs_to_prune` selects, or :func:`runs_selected` with ``run_filter``
    (unless ``dry_run``), and forget them in ``index``.

    The latest run is always kept: ``current`` points to it.
    """
    runs = experiment_runs(workspace, experiment_id)
    if not runs:
        return []
    kept = {*keep, runs[-1].run_id}
    doomed = runs_selected(runs, run_filter, kept) if run_filter is not None else runs_to_prune(runs, limits, kept)
    if dry_run:
        return doomed
    for run in doomed:
        remove_run(run)
        if index is not None:
            try:
                index.forget_run(experiment_id, run.run_id)
            except Exception as error:  # the files won; a rebuild (xpm experiments sync) agrees
                logger.debug("could not forget run %s in the index: %s", run.run_id, error)
    return doomed


def prune_after_run(xp: Any) -> None:
    """At the end of a run: prune the experiment's history as the settings say (never failing the run)."""
    try:
        from xpm_core.runtime import index_updates

        settings = settings_if_any()
        workspace = workspace_settings_at(settings, xp.workspace)
        limits = limits_of(workspace, settings)
        doomed = prune(xp.workspace, xp.name, limits, keep=[xp.run_id])
        if doomed:
            logger.info("experiment %s: removed %d old run(s) (history: max_done=%d, max_failed=%d): %s",
                        xp.name, len(doomed), limits.max_done, limits.max_failed,
                        ", ".join(run.run_id for run in doomed))
            xp._scheduler.records.post(index_updates.runs_pruned, xp.workspace, xp.name,
                                       [run.run_id for run in doomed])
    except Exception as error:
        logger.warning("experiment %s: could not prune old runs: %s", xp.name, error)


def settings_if_any() -> Any:
    """The settings, when a settings file exists (none: defaults)."""
    try:  # where the settings are read from, when the settings package says it (experimaestro's file too)
        from xpm_core.settings.directory import settings_path  # type: ignore[attr-defined]

        path = settings_path()
    except ImportError:
        from xpm_core.settings.directory import config_dir

        path = config_dir() / "settings.yaml"
    if not path.exists():
        return None
    from xpm_core.settings.settings_file import load_settings

    return load_settings()


def workspace_settings_at(settings: Any, path: Path) -> Any:
    """The workspace of settings.yaml at ``path`` (its own ``history`` wins), or None."""
    for workspace in getattr(settings, "workspaces", None) or []:
        if Path(workspace.path) == path:
            return workspace
    return None


# ---- run tags --------------------------------------------------------------------------------


def resolve_run(runs: list[RunEntry], run_id: str) -> RunEntry:
    """The run ``run_id`` names (``latest``, ``oldest`` or a run id)."""
    if not runs:
        raise HistoryError("the experiment has no run")
    if run_id == "latest":
        return runs[-1]
    if run_id == "oldest":
        return runs[0]
    for run in runs:
        if run.run_id == run_id:
            return run
    raise HistoryError(f"no run {run_id!r} (runs: {', '.join(run.run_id for run in runs)}; or latest, oldest)")


def _write_tags(run: RunEntry, tags: list[str]) -> None:
    status = _read_status(run.path)
    status["run_tags"] = tags
    temporary = run.path / f".status.json.{os.getpid()}.tags.tmp"
    temporary.write_text(json.dumps(status, indent=2, default=str))
    os.replace(temporary, run.path / "status.json")


def tag_map(runs: list[RunEntry]) -> dict[str, str]:
    """tag -> the run id that carries it."""
    return {tag: run.run_id for run in runs for tag in run.tags}


def tag_run(workspace: Path, experiment_id: str, run_id: str, tag: str, *, force: bool = False) -> RunEntry:
    """Put ``tag`` on a run (one run per tag: ``force`` moves it from the run that has it)."""
    runs = experiment_runs(workspace, experiment_id)
    run = resolve_run(runs, run_id)
    holder = tag_map(runs).get(tag)
    if holder is not None and holder != run.run_id:
        if not force:
            raise HistoryError(f"the tag {tag!r} is on run {holder}: untag it first, or use --force to move it")
        old = resolve_run(runs, holder)
        _write_tags(old, [name for name in old.tags if name != tag])
    if tag not in run.tags:
        _write_tags(run, [*run.tags, tag])
    return run


def untag(workspace: Path, experiment_id: str, tag: str) -> RunEntry:
    """Remove ``tag`` from the run that carries it."""
    runs = experiment_runs(workspace, experiment_id)
    holder = tag_map(runs).get(tag)
    if holder is None:
        known = ", ".join(sorted(tag_map(runs))) or "none"
        raise HistoryError(f"no run of {experiment_id} has the tag {tag!r} (tags: {known})")
    run = resolve_run(runs, holder)
    _write_tags(run, [name for name in run.tags if name != tag])
    return run


def run_tags_of(run_dir: Path) -> list[str]:
    """The tags of a run (what a driver rewriting its ``status.json`` must keep)."""
    return list(_tags(_read_status(run_dir)))
