"""``xpm experiments history / history-prune / tag / tags / untag``: the runs of an experiment."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

import click

from xpm_core.cli.workspace_options import workspace_options

if TYPE_CHECKING:
    from xpm_core.maintenance.history import RunEntry


def _runs(workspace: Path, experiment_id: str) -> list[RunEntry]:
    """The runs of an existing experiment; a usage error naming the known ones otherwise."""
    from xpm_core.cli.input_errors import InputError, checked_name
    from xpm_core.maintenance.history import experiment_runs
    from xpm_core.workspace import disk

    checked_name(experiment_id, "experiment id")
    runs = experiment_runs(workspace, experiment_id)
    if not runs:
        known = sorted({run.parent.name for run in disk.run_directories(workspace)})
        raise InputError(f"no experiment {experiment_id!r} with a run in {workspace} "
                         f"(experiments: {', '.join(known) or 'none'})")
    return runs


def _history_error(error: Exception) -> click.ClickException:
    from xpm_core.cli.input_errors import InputError

    return InputError(str(error))


def _counts(workspace: Path, experiment_id: str, runs: list[RunEntry]) -> dict[str, dict[str, int]]:
    """run id -> state value -> jobs, with states as the markers say (the index is corrected)."""
    from xpm_core.cli.reconciling import reconcile_quietly
    from xpm_core.workspace.index import WorkspaceIndex

    counts: dict[str, dict[str, int]] = {}
    with WorkspaceIndex(workspace) as index:
        reconcile_quietly(workspace, index)
        known = {run.run_id for run in index.runs(experiment_id)}
        for run in runs:
            if run.run_id not in known:
                continue
            states: dict[str, int] = {}
            for job in index.jobs(experiment_id, run.run_id):
                states[job.state.value] = states.get(job.state.value, 0) + 1
            counts[run.run_id] = states
    return counts


def _time(stamp: Optional[float]) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(stamp)) if stamp is not None else "-"


def _duration(run: RunEntry) -> str:
    if run.started_at is None:
        return "-"
    end = run.ended_at if run.ended_at is not None else (time.time() if run.status == "running" else None)
    if end is None:
        return "-"
    seconds = int(max(end - run.started_at, 0))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


def _jobs_text(states: Optional[dict[str, int]], total: int) -> str:
    if states is None:
        return f"{total} job(s)"
    done = states.get("done", 0)
    errors = states.get("error", 0)
    return f"{done}/{sum(states.values())} done" + (f", {errors} error" if errors else "")


@click.command("history")
@click.argument("experiment_id")
@click.option("--json", "as_json", is_flag=True, help="Print the runs as a JSON list.")
@workspace_options
def history_command(workspace: Path, experiment_id: str, as_json: bool) -> None:
    """List the runs of EXPERIMENT_ID, oldest first: status, start, duration, jobs and tags.

    Old runs are removed at the end of each run as settings.yaml's 'history' says (default: the
    5 latest successful runs and the latest failed one); 'history-prune' does it by hand.
    """
    runs = _runs(workspace, experiment_id)
    counts = _counts(workspace, experiment_id, runs)
    if as_json:
        rows: list[dict[str, Any]] = [
            {"run_id": run.run_id, "status": run.status, "started_at": run.started_at, "ended_at": run.ended_at,
             "job_count": len(run.job_ids), "job_states": counts.get(run.run_id, {}), "tags": list(run.tags),
             "current": position == len(runs) - 1}
            for position, run in enumerate(runs)
        ]
        click.echo(json.dumps(rows, indent=2))
        return
    table = [("RUN", "STATUS", "STARTED", "DURATION", "JOBS", "TAGS")]
    for position, run in enumerate(runs):
        marker = " *" if position == len(runs) - 1 else ""
        table.append((run.run_id + marker, run.status or "unknown", _time(run.started_at), _duration(run),
                      _jobs_text(counts.get(run.run_id), len(run.job_ids)), ", ".join(run.tags)))
    widths = [max(len(row[column]) for row in table) for column in range(len(table[0]))]
    for row in table:
        click.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())
    click.echo(f"{len(runs)} run(s); * marks the latest (experiments/{experiment_id}/current).")


@click.command("history-prune")
@click.argument("experiment_id")
@click.option("--max-done", type=click.IntRange(0), help="Successful runs to keep (default: settings.yaml, else 5).")
@click.option("--max-failed", type=click.IntRange(0), help="Failed runs to keep (default: settings.yaml, else 1).")
@click.option("--before", metavar="TIME",
              help="Select the runs started before TIME: YYYYMMDD_HHMMSS (as run ids), YYYYMMDD or YYYY-MM-DD[THH:MM].")
@click.option("--after", metavar="TIME", help="Select the runs started after TIME (same forms as --before).")
@click.option("--status", type=click.Choice(["completed", "done", "failed"], case_sensitive=False),
              help="Select only the successful (completed, or done) or failed runs.")
@click.option("--keep", type=click.IntRange(0), metavar="N",
              help="Of the selected runs, keep the N newest.")
@click.option("--keep-tagged", is_flag=True,
              help="Keep tagged runs (accepted for experimaestro: xpm never removes a tagged run).")
@click.option("--dry-run", is_flag=True, help="Show what would be removed, remove nothing.")
@click.option("--force", is_flag=True,
              help="With --before/--after/--status/--keep: remove without asking first (the question is "
              "asked only when standard input is a terminal).")
@workspace_options
def history_prune_command(workspace: Path, experiment_id: str, max_done: Optional[int], max_failed: Optional[int],
                          before: Optional[str], after: Optional[str], status: Optional[str], keep: Optional[int],
                          keep_tagged: bool, dry_run: bool, force: bool) -> None:
    """Remove old runs of EXPERIMENT_ID, by the history rules or by a selection.

    \b
    By the rules (the default, as at the end of each run): keep the newest --max-done
    successful and --max-failed failed runs; a successful run also removes the failed runs
    older than it.
    By a selection (experimaestro's options): --before/--after TIME, --status completed|failed
    and --keep N select the runs to remove, e.g. `--status failed --keep 2` removes all the
    failed runs but the 2 newest; `--before 20250101` removes the runs started before 2025.

    In both cases running runs, runs of unknown status, tagged runs and the latest run are kept.
    Only run records are removed, never job folders: jobs no run lists any more are orphans
    ('xpm orphans' lists and cleans them).
    """
    import attrs

    from xpm_core.cli.input_errors import InputError
    from xpm_core.maintenance.history import RunFilter, limits_of, parse_run_time, prune
    from xpm_core.workspace.index import WorkspaceIndex

    del keep_tagged  # tagged runs are always kept
    selecting = any(value is not None for value in (before, after, status, keep))
    if selecting and (max_done is not None or max_failed is not None):
        raise InputError("--max-done/--max-failed (the history rules) and --before/--after/--status/--keep "
                         "(a selection) do not go together: use one or the other")
    run_filter = None
    if selecting:
        times = {}
        for option, value in (("--before", before), ("--after", after)):
            try:
                times[option] = parse_run_time(value) if value is not None else None
            except ValueError as error:
                raise InputError(f"{option}: {error}") from None
        outcome = None if status is None else ("failed" if status.lower() == "failed" else "done")
        run_filter = RunFilter(before=times["--before"], after=times["--after"], outcome=outcome, keep=keep)
    _runs(workspace, experiment_id)
    limits = limits_of(*_settings_sources(workspace))
    if max_done is not None:
        limits = attrs.evolve(limits, max_done=max_done)
    if max_failed is not None:
        limits = attrs.evolve(limits, max_failed=max_failed)
    with WorkspaceIndex(workspace) as index:
        if run_filter is not None and not dry_run and not force and _interactive():
            planned = prune(workspace, experiment_id, limits, dry_run=True, run_filter=run_filter)
            for run in planned:
                click.echo(f"will remove run {run.run_id} ({run.status or 'unknown'}, {len(run.job_ids)} job(s))")
            if planned and not click.confirm(f"Remove {len(planned)} run(s)?"):
                click.echo("Nothing removed.")
                return
        removed = prune(workspace, experiment_id, limits, dry_run=dry_run, index=index, run_filter=run_filter)
    verb = "would remove" if dry_run else "removed"
    for run in removed:
        click.echo(f"{verb} run {run.run_id} ({run.status or 'unknown'}, {len(run.job_ids)} job(s))")
    rules = _selection_text(run_filter) if run_filter is not None else (
        f"max_done={limits.max_done}, max_failed={limits.max_failed}")
    if not removed:
        click.echo(f"Nothing to remove ({rules}).")
    elif dry_run:
        click.echo(f"Dry run: {len(removed)} run(s) would be removed ({rules}); run again without --dry-run.")
    else:
        click.echo(f"Removed {len(removed)} run(s) ({rules}). Jobs they alone listed are now orphans: "
                   "'xpm orphans' shows them.")


def _interactive() -> bool:
    """Whether someone can answer a question (a script or a pipe on stdin cannot)."""
    import sys

    return sys.stdin.isatty()


def _selection_text(run_filter: Any) -> str:
    parts = [f"{name}={value}" for name, value in (("before", run_filter.before), ("after", run_filter.after),
                                                   ("status", run_filter.outcome), ("keep", run_filter.keep))
             if value is not None]
    return ", ".join(parts)


def _settings_sources(workspace: Path) -> list[Any]:
    """The workspace of settings.yaml at ``workspace`` and the settings (defaults without a file)."""
    from xpm_core.maintenance.history import settings_if_any, workspace_settings_at

    settings = settings_if_any()
    return [workspace_settings_at(settings, workspace), settings]


@click.command("tag")
@click.argument("experiment_id")
@click.argument("run_id")
@click.argument("tag")
@click.option("--force", is_flag=True, help="Move the tag if another run has it.")
@workspace_options
def tag_command(workspace: Path, experiment_id: str, run_id: str, tag: str, force: bool) -> None:
    """Tag run RUN_ID (or 'latest', 'oldest') of EXPERIMENT_ID with TAG; a tag names one run.

    Tagged runs are never removed by history pruning.
    """
    from xpm_core.cli.input_errors import InputError
    from xpm_core.maintenance.history import HistoryError, tag_run

    if not tag.strip() or tag != tag.strip():
        raise InputError(f"invalid tag {tag!r}: a tag is a non-empty word without surrounding spaces")
    _runs(workspace, experiment_id)
    try:
        run = tag_run(workspace, experiment_id, run_id, tag, force=force)
    except HistoryError as error:
        raise _history_error(error) from None
    click.echo(f"Tagged run {run.run_id} of {experiment_id} with {tag!r}.")


@click.command("tags")
@click.argument("experiment_id")
@click.option("--json", "as_json", is_flag=True, help="Print {tag: run id} as JSON.")
@workspace_options
def tags_command(workspace: Path, experiment_id: str, as_json: bool) -> None:
    """List the run tags of EXPERIMENT_ID and the run each names."""
    from xpm_core.maintenance.history import tag_map

    tags = tag_map(_runs(workspace, experiment_id))
    if as_json:
        click.echo(json.dumps(tags, indent=2, sort_keys=True))
        return
    if not tags:
        click.echo(f"No run of {experiment_id} is tagged ('xpm experiments tag {experiment_id} latest NAME').")
    for tag, run_id in sorted(tags.items()):
        click.echo(f"{tag}  {run_id}")


@click.command("untag")
@click.argument("experiment_id")
@click.argument("tag")
@workspace_options
def untag_command(workspace: Path, experiment_id: str, tag: str) -> None:
    """Remove TAG from the run of EXPERIMENT_ID that carries it."""
    from xpm_core.maintenance.history import HistoryError, untag

    _runs(workspace, experiment_id)
    try:
        run = untag(workspace, experiment_id, tag)
    except HistoryError as error:
        raise _history_error(error) from None
    click.echo(f"Removed the tag {tag!r} from run {run.run_id} of {experiment_id}.")
