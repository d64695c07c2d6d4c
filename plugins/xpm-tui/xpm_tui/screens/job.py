"""One job: state, tags, parameters, dependencies both ways, paths, failure reason, earlier logs."""

from __future__ import annotations

import json
from typing import Any, ClassVar, Optional

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import Footer, Static

from xpm_core.plugin import JobDetail, WorkspaceAPIError
from xpm_tui.actions import confirm_and_act
from xpm_tui.formatting import duration, progress_text, state_text, timestamp
from xpm_tui.screens.base import ViewScreen


class JobScreen(ViewScreen):
    """Everything about the job ``TASK_ID/HASH``."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("l", "log('stderr')", "Log (stderr)"),
        Binding("o", "log('stdout')", "Output (stdout)"),
        Binding("k", "kill", "Kill"),
        Binding("d", "clean", "Clean"),
        Binding("c", "copy_path", "Copy path"),
    ]

    def __init__(self, reference: str) -> None:
        super().__init__()
        self.reference = reference
        self.detail: Optional[JobDetail] = None

    def compose(self) -> ComposeResult:
        yield Static(f"Job {self.reference}", classes="title", id="title")
        with VerticalScroll(id="body"):
            yield Static("loading...", id="detail")
        yield Footer()

    async def load(self) -> None:
        reference = self.reference
        try:
            detail: JobDetail = await self.backend.call(lambda api: api.job(reference))
        except WorkspaceAPIError as error:  # cleaned meanwhile
            self.detail = None
            self.query_one("#detail", Static).update(Text(str(error), style="bold red"))
            return
        self.detail = detail
        self.query_one("#detail", Static).update(render_detail(detail))
        self.query_one("#body").focus()

    def action_log(self, stream: str) -> None:
        from xpm_tui.screens.log import LogScreen

        self.app.push_screen(LogScreen(self.reference, stream))

    def action_kill(self) -> None:
        self.run_worker(confirm_and_act(self, "kill", [self.reference], self.reference), group="action")

    def action_clean(self) -> None:
        self.run_worker(confirm_and_act(self, "clean", [self.reference], self.reference), group="action")

    def action_copy_path(self) -> None:
        from xpm_tui.screens.jobs import copy_path

        if self.detail is not None:
            copy_path(self, self.detail.job.path)


def _section(title: str) -> Text:
    return Text(f"\n{title}", style="bold underline")


def render_detail(detail: JobDetail) -> Group:
    """The job as a few labelled sections (rich renderables)."""
    job = detail.job
    facts = Table.grid(padding=(0, 2))
    facts.add_column(style="bold")
    facts.add_column()
    rows: list[tuple[str, Any]] = [
        ("State", state_text(job.state)),
        ("Task", job.task_id),
        ("Job id", job.job_id),
        ("Experiment", f"{job.experiment_id or '-'} (run {job.run_id or '-'})"),
        ("Submitted", timestamp(job.submitted_time)),
        ("Started", timestamp(job.started_time)),
        ("Ended", timestamp(job.ended_time)),
        ("Duration", duration(job.started_time, job.ended_time)),
        ("Exit code", "-" if job.exit_code is None else str(job.exit_code)),
        ("Progress", progress_text(job.progress) or "-"),
        ("Retries", str(job.retry_count or 0)),
    ]
    for label, value in rows:
        facts.add_row(label, value)
    parts: list[Any] = [facts]
    if job.state == "error" or detail.failure:
        failure = detail.failure or {}
        reason = job.failure_reason or failure.get("reason") or "failed"
        parts += [_section("Failure"), Text(f"reason: {reason}", style="bold red")]
        extra = {key: value for key, value in failure.items() if key != "reason"}
        if extra:
            parts.append(Text(json.dumps(extra, indent=2, default=str)))
    parts.append(_section("Tags"))
    parts.append(Text(", ".join(f"{k}={v}" for k, v in sorted(job.tags.items())) or "none"))
    paths = Table.grid(padding=(0, 2))
    paths.add_column(style="bold")
    paths.add_column()
    paths.add_row("Folder", job.path)
    paths.add_row("stdout", detail.stdout_path)
    paths.add_row("stderr", detail.stderr_path)
    for earlier in detail.earlier_logs:
        paths.add_row("earlier log", earlier)
    parts += [_section("Paths"), paths]
    parts.append(_section("Depends on"))
    parts.append(Text("\n".join(detail.depends_on) or "nothing"))
    parts.append(_section("Needed by"))
    parts.append(Text("\n".join(detail.dependents) or "nothing"))
    parts.append(_section("Parameters (params.json)"))
    if detail.parameters is None:
        parts.append(Text("no params.json in the job folder", style="dim"))
    else:
        parts.append(Text(json.dumps(detail.parameters, indent=2, default=str)))
    return Group(*parts)
