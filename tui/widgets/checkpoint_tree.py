"""The checkpoint tree: one thread drawn like ``git log --graph``, newest first.

A Line-API widget over the checkpoint summaries loaded so far (no values). Pages of
older checkpoints are asked for with :class:`CheckpointTree.MoreNeeded` as the cursor
or the scroll position nears the end; forks into other threads are looked up only
for rows that have been on screen (:class:`CheckpointTree.ForksNeeded`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import ClassVar

from rich.segment import Segment
from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.message import Message
from textual.strip import Strip

from timeloom.core.checkpoint import CheckpointMeta
from timeloom.core.constants import START
from timeloom.tui.ops.safetext import safe
from timeloom.tui.ops.subgraphs import subgraph_names
from timeloom.tui.widgets.formatting import (
    FORK_MARK,
    HEAD_MARK,
    MARKED,
    MATCH_MARK,
    NODE_MARK,
    STATUS_ICONS,
    SUBGRAPH_MARK,
    format_time,
)
from timeloom.tui.widgets.lanes import GraphRow, LaneLayout
from timeloom.tui.widgets.line_list import CURSOR_BINDINGS, LineList

MORE_MARGIN = 100
"""Ask for the next page when the cursor or the view is this close to the end."""


def node_label(meta: CheckpointMeta) -> str:
    """What a checkpoint's row calls it: the nodes that wrote it (``__start__`` for
    the step that applied a run's input, as LangGraph names it), or its source."""
    nodes = [n for n in meta.nodes if not n.startswith("__") or n == START]
    return ", ".join(nodes) if nodes else meta.source


class CheckpointTree(LineList):
    """A thread's checkpoints with their branches, forks, errors and interrupts.

    | Key | Action |
    | :- | :- |
    | up / down | Move the cursor. |
    | page up / page down | Move a screen at a time. |
    | home / end | The head (newest) / the first checkpoint. |
    | ctrl+c | Copy the checkpoint id. |
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        *CURSOR_BINDINGS,
        Binding("home", "first", "Newest", show=False),
        Binding("end", "last", "Oldest", show=False),
        Binding("ctrl+c", "copy_id", "Copy id", show=False),
    ]

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "checkpoint-tree--cursor",
        "checkpoint-tree--graph",
        "checkpoint-tree--head",
        "checkpoint-tree--step",
        "checkpoint-tree--source",
        "checkpoint-tree--error",
        "checkpoint-tree--interrupt",
        "checkpoint-tree--fork",
        "checkpoint-tree--subgraph",
        "checkpoint-tree--muted",
        "checkpoint-tree--match",
    }

    CURSOR_CLASS: ClassVar[str] = "checkpoint-tree--cursor"

    class Highlighted(Message):
        """The cursor moved onto a checkpoint."""

        def __init__(self, meta: CheckpointMeta) -> None:
            super().__init__()
            self.meta = meta

    class MoreNeeded(Message):
        """The end of what is loaded is near: load checkpoints older than ``before``."""

        def __init__(self, thread_id: str, generation: int, before: str) -> None:
            super().__init__()
            self.thread_id = thread_id
            self.generation = generation
            self.before = before

    class ForksNeeded(Message):
        """Rows on screen whose forks into other threads are not known yet."""

        def __init__(self, thread_id: str, ids: list[str]) -> None:
            super().__init__()
            self.thread_id = thread_id
            self.ids = ids

    def __init__(
        self,
        *,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
        disabled: bool = False,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes, disabled=disabled)
        self.thread_id: str | None = None
        """The thread shown."""
        self.head_id: str | None = None
        """The thread's head, marked ◉."""
        self.marked_id: str | None = None
        """The checkpoint marked for diffing (``m``), shown with ◆."""
        self.matches: frozenset[str] = frozenset()
        """Checkpoints a search found, shown with :data:`MATCH_MARK`."""
        self.match_query = ""
        """The query that found them."""
        self.generation = 0
        """Bumped whenever another thread (or a reload) starts, to drop stale pages."""
        self.exhausted = True
        """Whether the oldest checkpoint is loaded."""
        self._rows: list[GraphRow] = []
        self._index: dict[str, int] = {}
        self._layout = LaneLayout()
        self._graph_width = 1
        self._step_width = 2
        self._pending_cursor: int | None = None
        self._more_requested = False
        self._forks: dict[str, list[CheckpointMeta]] = {}
        self._forks_pending: set[str] = set()
        self._forks_scheduled = False
        self._subgraphs: dict[str, list[str]] = {}
        self._announced: str | None = None

    # -- rendering -----------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        index = self.scroll_offset.y + y
        width = self.scrollable_content_region.width
        if index >= len(self._rows):
            if index == len(self._rows) and not self.exhausted:
                muted = self.get_component_rich_style("checkpoint-tree--muted")
                return Strip(
                    [Segment("  loading older checkpoints…".ljust(width), muted)]
                )
            return Strip.blank(width, self.rich_style)
        row = self._rows[index]
        if row.meta.id not in self._forks:
            self._want_forks(row.meta.id)
        return self._cached_line(
            index, width, lambda cursor: self._render_row(row, width, cursor)
        )

    def _render_row(self, row: GraphRow, width: int, cursor: bool) -> Strip:
        meta = row.meta
        style = self.get_component_rich_style
        graph = style("checkpoint-tree--graph")
        is_head = meta.id == self.head_id
        node = HEAD_MARK if is_head else NODE_MARK
        if meta.has_error:
            node = STATUS_ICONS["failed"]
        node_style = style(
            "checkpoint-tree--error"
            if meta.has_error
            else "checkpoint-tree--head"
            if is_head
            else "checkpoint-tree--graph"
        )
        left = Text.assemble(
            " ",
            (row.before, graph),
            (node, node_style),
            (row.after.ljust(self._graph_width - len(row.before) - 1), graph),
            (f" {meta.step:>{self._step_width}} ", style("checkpoint-tree--step")),
            safe(node_label(meta)),
        )
        if meta.source in ("update", "fork") and node_label(meta) != meta.source:
            left.append(f" ({safe(meta.source)})", style("checkpoint-tree--source"))
        if is_head:
            # The space goes with the label's text: an SVG viewer that drops a
            # span's leading space drew "notifyHEAD".
            left.append(" ")
            left.append("HEAD", style("checkpoint-tree--head"))
        if meta.id == self.marked_id:
            left.append(f" {MARKED} marked", style("checkpoint-tree--head"))
        if meta.id in self.matches:
            left.append(f" {MATCH_MARK} match", style("checkpoint-tree--match"))
        if meta.has_error:
            left.append(
                f" {STATUS_ICONS['failed']} error", style("checkpoint-tree--error")
            )
        if meta.has_interrupt:
            left.append(
                f" {STATUS_ICONS['paused']} interrupt",
                style("checkpoint-tree--interrupt"),
            )
        if meta.is_fork_root:
            left.append(
                f" {FORK_MARK} from {safe(meta.parent_thread_id)}",
                style("checkpoint-tree--fork"),
            )
        ran = self._subgraphs.get(meta.id)
        if ran:
            left.append(
                f" {SUBGRAPH_MARK} {safe(', '.join(subgraph_names(ran)))}",
                style("checkpoint-tree--subgraph"),
            )
        forks = self._forks.get(meta.id, [])
        if forks:
            more = f" +{len(forks) - 1}" if len(forks) > 1 else ""
            left.append(
                f" {FORK_MARK} → {safe(forks[0].thread_id)}{more}",
                style("checkpoint-tree--fork"),
            )
        right = Text(
            f" {format_time(meta.created_at)} ", style("checkpoint-tree--muted")
        )
        if left.cell_len + right.cell_len > width:
            # Markers matter more than the time (which the Metadata tab shows).
            right = Text(" ")
        if left.cell_len + right.cell_len > width:
            left.truncate(max(width - right.cell_len - 1, 1))
            left.append("…")
        line = Text.assemble(
            left, " " * max(width - left.cell_len - right.cell_len, 0), right
        )
        return self._strip(line, width, cursor)

    def _want_forks(self, checkpoint_id: str) -> None:
        self._forks_pending.add(checkpoint_id)
        if not self._forks_scheduled:
            self._forks_scheduled = True
            # call_later runs it in this widget's context, so the message bubbles up
            # (one created in the screen's context would stop at the screen).
            self.call_later(self._ask_forks)

    def _ask_forks(self) -> None:
        self._forks_scheduled = False
        ids = [i for i in self._forks_pending if i not in self._forks]
        self._forks_pending.clear()
        if ids and self.thread_id is not None:
            for checkpoint_id in ids:
                self._forks[checkpoint_id] = []  # asked; filled in by set_forks
            self.post_message(self.ForksNeeded(self.thread_id, ids))

    # -- watchers and handlers -----------------------------------------------------

    def _cursor_moved(self) -> None:
        self._maybe_more()
        row = self.highlighted()
        if row is not None and row.id != self._announced:
            self._announced = row.id
            self.post_message(self.Highlighted(row))

    def watch_scroll_y(self, old: float, new: float) -> None:
        super().watch_scroll_y(old, new)
        self._maybe_more()

    def on_resize(self, event: events.Resize) -> None:
        self._lines.clear()
        self._resize_virtual()

    # -- actions -------------------------------------------------------------------

    def action_copy_id(self) -> None:
        """Copy the highlighted checkpoint's id."""
        meta = self.highlighted()
        if meta is not None:
            self.app.copy_to_clipboard(meta.id)
            self.notify(meta.id, title="Copied checkpoint id")

    # -- public --------------------------------------------------------------------

    def set_marked(self, checkpoint_id: str | None) -> None:
        """Show ◆ on the marked checkpoint (if it is in this thread)."""
        if checkpoint_id != self.marked_id:
            self.marked_id = checkpoint_id
            self.redraw()

    def set_matches(self, checkpoint_ids: Iterable[str], query: str = "") -> None:
        """Mark the checkpoints ``query`` found (none: clear the marks)."""
        self.matches = frozenset(checkpoint_ids)
        self.match_query = query
        self.redraw()

    def show_thread(self, thread_id: str | None, head_id: str | None) -> int:
        """Start showing another thread (empty until :meth:`add_page`).

        Returns:
            The generation pages for this thread must carry.
        """
        self.thread_id = thread_id
        self.head_id = head_id
        self.matches = frozenset()
        self.generation += 1
        self.exhausted = thread_id is None
        self._rows = []
        self._index = {}
        self._layout = LaneLayout()
        self._graph_width = 1
        self._step_width = 2
        self._more_requested = False
        self._pending_cursor = None
        self._forks.clear()
        self._forks_pending.clear()
        self._subgraphs.clear()
        self._announced = None
        self._lines.clear()
        self.cursor = 0
        self.scroll_to(0, 0, animate=False)
        self._resize_virtual()
        return self.generation

    def add_page(
        self, generation: int, metas: list[CheckpointMeta], exhausted: bool
    ) -> None:
        """Append older checkpoints loaded for this thread (ignored if outdated)."""
        if generation != self.generation:
            return
        fresh = [m for m in metas if m.id not in self._index]
        start = len(self._rows)
        self._rows.extend(self._layout.add(fresh))
        self._widen(self._rows[start:])
        for i, row in enumerate(self._rows[start:], start):
            self._index[row.meta.id] = i
        self.exhausted = exhausted
        self._more_requested = False
        self._lines.clear()
        self._resize_virtual()
        if start == 0 and self._rows:
            self.cursor = self.cursor  # announce the first row
        elif self._pending_cursor is not None:
            self._move(self._pending_cursor)
        self._maybe_more()

    def add_new(self, metas: Iterable[CheckpointMeta], head_id: str | None) -> int:
        """Insert checkpoints committed since the thread was loaded; lay out again.

        Returns:
            How many were new.
        """
        fresh = [m for m in metas if m.id not in self._index]
        if head_id is not None:
            self.head_id = head_id
        if not fresh:
            self.redraw()
            return 0
        current = self.highlighted()
        metas_all = sorted(
            [*fresh, *(row.meta for row in self._rows)],
            key=lambda m: m.id,
            reverse=True,
        )
        self._layout = LaneLayout()
        self._rows = self._layout.add(metas_all)
        self._graph_width = 1
        self._step_width = 2
        self._widen(self._rows)
        self._index = {row.meta.id: i for i, row in enumerate(self._rows)}
        self._lines.clear()
        self._resize_virtual()
        if current is not None:
            self._announced = current.id
            self.cursor = self._index[current.id]
        return len(fresh)

    def set_forks(self, forks: Mapping[str, list[CheckpointMeta]]) -> None:
        """Record, per checkpoint, its children in other threads."""
        self._forks.update(forks)
        self.redraw()

    def set_subgraphs(self, ran: Mapping[str, Iterable[str]]) -> None:
        """Record, per checkpoint, the subgraph timelines it ran (added to what is
        known: the list of the thread's subgraphs, then each checkpoint's own
        metadata as it is read)."""
        for checkpoint_id, timelines in ran.items():
            known = self._subgraphs.setdefault(checkpoint_id, [])
            known.extend(t for t in timelines if t not in known)
        self.redraw()

    def subgraphs_of(self, checkpoint_id: str) -> list[str]:
        """The subgraph timelines a checkpoint is known to have run."""
        return list(self._subgraphs.get(checkpoint_id, ()))

    def forks_of(self, checkpoint_id: str) -> list[CheckpointMeta] | None:
        """The known forks of a checkpoint (``None``: not looked up yet)."""
        return self._forks.get(checkpoint_id)

    def select(self, checkpoint_id: str) -> bool:
        """Move the cursor to a loaded checkpoint; return whether it is loaded."""
        index = self._index.get(checkpoint_id)
        if index is None:
            return False
        self.cursor = index
        return True

    def meta_of(self, checkpoint_id: str) -> CheckpointMeta | None:
        """The summary of a loaded checkpoint, or ``None``."""
        index = self._index.get(checkpoint_id)
        return self._rows[index].meta if index is not None else None

    def highlighted(self) -> CheckpointMeta | None:
        """The checkpoint under the cursor."""
        if 0 <= self.cursor < len(self._rows):
            return self._rows[self.cursor].meta
        return None

    @property
    def row_count(self) -> int:
        """How many checkpoints are loaded."""
        return len(self._rows)

    @property
    def oldest_id(self) -> str | None:
        """The id of the oldest checkpoint loaded."""
        return self._rows[-1].meta.id if self._rows else None

    def row(self, index: int) -> GraphRow:
        """The laid-out row at ``index``."""
        return self._rows[index]

    def _widen(self, rows: list[GraphRow]) -> None:
        """Keep the step column aligned: the graph is as wide as its widest row."""
        for row in rows:
            self._step_width = max(self._step_width, len(str(row.meta.step)))
            self._graph_width = max(
                self._graph_width, len(row.before) + 1 + len(row.after)
            )

    @property
    def _target(self) -> int:
        """Where the cursor is going: past the loaded rows while a page loads."""
        return self.cursor if self._pending_cursor is None else self._pending_cursor

    def _move(self, index: int) -> None:
        if not self._rows:
            return
        last = len(self._rows) - 1
        # Moving past what is loaded (a held-down key outrunning the database):
        # remember where the cursor was going and get there when the page arrives.
        self._pending_cursor = index if index > last and not self.exhausted else None
        self.cursor = max(0, min(index, last))

    def _resize_virtual(self) -> None:
        extra = 0 if self.exhausted else 1
        self.virtual_size = Size(self.size.width, len(self._rows) + extra)
        self.refresh()

    def _maybe_more(self) -> None:
        if self.exhausted or self._more_requested or self.thread_id is None:
            return
        end = max(self.cursor, self.scroll_offset.y + self.size.height)
        oldest = self.oldest_id
        if oldest is not None and end + MORE_MARGIN >= len(self._rows):
            self._more_requested = True
            self.post_message(self.MoreNeeded(self.thread_id, self.generation, oldest))
