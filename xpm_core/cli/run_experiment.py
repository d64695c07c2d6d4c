"""``xpm run-experiment YAML_FILE [ARGS]``: read the YAML files, find ``run(helper, cfg)``, run it, report.

The command exits with 0 when every job is done, 1 when a job failed (after a summary naming
each failed job and its log) or the plan's code raised, 2 when what was given is wrong (a file,
a key, an option). Errors are one message, without traceback unless ``--debug``.
"""

from __future__ import annotations

import contextlib
import datetime
import functools
import json
import logging
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Optional

import attrs
import click

from xpm_core.cli.input_errors import checked_name
from xpm_core.cli.workspace_options import resolve_workspace
from xpm_core.experiments.errors import ExperimentSetupError
from xpm_core.runtime.experiment import RunMode

if TYPE_CHECKING:
    from xpm_core.experiments.run_function import RunFunction
    from xpm_core.runtime.experiment import experiment


class CommandError(click.ClickException):
    """A one-line error with the exit code of its kind: 2 (what was given is wrong) or 1 (runtime)."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def _failure(error: ExperimentSetupError, debug: bool) -> BaseException:
    cause = error.__cause__
    if debug and cause is not None and not error.usage:
        return cause  # --debug: the user's own exception, with its traceback
    return CommandError(str(error), 2 if error.usage else 1)


def _configure_logging(debug: bool) -> None:
    logging.basicConfig(level=logging.DEBUG if debug else logging.WARNING, format="%(name)s: %(levelname)s: %(message)s")
    from xpm_core.runtime.experiment import summary_logger

    summary_logger.disabled = True  # this command prints a fuller summary of its own


def _check_writable(path: Path) -> None:
    """Fail early, with the reason, when jobs and records could not be written to the workspace."""
    probe = path / f".xpm-write-test-{os.getpid()}"
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe.touch()
        probe.unlink()
    except OSError as error:
        raise CommandError(f"cannot write to the workspace {path}: {error.strerror or error}", 1) from None


def _check_git(run: RunFunction, action: Any) -> None:
    """Apply ``dirty_git`` to the repository holding the plan's code."""
    from xpm_core.runtime.dirty_git import DirtyGitError, check_dirty_git

    if run.project_path is None:
        return
    try:
        check_dirty_git([run.project_path], action, setting="dirty_git: warn")
    except DirtyGitError as error:
        raise CommandError(str(error), 1) from None


@attrs.define
class Display:
    """What shows the run: a monitor (``view``), the progress line, the events viewer."""

    view: Optional[str]
    view_options: dict[str, Any]
    progress: bool = True
    keep_web: bool = False  # --web: the web monitor stays up after the run, until Ctrl-C
    events: Optional[str] = None  # the --events-format, when --events-viewer
    summary_shown: bool = False


def _start_watchers(xp: experiment, view: str | None, options: dict[str, Any],
                    hand_over: Callable[[Any, experiment], None] | None = None, progress: bool = True) -> list[Any]:
    """The monitor called ``view`` showing this run (given to ``hand_over`` to run, when it
    is a foreground monitor), or else the progress line (unless ``progress`` is false)."""
    from xpm_core.experiments.progress import ProgressLine

    if view is not None:
        from xpm_core.plugin.monitor import create_monitor

        monitor = create_monitor(view, xp.workspace, experiment_id=xp.name, run_id=xp.run_id, **options)
        if hand_over is not None:
            hand_over(monitor, xp)
        else:
            monitor.start()
        return [monitor]
    if not progress:
        return []
    line = ProgressLine(lambda: [job.state for job in list(xp.jobs.values())])
    line.start()
    return [line]


def _apply_watcher(watcher: str, polling_interval: float | None) -> None:
    """``--watcher`` / ``--polling-interval``: how the monitors of this run (``--port``, ``--web``,
    ``--console``) watch job markers, and how often the driver polls launchers (see their help)."""
    from xpm_core.workspace.watcher import INTERVAL_ENV, MODES, WATCHER_ENV

    watcher = watcher.lower()
    if polling_interval is not None:
        from xpm_core.runtime.scheduler import Scheduler

        Scheduler.polling_interval = polling_interval
        os.environ[INTERVAL_ENV] = str(polling_interval)
        if watcher == "auto":  # an interval is asked for: it is a polling one
            watcher = "polling"
    if watcher not in MODES:
        click.echo(f"xpm: note: --watcher {watcher} is not available in xpm: monitors poll the job folders "
                   f"(inotify and polling are)", err=True)
        watcher = "polling"
    if watcher != "auto":  # auto: leave XPM_WATCHER as the user set it
        os.environ[WATCHER_ENV] = watcher


def _stop_watchers(watchers: list[Any]) -> None:
    for watcher in reversed(watchers):
        if hasattr(watcher, "close"):
            watcher.close()
        else:
            watcher.stop()


#: In the order of the documentation (cli.txt).
RUN_MODE_NAMES = ["DRY_RUN", "NORMAL", "GENERATE_ONLY", "PREPARE"]
#: experimaestro's --watcher values; xpm's marker watcher has inotify and polling (see the option's help).
WATCHERS = ["auto", "polling", "inotify", "fsevents", "kqueue", "windows"]
#: --events-format (xpm_core.experiments.events_viewer.FORMATS; not imported: --help stays fast).
EVENTS_FORMATS = ["text", "json"]


@click.command("run-experiment", context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("yaml_file", metavar="YAML_FILE")
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
@click.option(
    "--run-mode",
    type=click.Choice(RUN_MODE_NAMES, case_sensitive=False),
    metavar=f"[{'|'.join(RUN_MODE_NAMES)}]",
    default="NORMAL",
    show_default=True,
    help="NORMAL runs the jobs; DRY_RUN prints what would run; GENERATE_ONLY writes the job folders; "
    "PREPARE runs the Prepare configurations only.",
)
@click.option("--workspace", "workspace_id", metavar="ID", help="A workspace of settings.yaml, by id.")
@click.option("--workdir", type=click.Path(file_okay=False), metavar="PATH", help="The workspace directory.")
@click.option("--web", is_flag=True, help="Follow the jobs in a browser (needs xpm-web): the web monitor listens on "
              "settings.yaml's server port, else 12345 or a free port, and stays up after the run until Ctrl-C.")
@click.option("--port", type=click.IntRange(1, 65535), metavar="N", help="Follow the jobs in a browser on this port (needs xpm-web).")
@click.option("--console", is_flag=True, help="Follow the jobs in the terminal instead of the progress line: the "
              "interactive TUI (plugin xpm-tui) when installed, else the console view.")
@click.option("--host", metavar="HOST", help="Address the web monitor listens on (with --port or --web).")
@click.option("--no-progress", is_flag=True, help="Do not show the progress line (job counts on stderr).")
@click.option("--events-viewer", is_flag=True, help="Write the scheduler's events on stdout, one line each, for scripts "
              "to read: experiment_started, job_submitted, job_state (each change), experiment_finished.")
@click.option("--events-format", type=click.Choice(EVENTS_FORMATS), default="text", show_default=True,
              help="The lines of --events-viewer: short text, or one JSON object each (keys: event, time, ...).")
@click.option("--watcher", type=click.Choice(WATCHERS, case_sensitive=False), default="auto", show_default=True,
              help="How the monitors of this run (--port, --web, --console) notice job markers (NAME.done, "
              "NAME.failed) written without a driver: inotify, polling, or auto (inotify on a local Linux file "
              "system, else polling); sets XPM_WATCHER. fsevents, kqueue and windows are accepted for "
              "experimaestro's command lines and mean polling (a note says so). The driver itself always asks "
              "each job's launcher (process table, squeue, oarstat) at the polling interval.")
@click.option("--polling-interval", type=click.FloatRange(min=0.01), metavar="SECONDS",
              help="Seconds between two looks at the jobs: by the driver, for every launcher (default: each "
              "launcher's own, 0.005 to 0.05 s for local jobs, poll_interval of batch launchers), and by the "
              "monitors' marker watcher, which then polls (default 1 s); sets XPM_POLLING_INTERVAL.")
@click.option("--no-db", is_flag=True, help="Accepted for experimaestro's command lines; does nothing (xpm's index is "
              "a cache rebuilt from the files, never a requirement).")
@click.option("--pre-yaml", multiple=True, metavar="FILE", help="A YAML file loaded before the main one (repeatable).")
@click.option("--post-yaml", multiple=True, metavar="FILE", help="A YAML file loaded after the main one (repeatable).")
@click.option("-c", "--conf", multiple=True, metavar="KEY=VALUE", help="Set a key, e.g. -c model.size=128 (value read as YAML; repeatable).")
@click.option("--file", "xp_file", metavar="PATH", help="The Python file defining run(helper, cfg).")
@click.option("--module-name", metavar="NAME", help="The Python module defining run(helper, cfg).")
@click.option("--env", multiple=True, type=(str, str), metavar="NAME VALUE", help="An environment variable of the jobs (repeatable).")
@click.option(
    "--xpm-config-dir",
    type=click.Path(exists=True, file_okay=False),
    metavar="DIR",
    help="The xpm configuration directory (settings.yaml, launchers.py) for this run; sets XPM_CONFIG_DIR.",
)
@click.option("--show", is_flag=True, help="Print the merged configuration (JSON) and exit.")
@click.option("--debug", is_flag=True, help="Log debug messages; show the traceback of errors in the plan's code.")
def run_experiment_command(
    yaml_file: str,
    args: tuple[str, ...],
    run_mode: str,
    workspace_id: str | None,
    workdir: str | None,
    web: bool,
    port: int | None,
    console: bool,
    host: str | None,
    no_progress: bool,
    events_viewer: bool,
    events_format: str,
    watcher: str,
    polling_interval: float | None,
    no_db: bool,
    pre_yaml: tuple[str, ...],
    post_yaml: tuple[str, ...],
    conf: tuple[str, ...],
    xp_file: str | None,
    module_name: str | None,
    env: tuple[tuple[str, str], ...],
    xpm_config_dir: str | None,
    show: bool,
    debug: bool,
) -> None:
    """Run the experiment described by YAML_FILE: call run(helper, cfg) of its plan, wait for the jobs.

    ARGS are handed to the plan's ExperimentHelper. The exit code is 1 when a job failed.
    """
    _configure_logging(debug)
    if xpm_config_dir is not None:
        from xpm_core.settings.settings_file import CONFIG_DIR_ENV

        os.environ[CONFIG_DIR_ENV] = str(Path(xpm_config_dir).absolute())
    if host is not None and port is None and not web:
        raise click.UsageError("--host is where the web monitor listens: give --port too (or --web)")
    if (port is not None or web) and console:
        raise click.UsageError(f"{'--web' if web else '--port'} (web monitor) and --console exclude each other: "
                               "choose one view")
    if port is not None or web:
        from xpm_core.plugin.monitor import monitor_available

        if not monitor_available("web"):
            raise CommandError(f"{'--web' if web else '--port'} needs the web monitor, which is not installed: "
                               "pip install xpm-web", 2)
    _apply_watcher(watcher, polling_interval)
    mode = RunMode.parse(run_mode)

    try:
        from xpm_core.experiments import run_function
        from xpm_core.experiments.grid import grid_axes
        from xpm_core.experiments.structuring import structure_configuration
        from xpm_core.experiments.yaml_loading import display, load_configuration

        loaded = load_configuration(yaml_file, pre_yaml, post_yaml, conf)
        if show:
            click.echo(json.dumps(loaded.data, indent=2, default=str))
            return
        location = run_function.locate(loaded, xp_file, module_name)
        run_function.extend_python_path(loaded, location)
        pre_experiment = loaded.data.get("pre_experiment")
        if isinstance(pre_experiment, str):
            run_function.run_pre_experiment(pre_experiment)
        run = run_function.find_run(run_function.import_plan(location), location)
        assert loaded.main_file is not None
        cfg = structure_configuration(loaded.data, run.schema, loaded.origins, display(loaded.main_file))
        grid_axes(cfg)  # a wrong grid_search path is a mistake in the YAML: report it before running
    except ExperimentSetupError as error:
        raise _failure(error, debug) from None

    experiment_id = cfg.id
    if getattr(cfg, "add_timestamp", False):
        experiment_id = f"{experiment_id}-{datetime.datetime.now().strftime('%Y%m%d-%H%M')}"
    checked_name(experiment_id, "experiment id (the id key)")
    settings = resolve_workspace(workdir, workspace_id, experiment_id)
    if mode is not RunMode.DRY_RUN:
        _check_writable(settings.path)
    if mode is RunMode.NORMAL and hasattr(cfg, "dirty_git"):
        _check_git(run, cfg.dirty_git)

    # The console view goes to stderr, like the progress line: stdout stays the plan's own.
    from xpm_core.plugin.monitor import console_monitor_name, monitor_is_foreground

    view = console_monitor_name() if console else "web" if port is not None or web else None
    view_options: dict[str, Any] = {}
    if view == "web":
        from xpm_core.runtime.web_monitor import web_options

        view_options = web_options(port, host, None)
    if view == "console":
        view_options = {"stream": sys.stderr}
    display = Display(view, view_options, progress=not no_progress, keep_web=web,
                      events=events_format if events_viewer else None)
    runner = functools.partial(_run, run, cfg, args, settings, experiment_id, mode, dict(env), display, debug)
    xp = _beside_foreground_view(runner) if view is not None and monitor_is_foreground(view) else runner()
    _report(xp, experiment_id, mode, settings.path, display)


def _beside_foreground_view(runner: Callable[..., experiment]) -> experiment:
    """Run the plan (``runner``) in a thread while a foreground monitor (the TUI) owns this one.

    The view closes when the run ends; when the user quits it first, the run stops waiting and
    leaves its jobs running, as Ctrl-C does.
    """
    import threading

    handed: list[tuple[Any, experiment]] = []
    outcome: list[experiment] = []
    errors: list[BaseException] = []
    ready = threading.Event()

    def hand_over(monitor: Any, xp: experiment) -> None:
        handed.append((monitor, xp))
        ready.set()

    def plan() -> None:
        try:
            outcome.append(runner(hand_over=hand_over))
        except BaseException as error:  # handed back to the main thread, raised there
            errors.append(error)
        finally:
            ready.set()

    thread = threading.Thread(target=plan, name="xpm-run-experiment")
    thread.start()
    ready.wait()
    if handed:
        monitor, xp = handed[0]
        try:
            monitor.run()  # until the user quits or the run ends (the plan thread closes it)
        finally:
            if thread.is_alive():
                xp.stop()
    thread.join()
    if errors:
        raise errors[0]
    return outcome[0]


def _run(
    run: RunFunction,
    cfg: Any,
    args: tuple[str, ...],
    settings: Any,
    experiment_id: str,
    mode: RunMode,
    env: dict[str, str],
    display: Display,
    debug: bool,
    hand_over: Callable[[Any, experiment], None] | None = None,
) -> experiment:
    """Call the plan inside an experiment and wait for its jobs, showing their progress."""
    from xpm_core.experiments.run_function import user_code_failure
    from xpm_core.runtime.experiment import experiment

    # dirty_git was applied by the command itself, to the plan's repository.
    xp = experiment(settings, experiment_id, run_mode=mode, env=env, dirty_git="ignore")
    watchers: list[Any] = []
    with contextlib.ExitStack() as stack:
        if display.events is not None and mode is RunMode.NORMAL:
            from xpm_core.experiments.events_viewer import EventsViewer, viewing

            stack.enter_context(viewing(EventsViewer(display.events)))
        try:
            with xp:
                run.helper.xp = xp
                if mode is RunMode.NORMAL:
                    click.echo(f"xpm: experiment {experiment_id}: run {xp.run_id} in {xp.workspace}", err=True)
                    watchers = _start_watchers(xp, display.view, display.view_options, hand_over, display.progress)
                try:
                    run.helper.run(list(args), cfg)
                except ExperimentSetupError:
                    raise
                except Exception as error:
                    raise user_code_failure(f"run() of {run.location.label}", error) from error
            if display.keep_web and watchers:
                from xpm_core.runtime.web_monitor import keep_up_until_interrupted

                _summary(xp, experiment_id, mode, display)  # the outcome first: the wait may be long
                keep_up_until_interrupted(watchers[0])
        except ExperimentSetupError as error:
            raise _failure(error, debug) from None
        finally:
            _stop_watchers(watchers)
    return xp


def _summary(xp: experiment, experiment_id: str, mode: RunMode, display: Display) -> None:
    """The end-of-run summary on stderr, once."""
    from xpm_core.experiments.summary import summary_lines

    if mode is not RunMode.NORMAL or display.summary_shown:
        return
    display.summary_shown = True
    for line in summary_lines(experiment_id, list(xp.jobs.values())):
        click.echo(line, err=True)


def _report(xp: experiment, experiment_id: str, mode: RunMode, workspace: Path, display: Display) -> None:
    """The end-of-run summary on stderr; exit code 1 when a job failed."""
    if mode is RunMode.GENERATE_ONLY:
        click.echo(f"xpm: job folders written in {workspace / 'jobs'} (GENERATE_ONLY: nothing was run)", err=True)
    if mode is not RunMode.NORMAL:
        return
    jobs = list(xp.jobs.values())
    _summary(xp, experiment_id, mode, display)
    failed = xp.failed_jobs()
    if failed:
        raise CommandError(f"{len(failed)} of {len(jobs)} jobs failed (see their logs above)", 1)
