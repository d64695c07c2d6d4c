"""The jobs of a run: a page of the index at a time, filtered as you type, sorted by any column."""

from __future__ import annotations

import time
from typing import Any, ClassVar, Optional

import attrs
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.timer import Timer
from textual.widgets import DataTable, Footer, Input, Static

from xpm_core.plugin import JobPage, JobSummary, RunSummary, WorkspaceAPIError
from xpm_tui.actions import confirm_and_act
from xpm_tui.formatting import (
    counts_text,
    duration,
    job_state_text,
    status_text,
    tag_value,
    timestamp,
)
from xpm_tui.screens.base import ViewScreen

#: Jobs fetched at once: what a screen shows, a few times over (the index is never read whole).
PAGE_SIZE = 100
#: (column key, label) around the tag columns; a key is also what ``WorkspaceAPI.jobs`` sorts by.
LEADING_COLUMNS = [("state", "State"), ("task", "Task"), ("job", "Job")]
TRAILING_COLUMNS = [("submitted", "Submitted"), ("duration", "Duration")]
#: Seconds the search box waits after a keystroke before querying: typing a filter queries once,
#: not once per character (each query would hold the workspace thread the next one waits for).
SEARCH_DEBOUNCE = 0.03
#: Jobs that "kill all" asks the launchers about: those that may have a process.
RUNNING_FILTER = '@state in ["running", "scheduled"]'


class JobsScreen(ViewScreen):
    """Jobs of one run of an experiment (``run_id`` None: its latest run, followed as new runs start)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "search", "Search"),
        Binding("enter", "open", "Job", show=True),
        Binding("l", "log", "Log"),
        Binding("s", "sort_next", "Sort"),
        Binding("r", "reverse", "Reverse"),
        Binding("n", "page(1)", "Next page"),
        Binding("p", "page(-1)", "Prev page"),
        Binding("k", "kill", "Kill"),
        Binding("K", "kill_all", "Kill all"),
        Binding("d", "clean", "Clean"),
        Binding("c", "copy_path", "Copy path"),
        Binding("v", "services", "Services"),
    ]

    #: The table has the keys first (Textual would focus the search box, the first focusable widget).
    AUTO_FOCUS = "#table"

    def __init__(self, experiment_id: str, run_id: Optional[str]) -> None:
        super().__init__()
        self.experiment_id = experiment_id
        self.follow_latest = run_id is None
        self.run_id = run_id
        self.filter = ""
        self.sort = "submitted"
        self.descending = True
        self.page_offset = 0
        self.page: Optional[JobPage] = None
        self.run: Optional[RunSummary] = None
        self._columns: list[str] = []
        self._run_stale = True
        #: The filter of the page on screen (what the table shows matches it).
        self.shown_filter: Optional[str] = None
        #: (run id, filter) whose total and tag names ``page`` holds: another page or another
        #: order of the same jobs does not count them again.
        self._counted: Optional[tuple[str, str]] = None
        #: The workspace changed: count again (the total on screen stays until then).
        self._recount = False
        self._search_timer: Optional[Timer] = None

    def compose(self) -> ComposeResult:
        yield Static(f"Experiment {self.experiment_id}", classes="title", id="title")
        yield Input(placeholder='filter, e.g.  @state = "error" and lr = 0.1   (/ to search, enter or escape: to the table)',
                    id="search", select_on_focus=False)
        yield Static("", classes="error", id="filter-error", markup=False)
        yield DataTable(cursor_type="row", zebra_stripes=True, id="table")
        yield Static("", classes="status", id="status")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#filter-error").display = False
        self.set_interval(1.0, self._tick_durations)
        super().on_mount()

    @property
    def table(self) -> DataTable[Any]:
        return self.query_one("#table", DataTable)

    def _tick_durations(self) -> None:
        """Redraw the page (no query) so that the durations of running jobs keep counting."""
        if self.page is not None and any(job.state == "running" for job in self.page.jobs):
            self.render_page()

    # ---- loading -----------------------------------------------------------------------------

    def reload(self) -> None:
        """Reload the run (its counts, a newer run to follow) and the page: the workspace changed."""
        self._run_stale = True
        self._recount = True
        super().reload()

    def reload_page(self) -> None:
        """Reload the page only (the filter, the sort or the page changed): one query, not two."""
        super().reload()

    async def load(self) -> None:
        experiment_id, run_id, follow = self.experiment_id, self.run_id, self.follow_latest
        wanted_filter = self.filter
        filter_text = self.filter.strip() or None
        request = dict(filter=filter_text, sort=self.sort, descending=self.descending,
                       offset=self.page_offset, limit=PAGE_SIZE)
        known = None if self._run_stale else self.run
        counted, previous, recount = self._counted, self.page, self._recount
        # A count still running for an older filter or run is of no use any more: stop it.
        self.backend.interrupt()

        def fetch(api: Any) -> tuple[Optional[RunSummary], Optional[JobPage], Optional[Exception]]:
            chosen = known
            if chosen is None:
                try:
                    runs = api.runs(experiment_id)
                except WorkspaceAPIError:
                    return None, None, None  # the experiment has not started yet
                chosen = runs[-1] if follow and runs else next((r for r in runs if r.run_id == run_id), None)
            if chosen is None:
                return None, None, None
            try:
                # The page only: counting the matches is a query of its own, made once per filter.
                return chosen, api.jobs(experiment_id=experiment_id, run_id=chosen.run_id, count=False,
                                        **request), None
            except WorkspaceAPIError as error:  # a filter being typed: shown in place
                return chosen, None, error

        run, page, error = await self.backend.call(fetch)
        if known is None:
            self._run_stale = False
        self.run = run
        if run is None:
            wanted = "experiment" if follow else f"run {run_id} of experiment"
            self.query_one("#title", Static).update(
                f"Waiting for {wanted} {experiment_id} to start in {self.xpm.sub_title}")
            return
        self.run_id = run.run_id
        title = self.query_one("#title", Static)
        title.update(Text.assemble(
            f"Experiment {experiment_id} · run {run.run_id} · ", status_text(run.status),
            f" · {run.hostname or '?'} · {counts_text(run.job_counts, run.job_count)}"))
        self.show_filter_error(error)
        if page is None:
            return
        selection = (run.run_id, wanted_filter)
        if counted == selection and previous is not None:
            # Another page or order of the same jobs: their total and tag names are known (and
            # stay on screen while they are counted again, if the workspace changed).
            page = attrs.evolve(page, total=previous.total, tag_names=previous.tag_names)
            uncounted = recount
        else:
            # Shown at once with the tags of its own jobs, counted next: typing never waits for
            # a count (a new keystroke interrupts it).
            names = sorted({name for job in page.jobs for name in job.tags})
            page = attrs.evolve(page, total=-1, tag_names=names)
            uncounted = True
        if self.show_page(page, wanted_filter) and uncounted:
            await self.count(experiment_id, run.run_id, filter_text, selection)

    def show_page(self, page: JobPage, shown_filter: str) -> bool:
        """Show ``page``; False if it lies past the last job (jobs cleaned): another is loaded."""
        if page.total > 0 and self.page_offset >= page.total:
            self.page_offset = max(0, (page.total - 1) // PAGE_SIZE * PAGE_SIZE)
            self.reload_page()
            return False
        self.page = page
        self.render_page()
        self.shown_filter = shown_filter
        return True

    async def count(self, experiment_id: str, run_id: str, filter: Optional[str], selection: tuple[str, str]) -> None:
        """Count the jobs of the page on screen and list their tags, then show both."""
        counted: JobPage = await self.backend.call(
            lambda api: api.jobs(experiment_id=experiment_id, run_id=run_id, filter=filter, limit=0),
            interruptible=True)
        if self.page is None:
            return
        # (A newer load cancels this one at the await above: what follows is still current.)
        self._counted, self._recount = selection, False
        self.show_page(attrs.evolve(self.page, total=counted.total, tag_names=counted.tag_names), selection[1])

    def show_filter_error(self, error: Optional[Exception]) -> None:
        widget = self.query_one("#filter-error", Static)
        if error is None:
            widget.display = False
            return
        column = getattr(error, "column", None)
        text = str(error)
        if column is not None:
            text = f"{self.filter.strip()}\n{' ' * (column - 1)}^ column {column}: {getattr(error, 'reason', text)}"
        widget.update(text)
        widget.display = True

    def columns_for(self, page: JobPage) -> list[tuple[str, str]]:
        tags = [(f"tag:{name}", name) for name in page.tag_names]
        return LEADING_COLUMNS + tags + TRAILING_COLUMNS

    def render_page(self) -> None:
        assert self.page is not None
        page, table = self.page, self.table
        selected = self.selected_job()
        columns = self.columns_for(page)
        keys = [key for key, _ in columns]
        if keys != self._columns:
            table.clear(columns=True)
            for key, label in columns:
                arrow = (" ▼" if self.descending else " ▲") if key == self.sort else ""
                table.add_column(label + arrow, key=key)
            self._columns = keys
        else:
            table.clear()
        now = time.time()
        for job in page.jobs:
            table.add_row(*self.cells(job, page.tag_names, now), key=job.job_id)
        ids = [job.job_id for job in page.jobs]
        if selected is not None and selected.job_id in ids:
            table.move_cursor(row=ids.index(selected.job_id), animate=False)
        last = page.offset + len(page.jobs)
        label = dict(columns).get(self.sort, self.sort)
        self.query_one("#status", Static).update(
            f"jobs {page.offset + 1 if page.jobs else 0}-{last} of {page.total if page.total >= 0 else '…'}"
            f"{' matching the filter' if self.filter.strip() else ''} · sorted by {label} "
            f"{'descending' if self.descending else 'ascending'} · n/p: next/previous page"
        )

    @staticmethod
    def cells(job: JobSummary, tag_names: list[str], now: float) -> list[Any]:
        return [job_state_text(job.state, job.progress), job.task_id, job.job_id[:12],
                *(tag_value(job.tags.get(name)) for name in tag_names),
                timestamp(job.submitted_time), duration(job.started_time, job.ended_time, now)]

    def selected_job(self) -> Optional[JobSummary]:
        table = self.table
        if self.page is None or table.row_count == 0:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return next((job for job in self.page.jobs if job.job_id == key), None)

    # ---- search and sort ---------------------------------------------------------------------

    def action_search(self) -> None:
        # At once, not at the next idle (Widget.focus): keys typed right after / go to the box.
        self.set_focus(self.query_one("#search", Input))

    def on_input_changed(self, event: Input.Changed) -> None:
        self.filter = event.value
        self.page_offset = 0
        # Typing never waits on the index: each keystroke restarts the wait, and only the filter
        # typed last is queried (a newer load cancels an older one still waiting for the thread).
        if self._search_timer is not None:
            self._search_timer.stop()
        self._search_timer = self.set_timer(SEARCH_DEBOUNCE, self.reload_page)

    def on_input_submitted(self, _event: Input.Submitted) -> None:
        self.set_focus(self.table)

    def action_back(self) -> None:
        if self.query_one("#search", Input).has_focus:
            self.set_focus(self.table)
            return
        super().action_back()

    def sort_by(self, key: str) -> None:
        if key == self.sort:
            self.descending = not self.descending
        else:
            self.sort, self.descending = key, key in ("submitted", "duration")
        self.page_offset = 0
        self._columns = []  # the arrow moves to the new column
        self.reload_page()

    def on_data_table_header_selected(self, event: DataTable.HeaderSelected) -> None:
        self.sort_by(str(event.column_key.value))

    def action_sort_next(self) -> None:
        keys = self._columns or [key for key, _ in LEADING_COLUMNS + TRAILING_COLUMNS]
        following = keys[(keys.index(self.sort) + 1) % len(keys)] if self.sort in keys else keys[0]
        self.sort, self.descending = following, following in ("submitted", "duration")
        self.page_offset = 0
        self._columns = []
        self.reload_page()

    def action_reverse(self) -> None:
        self.sort_by(self.sort)

    def action_page(self, step: int) -> None:
        total = self.page.total if self.page else 0
        if total < 0 and self.page is not None:  # not counted yet: a full page may have a next one
            total = self.page.offset + len(self.page.jobs) + (1 if len(self.page.jobs) == PAGE_SIZE else 0)
        offset = self.page_offset + step * PAGE_SIZE
        if 0 <= offset < max(total, 1):
            self.page_offset = offset
            self.reload_page()

    # ---- a job -------------------------------------------------------------------------------

    def on_data_table_row_selected(self, _event: DataTable.RowSelected) -> None:
        self.action_open()

    def action_open(self) -> None:
        from xpm_tui.screens.job import JobScreen

        job = self.selected_job()
        if job is not None:
            self.app.push_screen(JobScreen(job.full_id))

    def action_log(self) -> None:
        from xpm_tui.screens.log import LogScreen

        job = self.selected_job()
        if job is not None:
            self.app.push_screen(LogScreen(job.full_id))

    def action_services(self) -> None:
        from xpm_tui.screens.services import ServicesScreen

        self.app.push_screen(ServicesScreen(self.experiment_id, None if self.follow_latest else self.run_id))

    def action_copy_path(self) -> None:
        job = self.selected_job()
        if job is not None:
            copy_path(self, job.path)

    def action_kill(self) -> None:
        job = self.selected_job()
        if job is not None:
            self.run_worker(confirm_and_act(self, "kill", [job.full_id], job.full_id), group="action")

    def action_clean(self) -> None:
        job = self.selected_job()
        if job is not None:
            self.run_worker(confirm_and_act(self, "clean", [job.full_id], job.full_id), group="action")

    def action_kill_all(self) -> None:
        if self.run is not None:
            self.run_worker(self._kill_all(self.run.run_id), group="action")

    async def _kill_all(self, run_id: str) -> None:
        experiment_id = self.experiment_id
        page = await self.backend.call(lambda api: api.jobs(experiment_id=experiment_id, run_id=run_id,
                                                            filter=RUNNING_FILTER, limit=None))
        await confirm_and_act(self, "kill", [job.full_id for job in page.jobs],
                              f"every running job of run {run_id}")


def copy_path(screen: ViewScreen, path: str) -> None:
    """Put ``path`` on the clipboard of the terminal (OSC 52: through SSH too) and say so."""
    screen.app.copy_to_clipboard(path)
    screen.app.notify(f"copied {path}", title="path copied (OSC 52)")
