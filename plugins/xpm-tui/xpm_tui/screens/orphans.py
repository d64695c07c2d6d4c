"""The orphan jobs of the workspace (``xpm orphans``): job folders no run lists, their size, and cleaning them."""

from __future__ import annotations

from typing import Any, ClassVar

from textual.binding import Binding, BindingType
from textual.widgets import Static

from xpm_tui.actions import confirm_and_act
from xpm_tui.formatting import state_text
from xpm_tui.screens.experiments import SortableTable

ORPHAN_COLUMNS = [("task", "Task"), ("job", "Job"), ("state", "State"), ("size", "Size"), ("path", "Folder")]


def size_text(size: Any) -> str:
    """``1536`` -> ``"1.5 KiB"``, as ``xpm orphans --size`` prints it."""
    if size is None:
        return "-"
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024:
            return f"{int(value)} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TiB"


class OrphansScreen(SortableTable):
    """Job folders that no run of any experiment lists: ``d`` deletes the selected one, ``D`` every
    finished one, each after a confirmation (an orphan that may still be running is kept)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("d", "clean", "Clean"),
        Binding("D", "clean_all", "Clean all"),
    ]
    columns = ORPHAN_COLUMNS
    sort_column = "size"
    descending = True

    def value(self, row: Any, key: str) -> Any:
        return {"task": row.task_id, "job": row.job_id, "state": row.state, "size": row.size, "path": row.path}[key]

    def row_key(self, row: Any) -> str:
        return str(row.full_id)

    def cells(self, row: Any) -> list[Any]:
        return [row.task_id, row.job_id[:12], state_text(row.state), size_text(row.size), row.path]

    async def load(self) -> None:
        orphans = await self.backend.call(lambda api: api.orphans())
        self.rows = list(orphans)
        total = sum(row.size or 0 for row in self.rows)
        self.query_one("#title", Static).update(
            f"{len(self.rows)} orphan job(s) in {self.xpm.sub_title}, {size_text(total)}: folders no run lists"
            if self.rows else f"No orphan job in {self.xpm.sub_title}: every job folder is listed by a run")
        self.render_rows()

    def action_clean(self) -> None:
        row = self.selected()
        if row is not None:
            self.run_worker(confirm_and_act(self, "clean_orphans", [row.full_id], row.full_id), group="action")

    def action_clean_all(self) -> None:
        self.run_worker(confirm_and_act(self, "clean_orphans", [row.full_id for row in self.rows],
                                        "every orphan job"), group="action")
