"""Which checkpoints a backend keeps: one policy for memory, SQLite and Postgres.

Each backend reads what the rules need its own way (a dict walk, a SQL query) and
asks these functions; the rules themselves exist once, so they cannot drift apart
between backends (a copied ``keep_last`` slice once did).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from timeloom.core.checkpoint import PendingWrite


@dataclass(frozen=True, slots=True)
class PruneCandidate:
    """A checkpoint of the thread being pruned, and what protects it."""

    id: str
    created_at: datetime
    is_head: bool
    is_fork_point: bool
    """Another checkpoint (of any thread) forks from it: see :func:`is_fork_point`."""
    has_interrupt: bool
    """It carries an unanswered interrupt."""


def prune_selection(
    candidates: Sequence[PruneCandidate],
    *,
    keep_last: int | None,
    older_than: datetime | None,
) -> list[str]:
    """The ids :meth:`~timeloom.core.checkpointer.BaseCheckpointer.prune` deletes.

    A checkpoint is kept if it is among the ``keep_last`` newest, or not older than
    ``older_than`` (a naive time is read as UTC), or is the head, or is a fork
    point, or carries an unanswered interrupt.

    Args:
        candidates: every checkpoint of the thread, oldest first.
        keep_last: how many of the newest to keep, or ``None``.
        older_than: delete only checkpoints created before this, or ``None``.
    """
    if keep_last is None and older_than is None:
        return []
    # max(): a thread shorter than keep_last keeps everything (a negative start
    # would count from the end instead).
    keep_from = (
        max(0, len(candidates) - keep_last)
        if keep_last is not None
        else len(candidates)
    )
    cutoff = aware_utc(older_than) if older_than is not None else None
    return [
        c.id
        for c in candidates[:keep_from]
        if not (c.is_head or c.is_fork_point or c.has_interrupt)
        and (cutoff is None or aware_utc(c.created_at) < cutoff)
    ]


def is_fork_point(child_threads: Sequence[str], thread_id: str) -> bool:
    """Whether a checkpoint of ``thread_id`` whose children live in
    ``child_threads`` (one entry per child) is a fork point: it has two children
    (a branch) or a child in another thread."""
    return len(child_threads) > 1 or any(t != thread_id for t in child_threads)


def pending_flags(pending: Sequence[PendingWrite]) -> tuple[bool, bool]:
    """Whether pending writes hold an error, and an unanswered interrupt (one
    whose id no ``resume`` write answers)."""
    answered = {
        w.value.get("id")
        for w in pending
        if w.kind == "resume" and isinstance(w.value, Mapping)
    }
    has_interrupt = any(
        w.kind == "interrupt"
        and (not isinstance(w.value, Mapping) or w.value.get("id") not in answered)
        for w in pending
    )
    return any(w.kind == "error" for w in pending), has_interrupt


def aware_utc(moment: datetime) -> datetime:
    """``moment``, read as UTC if it is naive."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
