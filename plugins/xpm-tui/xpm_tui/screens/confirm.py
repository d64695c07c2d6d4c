"""A modal question before an action that cannot be undone: what would happen, then yes or no."""

from __future__ import annotations

from typing import ClassVar, Sequence

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static

#: Lines of the dry run listed before "... and N more".
SHOWN_LINES = 15


class ConfirmScreen(ModalScreen[bool]):
    """Dismissed with True on ``y`` (or the Yes button), False on ``n``, ``escape`` or No."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", "Yes"),
        Binding("n", "answer(False)", "No"),
        Binding("escape", "answer(False)", "No", show=False),
    ]
    DEFAULT_CSS = """
    ConfirmScreen { align: center middle; }
    ConfirmScreen > Vertical { width: 90%; max-width: 110; height: auto; border: thick $warning; background: $surface; padding: 1 2; }
    ConfirmScreen .question { text-style: bold; margin-bottom: 1; }
    ConfirmScreen Horizontal { height: auto; margin-top: 1; }
    ConfirmScreen Button { margin-right: 2; }
    """

    def __init__(self, question: str, lines: Sequence[str]) -> None:
        super().__init__()
        self.question = question
        self.lines = list(lines)

    def compose(self) -> ComposeResult:
        shown = self.lines[:SHOWN_LINES]
        if len(self.lines) > SHOWN_LINES:
            shown.append(f"... and {len(self.lines) - SHOWN_LINES} more")
        with Vertical():
            yield Static(self.question, classes="question", id="question")
            yield Static("\n".join(shown), id="details", markup=False)
            with Horizontal():
                yield Button("Yes (y)", variant="error", id="yes")
                yield Button("No (n)", variant="primary", id="no")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)
