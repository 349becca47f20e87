"""Provenance ("who changed this?"): the checkpoints along a branch, back through
the threads it was forked from, where the value at a path changed, with step, node,
source and a one-line diff each.

In a content-addressed store a checkpoint whose top-level channel has the same
content token as the one before cannot have changed the path, and is skipped
without decoding anything; only the channel itself is decoded where it changed.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Hashable
from dataclasses import dataclass
from typing import Any, Literal, TypeAlias

from timeloom.core.checkpoint import CheckpointMeta
from timeloom.tui.investigate.changes import value_diff_line
from timeloom.tui.investigate.paths import MISSING, Path, value_at
from timeloom.tui.investigate.timeline import Lineage, ThreadStates

ChangeKind: TypeAlias = Literal["added", "changed", "removed"]


@dataclass(frozen=True, slots=True)
class Provenance:
    """One checkpoint where the value at the path changed."""

    meta: CheckpointMeta
    kind: ChangeKind
    old: Any
    """The value before (:data:`~timeloom.tui.investigate.paths.MISSING` if none)."""
    new: Any
    """The value after (:data:`~timeloom.tui.investigate.paths.MISSING` if none)."""
    diff: str
    """The change on one line."""


async def blame(lineage: Lineage, path: Path) -> list[Provenance]:
    """The checkpoints, oldest first, along a branch (through the threads it was
    forked from, see :func:`~timeloom.tui.investigate.timeline.lineage`) where the
    value at ``path`` changed."""
    found: list[Provenance] = []
    previous: Any = MISSING
    for states, metas in lineage.segments():
        async for meta, current in _values_at(states, metas, path):
            if _same(previous, current):
                continue
            kind: ChangeKind = (
                "added"
                if previous is MISSING
                else "removed"
                if current is MISSING
                else "changed"
            )
            diff = value_diff_line(path, previous, current)
            found.append(Provenance(meta, kind, previous, current, diff))
            previous = current
    return found


async def _values_at(
    states: ThreadStates, branch: list[CheckpointMeta], path: Path
) -> AsyncIterator[tuple[CheckpointMeta, Any]]:
    """The value at ``path`` at each checkpoint that may have changed it."""
    key = str(path[0])
    if branch and states.tokens(branch[0].id) is not None:
        previous: Hashable = _ABSENT
        for index, meta in enumerate(branch):
            tokens = states.tokens(meta.id) or {}
            token = tokens.get(key, _ABSENT)
            if index and token == previous:
                continue  # the same stored content: nothing under it changed
            previous = token
            if token is _ABSENT:
                yield meta, MISSING
            else:
                yield meta, value_at({key: await states.decode(key, token)}, path)
        return
    async for meta, values in states.scan(branch):
        yield meta, value_at(values, path)


_ABSENT = ("absent",)


def _same(a: Any, b: Any) -> bool:
    if a is MISSING or b is MISSING:
        return a is b
    try:
        return type(a) is type(b) and bool(a == b)
    except Exception:  # a value whose == fails is treated as changed
        return False
