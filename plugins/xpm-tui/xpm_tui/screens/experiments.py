"""The first screen: every experiment of the workspace with its latest run, and the runs of one."""

from __future__ import annotations

import logging
from typing import Any, ClassVar, Optional, cast

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import DataTable, Footer, Static

from xpm_core.plugin import ExperimentSummary, RunSummary
from xpm_tui.formatting import COUNTED_STATES, STATE_STYLES, status_text, timestamp
from xpm_tui.screens.base import ViewScreen

#: (column key, label) of the experiments table; every column sorts.
EXPERIMENT_COLUMNS = [("experiment", "Experiment"), ("runs", "Runs"), ("run", "Latest run"), ("status", "Status"),
                      ("host", "Host"), ("jobs", "Jobs"), *((state, state.capitalize()) for state in COUNTED_STATES),
                      ("started", "Started")]
RUN_COLUMNS = [("run", "Run"), ("status", "Status"), ("host", "Host"), ("jobs", "Jobs"),
               *((state, state.capitalize()) for state in COUNTED_STATES), ("started", "Started"), ("ended", "Ended")]


#: Seconds between two readings of the workspace's warnings while the experiments are shown.
WARNINGS_SECONDS = 5.0

logger = logging.getLogger(__name__)


def _run_value(run: Optional[RunSummary], key: str) -> Any:
    """The sort value of ``key`` for a run (None sorts first)."""
    if run is None:
        return None
    if key in COUNTED_STATES:
        return run.job_counts.get(key, 0)
    return {"run": run.run_id, "status": run.status, "host": run.hostname, "jobs": run.job_count,
            "started": run.started_at, "ended": run.ended_at}.get(key)


def _sort_key(value: Any) -> tuple:
    return (value is not None, value if value is not None else 0)


class SortableTable(ViewScreen):
    """A table of a few rows held in memory, sorted by any column (``s``, ``r``, or a header click).

    Subclasses set ``columns`` and ``sort_column`` and define :meth:`value`, :meth:`cells` and
    :meth:`row_key` (Textual's screen metaclass does not combine with ``abc.ABC``).
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("s", "sort_next", "Sort"),
        Binding("r", "reverse", "Reverse"),
    ]
    columns: ClassVar[list[tuple[str, str]]]
    sort_column: str
    descending = False

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[Any] = []

    def compose(self) -> ComposeResult:
        yield Static("", classes="title", id="title")
        table: DataTable[Any] = DataTable(cursor_type="row", zebra_stripes=True, id="table")
        for key, label in self.columns:
            table.add_column(label, key=key)
        yield table
        yield Static("", classes="status", id="status")
        yield Footer()

    @property
    def table(self) -> DataTable[Any]:
        return self.query_one("#table", DataTable)

    def value(self, row: Any, key: str) -> Any:
        """The value of ``row`` in column ``key``, what sorting compares."""
        raise NotImplementedError(f"{type(self).__qualname__} must define value(row, key)")

    def cells(self, row: Any) -> list[Any]:
        """What the table shows of ``row``, one cell per column."""
        raise NotImplementedError(f"{type(self).__qualname__} must define cells(row)")

    def row_key(self, row: Any) -> str:
        """A key naming ``row`` across refreshes (the selection follows it)."""
        raise NotImplementedError(f"{type(self).__qualname__} must define row_key(row)")

    def render_rows(self) -> None:
        table = self.table
        selected = self.selected_key()
        rows = sorted(self.rows, key=lambda row: _sort_key(self.value(row, self.sort_column)), reverse=self.descending)
        table.clear()
        for row in rows:
            table.add_row(*self.cells(row), key=self.row_key(row))
        keys = [self.row_key(row) for row in rows]
        if selected in keys:
            table.move_cursor(row=keys.index(selected))
        label = dict(self.columns)[self.sort_column]
        self.query_one("#status", Static).update(
            f"{len(rows)} rows · sorted by {label} {'descending' if self.descending else 'ascending'}"
        )

    def selected_key(self) -> Optional[str]:
        table = self.table
        if table.row_count == 0:
            return None
        return table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value

    def selected(self) -> Any:
        key = self.selected_key()
        return next((row for row in self.rows if self.row_key(row) == key), None)

    def action_sort_next(self) -> None:
        keys = [key for key, _ in self.columns]
        self.sort_column = keys[(keys.index(self.sort_column) + 1) % len(keys)]
        self.render_rows()

    def action_reverse(self) -> None:
        self.descending = not self.descending
        self.render_rows()

    def on_data_table_header_selected(self, event: DataTable.HeaderSelected) -> None:
        key = str(event.column_key.value)
        if key == self.sort_column:
            self.descending = not self.descending
        else:
            self.sort_column, self.descending = key, False
        self.render_rows()


def _count_cells(run: Optional[RunSummary]) -> list[Any]:
    if run is None:
        return ["-"] * (1 + len(COUNTED_STATES))
    cells: list[Any] = [str(run.job_count)]
    for state in COUNTED_STATES:
        count = run.job_counts.get(state, 0)
        cells.append(Text(str(count), style=STATE_STYLES[state] if count else "dim"))
    return cells


def warnings_text(warnings: list[Any]) -> Text:
    """The warnings banner: each problem, and the commands that fix it."""
    text = Text()
    for number, warning in enumerate(warnings):
        if number:
            text.append("\n")
        text.append("⚠ ", style="bold")
        text.append(f"{warning.description}. Fix: ")
        for position, command in enumerate(warning.actions):
            if position:
                text.append(" or ")
            text.append(command, style="bold")
    return text


def _read_warnings(api: Any) -> list[Any]:
    warnings = getattr(api, "warnings", None)  # a remote workspace of an older server has none
    return list(warnings()) if warnings is not None else []


class ExperimentsScreen(SortableTable):
    """Every experiment and its latest run: ``enter`` shows the run's jobs, ``u`` every run,
    ``a`` its actions, ``v`` its services, ``o`` the orphan jobs of the workspace; the workspace's
    warnings (with the commands that fix them) show above."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "open", "Jobs", show=True),
        Binding("u", "runs", "Runs"),
        Binding("v", "services", "Services"),
        Binding("a", "actions", "Actions"),
        Binding("o", "orphans", "Orphans"),
    ]
    DEFAULT_CSS = """
    ExperimentsScreen #warnings { height: auto; padding: 0 1; color: $text; background: $warning 30%; }
    """
    columns = EXPERIMENT_COLUMNS
    sort_column = "experiment"

    def compose(self) -> ComposeResult:
        for widget in super().compose():
            yield widget
            if widget.id == "title":
                yield Static("", id="warnings")

    def on_mount(self) -> None:
        self.query_one("#warnings", Static).display = False
        # Warnings come from files the index does not follow (token holders): they are read
        # again every few seconds, besides with the experiments when the index changes.
        # (ViewScreen.on_mount, which loads the screen, runs after this one: Textual calls the
        # handlers of every class of the screen.)
        self.set_interval(WARNINGS_SECONDS, self._refresh_warnings)

    def _refresh_warnings(self) -> None:
        if self.is_current:
            self.run_worker(cast(Any, self._load_warnings), group="warnings", exclusive=True)

    async def _load_warnings(self) -> None:
        try:
            warnings = await self.backend.call(_read_warnings)
        except Exception as error:  # the experiments' loading says it too: no second notification
            logger.debug("cannot read the warnings: %s", error)
            return
        self.show_warnings(warnings)

    def show_warnings(self, warnings: list[Any]) -> None:
        banner = self.query_one("#warnings", Static)
        banner.update(warnings_text(warnings))
        banner.display = bool(warnings)

    def value(self, row: ExperimentSummary, key: str) -> Any:
        if key == "experiment":
            return row.experiment_id
        if key == "runs":
            return row.run_count
        return _run_value(row.latest, key)

    def row_key(self, row: ExperimentSummary) -> str:
        return row.experiment_id

    def cells(self, row: ExperimentSummary) -> list[Any]:
        run = row.latest
        return [row.experiment_id, str(row.run_count), run.run_id if run else "-",
                status_text(run.status) if run else "-", (run.hostname or "-") if run else "-",
                *_count_cells(run), timestamp(run.started_at) if run else "-"]

    async def load(self) -> None:
        experiments, warnings = await self.backend.call(lambda api: (api.experiments(), _read_warnings(api)))
        self.rows = list(experiments)
        self.show_warnings(warnings)
        self.query_one("#title", Static).update(
            f"Experiments of {self.xpm.sub_title}" if experiments else
            f"No experiment has run in {self.xpm.sub_title} yet"
        )
        self.render_rows()

    def on_data_table_row_selected(self, _event: DataTable.RowSelected) -> None:
        self.action_open()

    def action_open(self) -> None:
        from xpm_tui.screens.jobs import JobsScreen

        row = self.selected()
        if row is not None:
            self.app.push_screen(JobsScreen(row.experiment_id, None))

    def action_runs(self) -> None:
        row = self.selected()
        if row is not None:
            self.app.push_screen(RunsScreen(row.experiment_id))

    def action_services(self) -> None:
        from xpm_tui.screens.services import ServicesScreen

        row = self.selected()
        if row is not None:
            self.app.push_screen(ServicesScreen(row.experiment_id, None))

    def action_actions(self) -> None:
        from xpm_tui.screens.actions import ActionsScreen

        row = self.selected()
        if row is not None:
            self.app.push_screen(ActionsScreen(row.experiment_id, None))

    def action_orphans(self) -> None:
        from xpm_tui.screens.orphans import OrphansScreen

        self.app.push_screen(OrphansScreen())


class RunsScreen(SortableTable):
    """The runs of one experiment, oldest first: ``enter`` shows the jobs of a run, ``a`` its actions."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("enter", "open", "Jobs", show=True),
                                             Binding("a", "actions", "Actions")]
    columns = RUN_COLUMNS
    sort_column = "started"

    def __init__(self, experiment_id: str) -> None:
        super().__init__()
        self.experiment_id = experiment_id

    def value(self, row: RunSummary, key: str) -> Any:
        return _run_value(row, key)

    def row_key(self, row: RunSummary) -> str:
        return row.run_id

    def cells(self, row: RunSummary) -> list[Any]:
        return [row.run_id, status_text(row.status), row.hostname or "-", *_count_cells(row),
                timestamp(row.started_at), timestamp(row.ended_at)]

    async def load(self) -> None:
        experiment_id = self.experiment_id
        runs: list[RunSummary] = await self.backend.call(lambda api: api.runs(experiment_id))
        self.rows = list(runs)
        self.query_one("#title", Static).update(f"Runs of experiment {experiment_id}")
        self.render_rows()

    def on_data_table_row_selected(self, _event: DataTable.RowSelected) -> None:
        self.action_open()

    def action_open(self) -> None:
        from xpm_tui.screens.jobs import JobsScreen

        row = self.selected()
        if row is not None:
            self.app.push_screen(JobsScreen(self.experiment_id, row.run_id))

    def action_actions(self) -> None:
        from xpm_tui.screens.actions import ActionsScreen

        row = self.selected()
        if row is not None:
            self.app.push_screen(ActionsScreen(self.experiment_id, row.run_id))
