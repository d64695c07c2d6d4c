"""The services a run registered (xp.add_service): state and URL, started and stopped with confirmation."""

from __future__ import annotations

from typing import Any, ClassVar, Optional

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.widgets import Static

from xpm_tui.screens.confirm import ConfirmScreen
from xpm_tui.screens.experiments import SortableTable

#: Colours of the service states (ServiceState names).
SERVICE_STYLES = {"RUNNING": "bold blue", "STARTING": "cyan", "STOPPING": "yellow", "ERROR": "bold red",
                  "STOPPED": "dim"}
#: Seconds between two readings of the services' states while the screen is shown.
REFRESH_SECONDS = 2.0
SERVICE_COLUMNS = [("service", "Service"), ("state", "State"), ("url", "URL"), ("description", "Description")]


class ServicesScreen(SortableTable):
    """The services of a run (``run_id`` None: the latest): ``a`` starts one in this monitor's
    process, ``x`` stops one it started, ``c`` copies a URL (OSC 52)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("a", "start", "Start"),
        Binding("x", "stop", "Stop"),
        Binding("c", "copy_url", "Copy URL"),
    ]
    columns = SERVICE_COLUMNS
    sort_column = "service"

    def __init__(self, experiment_id: str, run_id: Optional[str]) -> None:
        super().__init__()
        self.experiment_id = experiment_id
        self.run_id = run_id

    def on_mount(self) -> None:
        # A service's state is in the run's files, not in the index whose changes reload screens:
        # read again every few seconds (a handful of small files).
        self.set_interval(REFRESH_SECONDS, self._refresh)
        super().on_mount()

    def _refresh(self) -> None:
        if self.is_current:
            self.reload()

    def value(self, row: dict[str, Any], key: str) -> Any:
        return {"service": row["id"], "state": row["state"], "url": row.get("url"),
                "description": row.get("description")}.get(key)

    def row_key(self, row: dict[str, Any]) -> str:
        return str(row["id"])

    def cells(self, row: dict[str, Any]) -> list[Any]:
        state = Text(row["state"], style=SERVICE_STYLES.get(row["state"], ""))
        if row.get("error") and row["state"] == "ERROR":
            state.append(f" ({row['error']})", style="red")
        return [row["id"], state, row.get("url") or "-", row.get("description") or ""]

    async def load(self) -> None:
        experiment_id, run_id = self.experiment_id, self.run_id

        def fetch(api: Any) -> Optional[list[dict[str, Any]]]:
            services = getattr(api, "services", None)
            return None if services is None else services(experiment_id, run_id)

        rows = await self.backend.call(fetch)
        title = self.query_one("#title", Static)
        run = f"run {run_id}" if run_id else "latest run"
        if rows is None:
            self.rows = []
            title.update(f"Services are not available over this connection ({experiment_id}, {run})")
        else:
            self.rows = list(rows)
            title.update(f"Services of {experiment_id} ({run})" if rows else
                         f"No service in {experiment_id} ({run}): the plan registers them with xp.add_service")
        self.render_rows()

    def action_start(self) -> None:
        row = self.selected()
        if row is not None:
            self.run_worker(self._act(row, "start"), group="action")

    def action_stop(self) -> None:
        row = self.selected()
        if row is not None:
            self.run_worker(self._act(row, "stop"), group="action")

    async def _act(self, row: dict[str, Any], action: str) -> None:
        service_id = row["id"]
        if action == "start":
            if row["state"] in ("RUNNING", "STARTING"):
                self.app.notify(f"{service_id} is already {row['state'].lower()}" +
                                (f" at {row['url']}" if row.get("url") else ""), severity="warning")
                return
            question = f"Start the service {service_id}?"
            lines = [row.get("description") or "", "It runs in this monitor's process, until you stop it (x) "
                     "or the monitor ends.", f"Logs: {row.get('stderr')}"]
        else:
            if row["state"] not in ("RUNNING", "STARTING"):
                self.app.notify(f"{service_id} is not running", severity="warning")
                return
            question = f"Stop the service {service_id}?"
            lines = [row.get("url") or "", row.get("description") or ""]
        if not await self.app.push_screen(ConfirmScreen(question, lines), wait_for_dismiss=True):
            self.app.notify(f"{action} {service_id}: cancelled")
            return
        experiment_id, run_id = self.experiment_id, self.run_id
        method = "start_service" if action == "start" else "stop_service"
        if action == "start":
            self.app.notify(f"starting {service_id}...")
        def call(api: Any) -> dict[str, Any]:
            if not hasattr(api, method):  # a remote workspace (ssh-monitor): the server's machine would run it
                raise RuntimeError("services of a remote workspace are started on its machine: "
                                   f"xpm experiments services start {experiment_id} {service_id}")
            return dict(getattr(api, method)(experiment_id, service_id, run_id))

        try:
            answer = await self.backend.call(call)
        except Exception as error:
            self.xpm.notify_error(f"{action} {service_id}: {error}")
        else:
            where = f" at {answer['url']}" if answer.get("url") else ""
            self.app.notify(f"{service_id}: {answer['state'].lower()}{where}", title=f"service {action}")
        self.reload()

    def action_copy_url(self) -> None:
        row = self.selected()
        if row is None:
            return
        if not row.get("url"):
            self.app.notify(f"{row['id']} has no URL (it is {row['state'].lower()})", severity="warning")
            return
        self.app.copy_to_clipboard(row["url"])
        self.app.notify(f"copied {row['url']}", title="URL copied (OSC 52)")
