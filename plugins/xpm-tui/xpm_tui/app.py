"""The Textual application: a stack of screens over one workspace, reloaded when the index changes."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any, ClassVar

from textual.app import App
from textual.binding import Binding, BindingType
from textual.message import Message

from xpm_tui.screens.base import ViewScreen

if TYPE_CHECKING:
    from xpm_tui.backend import Backend


class WorkspaceChanged(Message):
    """The workspace index was written: what the screens show may be stale."""


class XpmApp(App[None]):
    """Experiments -> runs -> jobs -> a job -> its log; ``escape`` goes back, ``?`` lists the keys."""

    TITLE = "xpm"
    CSS = """
    .title { height: auto; padding: 0 1; background: $boost; text-style: bold; }
    .status { height: 1; padding: 0 1; color: $text-muted; }
    .error { height: auto; padding: 0 1; color: $error; }
    DataTable { height: 1fr; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit", "Quit"),
        Binding("ctrl+c", "quit", "Quit", show=False, priority=True),
        Binding("question_mark", "help", "Help"),
    ]

    def __init__(self, backend: Backend, *, title: str, experiment_id: str | None = None,
                 run_id: str | None = None) -> None:
        super().__init__()
        self.backend = backend
        self.sub_title = title
        self.experiment_id = experiment_id
        self.run_id = run_id
        #: Set by the monitor's close(): the app exits (at once if it is still starting).
        self.stop_requested = threading.Event()

    def on_mount(self) -> None:
        if self.stop_requested.is_set():
            self.exit()
            return
        from xpm_tui.screens.experiments import ExperimentsScreen
        from xpm_tui.screens.jobs import JobsScreen

        self.push_screen(ExperimentsScreen())
        if self.experiment_id is not None:
            self.push_screen(JobsScreen(self.experiment_id, self.run_id))

    def workspace_changed(self) -> None:
        """Ask the current screen to reload; callable from any thread."""
        self.post_message(WorkspaceChanged())

    def on_workspace_changed(self, _message: WorkspaceChanged) -> None:
        screen = self.screen
        if isinstance(screen, ViewScreen):
            screen.reload()
        # Screens below reload when they show again (ViewScreen.on_screen_resume).
        for below in self.screen_stack[:-1]:
            if isinstance(below, ViewScreen):
                below.stale = True

    def action_help(self) -> None:
        from xpm_tui.screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.screen))

    def notify_error(self, error: Any) -> None:
        self.notify(str(error), severity="error", timeout=8)
