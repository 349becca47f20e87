"""The base of the app's long lists (threads, checkpoints): a cursor over rows drawn
one line at a time with Textual's Line API, so a list costs what is on screen.

:class:`LineList` owns the cursor, its keys and clicks, and a cache of drawn lines
keyed on the row, whether the cursor is on it, and the width; a subclass says how
many rows there are and draws one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar, Final

from rich.segment import Segment
from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.cache import LRUCache
from textual.geometry import Region
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

CURSOR_BINDINGS: Final[list[BindingType]] = [
    Binding("up", "cursor(-1)", "Up", show=False),
    Binding("down", "cursor(1)", "Down", show=False),
    Binding("pageup", "page(-1)", "Page up", show=False),
    Binding("pagedown", "page(1)", "Page down", show=False),
]
"""The keys that move the cursor; a list adds its home / end and others after them
(the help lists a widget's own ``BINDINGS``)."""


class LineList(ScrollView, can_focus=True):
    """A focusable list of one-line rows with a cursor."""

    CURSOR_CLASS: ClassVar[str]
    """The component class that styles the cursor's row."""

    DEFAULT_CSS = """
    LineList {
        height: 1fr;
        overflow-x: hidden;
    }
    """

    cursor: reactive[int] = reactive(0, always_update=True, init=False)
    """The index of the highlighted row."""

    def __init__(
        self,
        *,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
        disabled: bool = False,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes, disabled=disabled)
        self._lines: LRUCache[tuple[int, bool, int], Strip] = LRUCache(512)

    @property
    def row_count(self) -> int:
        """How many rows the list has now."""
        raise NotImplementedError

    # -- drawing -------------------------------------------------------------------

    def _cached_line(
        self, index: int, width: int, draw: Callable[[bool], Strip]
    ) -> Strip:
        """Row ``index`` as drawn by ``draw(cursor_on_it)``, from the cache if there."""
        cursor = index == self.cursor
        key = (index, cursor, width)
        strip = self._lines.get(key)
        if strip is None:
            strip = draw(cursor)
            self._lines[key] = strip
        return strip

    def _strip(self, line: Text, width: int, cursor: bool) -> Strip:
        """``line`` cut to ``width``, highlighted if the cursor is on it."""
        line.truncate(width)
        if cursor:
            line.stylize(self.get_component_rich_style(self.CURSOR_CLASS))
        segments = list(line.render(self.app.console))
        return Strip(Segment.apply_style(segments, self.rich_style), width)

    def redraw(self) -> None:
        """Draw every row again (what they show has changed)."""
        self._lines.clear()
        self.refresh()

    # -- the cursor ----------------------------------------------------------------

    def watch_cursor(self, old: int, new: int) -> None:
        # Only the two rows that changed are drawn again (the cache keys on the cursor).
        self.refresh_line(old)
        self.refresh_line(new)
        self.scroll_to_region(
            Region(0, new, max(self.size.width, 1), 1), animate=False, force=True
        )
        self._cursor_moved()

    def _cursor_moved(self) -> None:
        """Tell the app what the cursor is on now (a subclass's message)."""

    @property
    def _target(self) -> int:
        """Where the cursor is going (a page of rows may still be loading)."""
        return self.cursor

    def _move(self, index: int) -> None:
        if self.row_count:
            self.cursor = max(0, min(index, self.row_count - 1))

    def _on_focus(self, event: events.Focus) -> None:
        self.redraw()  # the cursor row looks different with focus

    def _on_blur(self, event: events.Blur) -> None:
        self.redraw()

    async def _on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None:
            return
        index = self.scroll_offset.y + offset.y
        if 0 <= index < self.row_count:
            self.cursor = index
            self._clicked(index)

    def _clicked(self, index: int) -> None:
        """The user clicked row ``index`` (the cursor is on it already)."""

    def action_cursor(self, delta: int) -> None:
        """Move the cursor by ``delta`` rows."""
        self._move(self._target + delta)

    def action_page(self, direction: int) -> None:
        """Move the cursor a screen up or down."""
        self._move(self._target + direction * max(self.size.height - 1, 1))

    def action_first(self) -> None:
        """Move to the first row."""
        self._move(0)

    def action_last(self) -> None:
        """Move to the last row (loading more as it goes)."""
        self._move(self.row_count - 1)
