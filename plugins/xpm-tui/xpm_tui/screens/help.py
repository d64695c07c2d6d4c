"""The help screen: the keys of the screen it was opened from, and the filter language."""

from __future__ import annotations

from typing import ClassVar

from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Static

FILTER_HELP = """\
Filter language (as in `xpm jobs list --filter`):
  @state = "error"          @name ~ "Train"          lr = 0.01          model in ["bm25", "dpr"]
  operators: =  !=  ~ (regex)  in  not in  <  <=  >  >=  and  or  not  ( )
  @state: unscheduled waiting ready scheduled running done error (any case)"""


class HelpScreen(ModalScreen[None]):
    """Lists the keys active on ``below`` (its own, then the app's); any of escape, q, ? closes it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,question_mark", "close", "Close"),
    ]
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll { width: 90%; max-width: 110; height: 80%; border: thick $accent; background: $surface; padding: 1 2; }
    """

    def __init__(self, below: Screen) -> None:
        super().__init__()
        self.below = below

    def compose(self) -> ComposeResult:
        table = Table(title=f"Keys of the {type(self.below).__name__.removesuffix('Screen').lower()} screen",
                      show_header=True, expand=True)
        table.add_column("Key", style="bold")
        table.add_column("Does")
        seen = set()
        for bindings in (self.below.BINDINGS, *(cls.BINDINGS for cls in type(self.below).__mro__[1:]
                                                if hasattr(cls, "BINDINGS")), self.app.BINDINGS):
            for binding in bindings:
                if not isinstance(binding, Binding) or binding.key in seen or not binding.description:
                    continue
                seen.add(binding.key)
                table.add_row(self.app.get_key_display(binding), binding.description)
        with VerticalScroll():
            yield Static(table)
            yield Static("Mouse: click a row to select it, a column header to sort by it, scroll with the wheel.")
            yield Static(FILTER_HELP, markup=False)

    def action_close(self) -> None:
        self.dismiss(None)
