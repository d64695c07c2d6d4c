"""The actions a run registered (add_action): what each does, and the command that runs it (``c`` copies it).

The TUI does not execute actions: an action runs the plan's code and asks its questions on a
terminal, which the TUI holds; ``xpm experiments actions run`` in another terminal does it.
"""

from __future__ import annotations

from typing import Any, ClassVar, Optional

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import DataTable, Static

from xpm_tui.screens.experiments import SortableTable

ACTION_COLUMNS = [("action", "Action"), ("description", "Description"), ("class", "Class")]
#: Characters of an action id the table shows (``xpm experiments actions list`` shows as many).
SHOWN_ID = 12


class ActionsScreen(SortableTable):
    """The actions of a run (``run_id`` None: the latest); the line below the table shows the
    command that runs the selected one, ``c`` copies it (OSC 52)."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("c", "copy_command", "Copy command")]
    DEFAULT_CSS = """
    ActionsScreen #command { height: auto; padding: 0 1; }
    """
    columns = ACTION_COLUMNS
    sort_column = "description"

    def __init__(self, experiment_id: str, run_id: Optional[str]) -> None:
        super().__init__()
        self.experiment_id = experiment_id
        self.run_id = run_id

    def compose(self) -> ComposeResult:
        for widget in super().compose():
            if widget.id == "status":
                yield Static("", id="command")
            yield widget

    def value(self, row: dict[str, Any], key: str) -> Any:
        return {"action": row["id"], "description": row.get("description"), "class": row.get("class")}.get(key)

    def row_key(self, row: dict[str, Any]) -> str:
        return str(row["id"])

    def cells(self, row: dict[str, Any]) -> list[Any]:
        # Text, not str: a table reads a str as markup, and a description is the plan's free text.
        return [row["id"][:SHOWN_ID], Text(row.get("description") or ""), Text(row.get("class") or "")]

    async def load(self) -> None:
        experiment_id, run_id = self.experiment_id, self.run_id

        def fetch(api: Any) -> Optional[list[dict[str, Any]]]:
            actions = getattr(api, "actions", None)  # a remote workspace of an older server has none
            return None if actions is None else actions(experiment_id, run_id)

        rows = await self.backend.call(fetch)
        title = self.query_one("#title", Static)
        run = f"run {run_id}" if run_id else "latest run"
        if rows is None:
            self.rows = []
            title.update(f"Actions are not available over this connection ({experiment_id}, {run})")
        else:
            self.rows = list(rows)
            title.update(f"Actions of {experiment_id} ({run}): run one from a terminal, where it asks its questions"
                         if rows else f"No action in {experiment_id} ({run}): the plan registers them with add_action")
        self.render_rows()
        self.show_command()

    def show_command(self) -> None:
        row = self.selected()
        line = Text()
        if row is not None:
            line.append("Run it with: ", style="dim")
            line.append(row["command"], style="bold")
            line.append("  (answers in advance: --set KEY=VALUE)", style="dim")
        self.query_one("#command", Static).update(line)

    def on_data_table_row_highlighted(self, _event: DataTable.RowHighlighted) -> None:
        self.show_command()

    def action_copy_command(self) -> None:
        row = self.selected()
        if row is None:
            self.app.notify("no action to copy", severity="warning")
            return
        self.app.copy_to_clipboard(row["command"])
        self.app.notify(row["command"], title="command copied (OSC 52)")
