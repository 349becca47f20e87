"""Bisect: the first checkpoint along a branch where a query holds, and the node
write that made it so.

Binary search reads O(log n) states, and finds *the* first checkpoint when the
query, once true, stays true along the branch (``refund.amount > order.total``
after a bad write that nothing undoes). When that cannot be assumed (``--linear``),
or when the query does not hold at the tip (so there is no false-to-true edge to
search for), every checkpoint is read in order: linear, and exact.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, TypeAlias

from timeloom.core.checkpoint import CheckpointMeta
from timeloom.tui.investigate.changes import diff_line
from timeloom.tui.investigate.query import PlainCache, Query, document
from timeloom.tui.investigate.timeline import ThreadStates

BisectMode: TypeAlias = Literal["binary", "linear"]


@dataclass(frozen=True, slots=True)
class BisectResult:
    """What :func:`bisect` found."""

    checkpoints: int
    """How many checkpoints the branch searched has."""
    first: CheckpointMeta | None
    """The first checkpoint where the query holds; ``None`` if it never does."""
    before: CheckpointMeta | None
    """The checkpoint just before it on the branch (where the query was false)."""
    writes: Mapping[str, Any]
    """What each node wrote in the step that made ``first``."""
    diff: str
    """The changes from ``before`` to ``first``, on one line."""
    mode: BisectMode
    reason: str
    """Why this mode was used."""
    reads: int
    """How many states were read."""


async def bisect(
    states: ThreadStates,
    query: Query,
    *,
    tip: str | None = None,
    linear: bool = False,
) -> BisectResult:
    """Find the first checkpoint along the branch ending at ``tip`` where ``query``
    holds.

    Only the ids along the branch and the summaries of the checkpoints read are
    needed: with ``states`` loaded without summaries, a binary search reads
    O(log n) of each.

    Raises:
        NotFound: ``tip`` is not in the thread.
    """
    branch = states.branch_ids(tip)
    plain = PlainCache()
    start_reads = states.reads

    async def holds(index: int) -> bool:
        (meta,) = await states.summaries([branch[index]])
        doc = document(meta, None)
        values = await states.values(meta.id)
        doc["values"] = plain.values(values, states.tokens(meta.id))
        return query.holds(doc)

    first: int | None
    mode: BisectMode
    if linear:
        mode, reason = "linear", "asked for: every checkpoint is checked in order"
        first = await _linear(states, await states.summaries(branch), query, plain)
    elif not await holds(len(branch) - 1):
        mode = "linear"
        reason = "the query does not hold at the tip: no edge to bisect"
        first = await _linear(states, await states.summaries(branch), query, plain)
    elif await holds(0):
        mode, reason, first = "binary", "the query holds from the first checkpoint", 0
    else:
        mode = "binary"
        reason = (
            "false at the start and true at the tip; assumes that once true the "
            "query stays true (--linear checks every checkpoint)"
        )
        lo, hi = 0, len(branch) - 1  # holds(lo) is false, holds(hi) is true
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if await holds(mid):
                hi = mid
            else:
                lo = mid
        first = hi
    if first is None:
        return BisectResult(
            len(branch), None, None, {}, "", mode, reason, states.reads - start_reads
        )
    found, *earlier = await states.summaries(
        [branch[first]] + ([branch[first - 1]] if first > 0 else [])
    )
    before = earlier[0] if earlier else None
    reads = states.reads - start_reads
    checkpoint = await states.checkpointer.get(states.thread_id, found.id)
    writes = dict(checkpoint.writes) if checkpoint is not None else {}
    diff = ""
    if before is not None:
        diff, _ = diff_line(
            await states.values(before.id), await states.values(found.id)
        )
    return BisectResult(len(branch), found, before, writes, diff, mode, reason, reads)


async def _linear(
    states: ThreadStates,
    branch: list[CheckpointMeta],
    query: Query,
    plain: PlainCache,
) -> int | None:
    index = 0
    async for meta, values in states.scan(branch):
        doc = document(meta, None)
        doc["values"] = plain.values(values, states.tokens(meta.id))
        if query.holds(doc):
            return index
        index += 1
    return None
