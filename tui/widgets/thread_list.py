"""The threads pane's list: every thread, paged in on demand.

A Line-API widget: its height is the number of matching threads, but it only holds
the pages that have been on screen. When a row without data is drawn, it asks for
that page with :class:`ThreadList.PageNeeded`; the app loads it and hands it back
with :meth:`ThreadList.set_page`. 100,000 threads cost a few pages of memory.
"""

from __future__ import annotations

from typing import ClassVar

from rich.segment import Segment
from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.message import Message
from textual.strip import Strip

from timeloom.core.checkpoint import ThreadInfo
from timeloom.tui.ops.safetext import safe
from timeloom.tui.ops.subgraphs import is_subgraph, path_name
from timeloom.tui.widgets.formatting import (
    FORK_MARK,
    STATUS_ICONS,
    SUBGRAPH_MARK,
    format_day_time,
    status_icon,
)
from timeloom.tui.widgets.line_list import CURSOR_BINDINGS, LineList

PAGE_SIZE = 200
"""Threads fetched per request."""

MAX_PAGES = 50
"""Pages kept in memory (10,000 threads); the rest are read again when shown."""


def middle_ellipsis(text: str, room: int) -> str:
    """``text`` cut to ``room`` characters in the middle, where ids differ least
    (``refund-31…-partial``): prefixes and suffixes both tell threads apart."""
    if len(text) <= room:
        return text
    head = (room - 1) // 2 + (room - 1) % 2
    tail = room - 1 - head
    return text[:head] + "…" + (text[-tail:] if tail else "")


class ThreadList(LineList):
    """The list of threads, most recently updated first.

    | Key | Action |
    | :- | :- |
    | up / down | Move the cursor. |
    | page up / page down | Move a screen at a time. |
    | home / end | First / last thread. |
    | enter | Open the thread's checkpoint tree. |
    | ctrl+c | Copy the thread id. |
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        *CURSOR_BINDINGS,
        Binding("home", "first", "First", show=False),
        Binding("end", "last", "Last", show=False),
        Binding("enter", "open", "Open thread", show=False),
        Binding("ctrl+c", "copy_id", "Copy id", show=False),
    ]

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "thread-list--cursor",
        "thread-list--running",
        "thread-list--paused",
        "thread-list--done",
        "thread-list--failed",
        "thread-list--fork",
        "thread-list--muted",
    }

    CURSOR_CLASS: ClassVar[str] = "thread-list--cursor"

    class Highlighted(Message):
        """The cursor moved onto a loaded thread."""

        def __init__(self, info: ThreadInfo, opened: bool = False) -> None:
            super().__init__()
            self.info = info
            self.opened = opened
            """Whether the user pressed enter (or clicked) rather than only moving."""

    class PageNeeded(Message):
        """Rows without data are on screen: load the page at ``offset``."""

        def __init__(self, generation: int, offset: int) -> None:
            super().__init__()
            self.generation = generation
            self.offset = offset

    def __init__(
        self,
        *,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
        disabled: bool = False,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes, disabled=disabled)
        self.total = 0
        """How many threads match the current filter."""
        self.generation = 0
        """Bumped by :meth:`reset`, so pages of an older listing are ignored."""
        self._pages: dict[int, list[ThreadInfo]] = {}
        self._requested: set[int] = set()
        self._announced: str | None = None
        self._keep: str | None = None
        self.live: frozenset[str] = frozenset()
        """Threads a run is known to be advancing (shown running, not idle)."""

    @property
    def row_count(self) -> int:
        """How many threads match the current filter."""
        return self.total

    # -- rendering -----------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        index = self.scroll_offset.y + y
        width = self.scrollable_content_region.width
        if index >= self.total:
            return Strip.blank(width, self.rich_style)
        info = self.info_at(index)
        if info is None:
            self._request(index)
            style = self.rich_style + self.get_component_rich_style(
                "thread-list--muted"
            )
            return Strip([Segment(" …".ljust(width), style)], width)
        return self._cached_line(
            index, width, lambda cursor: self._render_row(info, width, cursor)
        )

    def _render_row(self, info: ThreadInfo, width: int, cursor: bool) -> Strip:
        live = info.thread_id in self.live
        kind = "muted" if info.status == "running" and not live else info.status
        # A status this version does not know (another writer's) gets no colour.
        if kind not in STATUS_ICONS:
            kind = "muted"
        status_style = self.get_component_rich_style(f"thread-list--{kind}")
        muted = self.get_component_rich_style("thread-list--muted")
        fork = self.get_component_rich_style("thread-list--fork")
        right = Text.assemble(
            (f"{info.checkpoint_count:>5,} ", muted),
            (format_day_time(info.updated_at), muted),
        )
        subgraph = is_subgraph(info.thread_id)
        prefix = Text.assemble(
            (f" {status_icon(info.status, live=live)} ", status_style),
            (f"{FORK_MARK} " if info.forked_from else "", fork),
            (f"{SUBGRAPH_MARK} " if subgraph else "", fork),
        )
        # A subgraph timeline (listed when the filter names its thread, "t|") reads
        # as its path below the thread, task ids shortened, not as the raw
        # "t|node:<uuid>|..." id.
        shown = path_name(info.thread_id) if subgraph else info.thread_id
        room = max(width - right.cell_len - prefix.cell_len - 1, 3)
        if room < len(shown):  # the id matters more than the time
            right = Text(f"{info.checkpoint_count:>5,}", muted)
            room = max(width - right.cell_len - prefix.cell_len - 1, 3)
        left = Text.assemble(prefix, middle_ellipsis(safe(shown), room))
        line = Text.assemble(
            left, " " * (width - left.cell_len - right.cell_len), right
        )
        return self._strip(line, width, cursor)

    def _request(self, index: int) -> None:
        offset = index - index % PAGE_SIZE
        if offset not in self._requested:
            self._requested.add(offset)
            # Posted from this widget's context (render_line runs in the screen's,
            # and a message does not bubble back to its sender).
            self.call_later(self.post_message, self.PageNeeded(self.generation, offset))

    # -- watchers and handlers -----------------------------------------------------

    def _cursor_moved(self) -> None:
        self._announce()

    def on_resize(self, event: events.Resize) -> None:
        self.virtual_size = Size(event.size.width, self.total)

    def _clicked(self, index: int) -> None:
        info = self.info_at(index)
        if info is not None:
            self.post_message(self.Highlighted(info, opened=True))

    # -- actions -------------------------------------------------------------------

    def action_open(self) -> None:
        """Open the highlighted thread (and move focus to its tree)."""
        info = self.info_at(self.cursor)
        if info is not None:
            self.post_message(self.Highlighted(info, opened=True))

    def action_copy_id(self) -> None:
        """Copy the highlighted thread's id."""
        info = self.info_at(self.cursor)
        if info is not None:
            self.app.copy_to_clipboard(info.thread_id)
            self.notify(info.thread_id, title="Copied thread id")

    # -- public --------------------------------------------------------------------

    def reset(self, total: int, keep: str | None = None) -> int:
        """Forget every page and show ``total`` rows; return the new generation.

        Args:
            total: how many threads match now.
            keep: a thread to keep the cursor on as the pages come back (after a
                refresh the order may have changed); until it is found, the cursor
                announces nothing, so the open thread does not change by itself.
        """
        self.generation += 1
        self._keep = keep
        self.total = total
        self._pages.clear()
        self._requested.clear()
        self._lines.clear()
        self._announced = None
        self.virtual_size = Size(self.size.width, total)
        self.cursor = min(self.cursor, max(total - 1, 0))
        self.refresh()
        return self.generation

    def set_live(self, thread_ids: frozenset[str]) -> None:
        """Show these threads as running (the others with nodes due as idle)."""
        if thread_ids != self.live:
            self.live = thread_ids
            self.redraw()

    def set_page(self, generation: int, offset: int, infos: list[ThreadInfo]) -> None:
        """Store a page loaded for :class:`PageNeeded` (ignored if outdated)."""
        if generation != self.generation:
            return
        self._pages[offset] = infos
        if self._keep is not None:
            for i, info in enumerate(infos):
                if info.thread_id == self._keep:
                    self._keep = None
                    self.cursor = offset + i
                    break
        while len(self._pages) > MAX_PAGES:
            # Forget the page farthest from the cursor; it is read again if needed.
            far = max(self._pages, key=lambda page: abs(page - self.cursor))
            del self._pages[far]
            self._requested.discard(far)
        if offset + len(infos) > self.total or (
            len(infos) < PAGE_SIZE and offset + len(infos) < self.total
        ):
            # The database changed since it was counted: trust what was read.
            self.total = offset + len(infos)
            self.virtual_size = Size(self.size.width, self.total)
        self.redraw()
        self._announce()

    def info_at(self, index: int) -> ThreadInfo | None:
        """The thread at ``index``, if its page is loaded."""
        page = self._pages.get(index - index % PAGE_SIZE)
        if page is None:
            return None
        within = index % PAGE_SIZE
        return page[within] if within < len(page) else None

    def index_of(self, thread_id: str) -> int | None:
        """The row of a loaded thread, or ``None``."""
        for offset, page in self._pages.items():
            for i, info in enumerate(page):
                if info.thread_id == thread_id:
                    return offset + i
        return None

    def _move(self, index: int) -> None:
        self._keep = None  # the user moves: announce where the cursor goes
        super()._move(index)

    def _announce(self) -> None:
        info = self.info_at(self.cursor)
        if info is not None and self._keep is not None and info.thread_id != self._keep:
            return
        if info is None:
            if self.total:
                self._request(self.cursor)
            return
        key = f"{info.thread_id}\0{info.head_id}"
        if key != self._announced:
            self._announced = key
            self.post_message(self.Highlighted(info))
