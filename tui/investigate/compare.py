"""Two runs side by side: branches or threads aligned by step, with the nodes that
ran and what differs at each step (the "original vs fork" view).

A fork's branch is followed back into the thread it was forked from (see
:func:`~timeloom.tui.investigate.timeline.lineage`), so an original and its fork
share their steps up to the fork point (shown as the same checkpoint) and diverge
after it.
"""

from __future__ import annotations

from dataclasses import dataclass

from timeloom.core.checkpoint import CheckpointMeta
from timeloom.tui.investigate.changes import diff_line
from timeloom.tui.investigate.timeline import Lineage


@dataclass(frozen=True, slots=True)
class StepRow:
    """One step of the comparison."""

    step: int
    a: CheckpointMeta | None
    b: CheckpointMeta | None
    same: bool
    """Both sides are the same checkpoint (before the runs diverged)."""
    diff: str
    """From A's state to B's at this step, on one line."""
    changes: int

    @property
    def nodes_differ(self) -> bool:
        """Different nodes produced the two sides' checkpoints."""
        if self.a is None or self.b is None:
            return True
        return self.a.nodes != self.b.nodes


async def compare_steps(a: Lineage, b: Lineage) -> list[StepRow]:
    """Align two branches by step and diff each step's states.

    Where a branch has several checkpoints of one step (an ``update`` and the
    ``loop`` after it share none, but a resumed input may), the last one counts.
    """
    side_a = {m.step: m for m in a.checkpoints}
    side_b = {m.step: m for m in b.checkpoints}
    rows: list[StepRow] = []
    for step in sorted(side_a.keys() | side_b.keys()):
        ma, mb = side_a.get(step), side_b.get(step)
        same = ma is not None and mb is not None and ma.id == mb.id
        diff, changes = "", 0
        if ma is not None and mb is not None and not same:
            diff, changes = diff_line(await a.values(ma), await b.values(mb))
        elif not same:
            diff = "only in A" if mb is None else "only in B"
        rows.append(StepRow(step, ma, mb, same, diff, changes))
    return rows
