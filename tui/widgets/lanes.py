"""Lay out a thread's checkpoints as a ``git log --graph`` picture, page by page.

Checkpoints arrive newest first (ids are time-ordered, so every checkpoint comes
before its parent). Each open *lane* waits for the parent of the checkpoint drawn in
it. A checkpoint nobody waits for starts a new lane: the tip of a branch. A checkpoint
several lanes wait for is a branch point: those lanes join it (``○─╯``). The layout
is incremental, so a thread of any length is laid out one page at a time.

```
◉ 3 approve            head of the newest branch
│ ○ 3 propose_refund   an older sibling branch
│ ○ 2 update
○─╯ 1 lookup_order     the branch point
○ 0 classify
```
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from timeloom.core.checkpoint import CheckpointMeta


@dataclass(frozen=True, slots=True)
class GraphRow:
    """One checkpoint's line of the graph."""

    meta: CheckpointMeta
    before: str
    """The lane glyphs left of the checkpoint's node (``"│ "``)."""
    after: str
    """The lane glyphs right of it, including joins (``"─╯ │"``), right-trimmed."""
    branches: int
    """How many other lanes join this checkpoint: sibling branches grown from it."""


class LaneLayout:
    """Lays out checkpoints fed newest first; remembers the open lanes between pages."""

    __slots__ = ("_lanes",)

    def __init__(self) -> None:
        self._lanes: list[str | None] = []
        """Per lane, the id of the checkpoint it waits for (``None``: free)."""

    def add(self, metas: Iterable[CheckpointMeta]) -> list[GraphRow]:
        """Lay out the next (older) checkpoints; return one row per checkpoint."""
        return [self._place(meta) for meta in metas]

    def _place(self, meta: CheckpointMeta) -> GraphRow:
        lanes = self._lanes
        waiting = [i for i, expected in enumerate(lanes) if expected == meta.id]
        if waiting:
            column = waiting[0]
        else:
            column = lanes.index(None) if None in lanes else len(lanes)
            if column == len(lanes):
                lanes.append(None)
        joins = waiting[1:]
        last_join = joins[-1] if joins else column
        cells: list[str] = []
        for i, expected in enumerate(lanes):
            if i == column:
                cells.append("")
            elif i in joins:
                cells.append("╯" if i == last_join else "┴")
            elif expected is not None:
                cells.append("┼" if column < i < last_join else "│")
            else:
                cells.append("─" if column < i < last_join else " ")
        before = " ".join(cells[:column]) + (" " if column else "")
        right = ""
        for i in range(column + 1, len(cells)):
            gap = "─" if i <= last_join else " "
            right += gap + cells[i]
        for i in joins:
            lanes[i] = None
        same_thread_parent = meta.parent_id is not None and not meta.is_fork_root
        lanes[column] = meta.parent_id if same_thread_parent else None
        while lanes and lanes[-1] is None:
            lanes.pop()
        return GraphRow(meta, before, right.rstrip(), len(joins))
