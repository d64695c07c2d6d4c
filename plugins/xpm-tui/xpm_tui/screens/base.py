"""What every screen of the TUI shares: a title line, a status line, loading in the background."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Awaitable, Callable, ClassVar, cast

from textual.binding import Binding, BindingType
from textual.screen import Screen

if TYPE_CHECKING:
    from xpm_tui.app import XpmApp
    from xpm_tui.backend import Backend


class ViewScreen(Screen[None]):
    """A screen that shows something read from the workspace: :meth:`load` it, again on change."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "back", "Back")]

    #: Set when the workspace changed while the screen was hidden: it reloads when shown again.
    stale = False

    @property
    def xpm(self) -> XpmApp:
        from xpm_tui.app import XpmApp

        assert isinstance(self.app, XpmApp)
        return self.app

    @property
    def backend(self) -> Backend:
        return self.xpm.backend

    def on_mount(self) -> None:
        # A screen opened under another one (the experiments under the jobs of --console EXP)
        # loads when it shows: its query would only delay the one the user waits for. Not
        # ``is_current``: that is also true of a screen seen through the one above, which a screen
        # still being mounted may seem to be.
        if self.app.screen is self:
            self.reload()
        else:
            self.stale = True

    def on_screen_resume(self) -> None:
        if self.stale and self.app.screen is self:
            self.stale = False
            self.reload()

    def reload(self) -> None:
        """Load what the screen shows in a worker; a newer reload cancels an older one."""
        self.start_load(self._guarded_load)

    def start_load(self, work: Callable[[], Awaitable[None]]) -> None:
        """Run ``work`` as the screen's one loading worker (cancelling the one before: its answer is stale).

        ``work`` is a coroutine function rather than a coroutine: one cancelled before it started
        is then never created, rather than never awaited.
        """
        self.run_worker(cast(Any, work), group="load", exclusive=True)

    async def _guarded_load(self) -> None:
        try:
            await self.load()
        except Exception as error:  # a remote workspace can fail: say it, keep the screen up
            self.xpm.notify_error(f"cannot read the workspace: {type(error).__name__}: {error}")

    async def load(self) -> None:
        """Read the workspace (through ``self.backend``) and update the widgets."""

    def action_back(self) -> None:
        if len(self.app.screen_stack) > 2:  # the default screen is below the first view
            self.app.pop_screen()
