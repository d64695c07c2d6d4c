"""A job's log (stderr or stdout): the last megabyte at first, followed as it grows, searchable."""

from __future__ import annotations

import functools
from typing import ClassVar, Optional

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Footer, Input, Log, Static

from xpm_core.plugin import LogChunk, WorkspaceAPIError
from xpm_tui.screens.base import ViewScreen

#: Bytes of a log held on screen at once; a longer log shows its end (``g`` reads its start).
WINDOW = 1024 * 1024
#: Seconds between two reads of a followed log.
FOLLOW_INTERVAL = 0.5


class LogScreen(ViewScreen):
    """``f`` follows the log, ``g``/``G`` jump to its start/end, ``/`` searches, ``t`` switches stream."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f", "follow", "Follow"),
        Binding("g", "start", "Start"),
        Binding("G", "end", "End"),
        Binding("t", "switch", "stdout/stderr"),
        Binding("slash", "search", "Search"),
        Binding("n", "find(1)", "Next match"),
        Binding("N", "find(-1)", "Prev match"),
    ]

    AUTO_FOCUS = "#log"

    def __init__(self, reference: str, stream: str = "stderr") -> None:
        super().__init__()
        self.reference = reference
        self.stream = stream
        self.follow = True
        #: Byte range of the log that the widget holds.
        self.start_offset = 0
        self.end_offset = 0
        self.chunk: Optional[LogChunk] = None
        self.query_text = ""
        self.match_line: Optional[int] = None
        self._loaded = False

    def compose(self) -> ComposeResult:
        yield Static("", classes="title", id="title", markup=False)
        yield Log(id="log", highlight=False)
        yield Input(placeholder="search the log (enter: find, escape: back to the log)", id="search",
                    select_on_focus=False)
        yield Static("", classes="status", id="status", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#search").display = False
        self.set_interval(FOLLOW_INTERVAL, self._tick)
        super().on_mount()

    @property
    def log_widget(self) -> Log:
        return self.query_one("#log", Log)

    # ---- reading -----------------------------------------------------------------------------

    async def load(self) -> None:
        if not self._loaded:
            await self.read_from(-WINDOW)
        elif self.follow:
            await self.read_more()

    def _tick(self) -> None:
        if self.follow and self._loaded and not (self.chunk and self.chunk.finished and self.at_end):
            self.reload()

    @property
    def at_end(self) -> bool:
        return self.chunk is not None and self.end_offset >= self.chunk.size

    async def read_from(self, offset: int) -> None:
        """Replace what is shown with the window starting at ``offset`` (negative: from the end)."""
        reference, stream = self.reference, self.stream
        try:
            chunk: LogChunk = await self.backend.call(lambda api: api.log(reference, stream, offset, WINDOW))
        except WorkspaceAPIError as error:
            self.query_one("#status", Static).update(str(error))
            return
        log = self.log_widget
        log.clear()
        if chunk.offset > 0:
            log.write_line(f"[... {chunk.offset} earlier bytes not shown: press g to read from the start ...]")
        log.write(chunk.text, scroll_end=False)
        self.start_offset, self.end_offset, self.chunk = chunk.offset, chunk.next_offset, chunk
        self._loaded = True
        self.match_line = None
        if offset < 0:
            log.scroll_end(animate=False, immediate=True)
        else:
            log.scroll_home(animate=False, immediate=True)
        self.show_state()

    async def read_more(self) -> None:
        """Append what was written since the last read (following)."""
        reference, stream, offset = self.reference, self.stream, self.end_offset
        chunk: LogChunk = await self.backend.call(lambda api: api.log(reference, stream, offset, WINDOW))
        if chunk.size < offset:  # the file was truncated or replaced (a new attempt): start again
            await self.read_from(-WINDOW)
            return
        if chunk.text:
            self.log_widget.write(chunk.text, scroll_end=True)
        self.end_offset, self.chunk = chunk.next_offset, chunk
        self.show_state()

    def show_state(self) -> None:
        chunk = self.chunk
        if chunk is None:
            return
        where = chunk.path if chunk.exists else f"{chunk.path} (not written yet)"
        self.query_one("#title", Static).update(f"{self.stream} of {self.reference} · {where}")
        parts = [f"bytes {self.start_offset}-{self.end_offset} of {chunk.size}",
                 "following" if self.follow else "not following (f: follow)",
                 "job ended" if chunk.finished else "job not ended"]
        if self.query_text:
            parts.append(f"search {self.query_text!r}: "
                         + (f"line {self.match_line + 1}" if self.match_line is not None else "no match"))
        self.query_one("#status", Static).update(" · ".join(parts))

    # ---- keys --------------------------------------------------------------------------------

    def action_follow(self) -> None:
        self.follow = not self.follow
        if self.follow:
            self.start_load(self._to_end)
        self.show_state()

    async def _to_end(self) -> None:
        if self.chunk is not None and self.start_offset + WINDOW < self.chunk.size:
            await self.read_from(-WINDOW)  # the end is far: read the last window afresh
        else:
            await self.read_more()
        self.log_widget.scroll_end(animate=False, immediate=True)

    def action_start(self) -> None:
        self.follow = False
        if self.start_offset > 0:
            self.start_load(functools.partial(self.read_from, 0))
        else:
            self.log_widget.scroll_home(animate=False, immediate=True)
        self.show_state()

    def action_end(self) -> None:
        self.start_load(self._to_end)

    def action_switch(self) -> None:
        self.stream = "stdout" if self.stream == "stderr" else "stderr"
        self.start_load(functools.partial(self.read_from, -WINDOW))

    def action_search(self) -> None:
        search = self.query_one("#search", Input)
        search.display = True
        self.set_focus(search)  # at once: keys typed right after / go to the box

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.query_text = event.value
        self.match_line = None
        self.action_find(1)

    def action_back(self) -> None:
        search = self.query_one("#search", Input)
        if search.has_focus:
            search.display = False
            self.set_focus(self.log_widget)
            return
        super().action_back()

    def action_find(self, step: int) -> None:
        """Move to the next (``step`` 1) or previous (-1) line containing the search text."""
        if not self.query_text:
            self.action_search()
            return
        lines = self.log_widget.lines
        needle = self.query_text.lower()
        current = self.match_line if self.match_line is not None else (-1 if step > 0 else len(lines))
        candidates = range(current + 1, len(lines)) if step > 0 else range(current - 1, -1, -1)
        found = next((number for number in candidates if needle in lines[number].lower()), None)
        if found is None:
            self.app.notify(f"{self.query_text!r}: no {'further' if step > 0 else 'earlier'} match", severity="warning")
        else:
            self.match_line = found
            self.follow = False
            self.log_widget.scroll_to(y=max(0, found - 2), animate=False, immediate=True)
        self.show_state()
