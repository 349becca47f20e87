"""Two runs side by side: branches or threads aligned by step, with the nodes that
ran and what differs at each step (the "original vs fork" view).

A fork's branch is followed back into the thread it was forked from, so an
original and its fork share their steps up to the fork point (shown as the same
checkpoint) and diverge after it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from timeloom.core.checkpoint import CheckpointMeta
from timeloom.core.checkpointer import BaseCheckpointer
from timeloom.tui.investigate.changes import diff_line
from timeloom.tui.investigate.timeline import ThreadStates
from timeloom.tui.scripting import NotFound

_MAX_FORK_DEPTH: Final = 32


@dataclass(frozen=True, slots=True)
class Lineage:
    """A branch through one or more threads (a fork and its origins), oldest first."""

    checkpoints: list[CheckpointMeta]
    states: dict[str, ThreadStates]
    """The threads it passes through, by id."""

    async def values(self, meta: CheckpointMeta) -> Mapping[str, Any]:
        """The values of one of its checkpoints."""
        return await self.states[meta.thread_id].values(meta.id)


async def lineage(checkpointer: BaseCheckpointer, ref: str) -> Lineage:
    """The branch ending at ``THREAD`` (its newest checkpoint) or
    ``THREAD@CHECKPOINT``, through the threads it was forked from.

    Raises:
        NotFound: no such thread or checkpoint.
    """
    thread_id, at, tip = ref.rpartition("@")
    if not at:
        thread_id, tip = ref, ""
    states = {thread_id: await ThreadStates.load(checkpointer, thread_id)}
    path = states[thread_id].branch(tip or None)
    for _ in range(_MAX_FORK_DEPTH):
        root = path[0]
        origin = root.parent_thread_id
        if root.parent_id is None or origin is None or origin == root.thread_id:
            break
        if origin not in states:
            try:
                states[origin] = await ThreadStates.load(checkpointer, origin)
            except NotFound:
                break  # the origin was deleted: the fork starts here
        try:
            path = states[origin].branch(root.parent_id) + path
        except NotFound:
            break
    return Lineage(path, states)


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
