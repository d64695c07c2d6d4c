"""The error a filter that cannot be read raises: where (column, with a caret) and what was expected."""

from __future__ import annotations

#: Characters of a long filter shown on each side of the error's place.
_CONTEXT = 40


class FilterError(ValueError):
    """A filter that cannot be read or makes no sense; the message points at the place, with a caret."""

    def __init__(self, text: str, position: int, reason: str) -> None:
        self.text = text
        #: Index in ``text`` of the character the caret points at.
        self.position = position
        self.reason = reason
        super().__init__(self._message())

    @property
    def column(self) -> int:
        """1-based column of the error (a filter is one line: newlines count as spaces)."""
        return self.position + 1

    def _message(self) -> str:
        if not self.text.strip():
            return f"invalid filter: {self.reason}"
        # A filter given over several lines is shown on one, so that the caret lines up.
        shown = "".join(" " if char in "\r\n" else char for char in self.text)
        position = self.position
        if len(shown) > 2 * _CONTEXT:
            # A long filter is shown around the place only: the line must stay readable.
            start = max(0, position - _CONTEXT)
            end = min(len(shown), position + _CONTEXT)
            prefix = "..." if start > 0 else ""
            shown = prefix + shown[start:end] + ("..." if end < len(shown) else "")
            position = position - start + len(prefix)
        # Tabs stay tabs so that the caret lines up whatever the terminal's tab width.
        padding = "".join("\t" if char == "\t" else " " for char in shown[:position])
        return f"invalid filter at column {self.column}: {self.reason}\n  {shown}\n  {padding}^"
