"""The checkpoint model: immutable snapshots, their summaries, and threads.

A checkpoint is the whole state after one step, with a link to its parent. The parent
may live in another thread: that is how a fork into a new thread is recorded. A
thread is a named line of work whose *head* is its latest checkpoint; the database is
a forest of checkpoints.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, TypeAlias

from timeloom.core.ids import new_checkpoint_id

Source: TypeAlias = Literal["input", "loop", "update", "fork"]
"""How a checkpoint came to be: a run's input (step -1), a super-step of the graph,
``update_state``, or the first checkpoint of a thread forked from another one."""

WriteKind: TypeAlias = Literal["update", "error", "interrupt", "resume"]
"""What a pending write holds (see :class:`PendingWrite`)."""

ThreadStatus: TypeAlias = Literal["running", "paused", "done", "failed"]
"""A thread's status, derived from its head (see :func:`thread_status`)."""

SOURCES: tuple[Source, ...] = ("input", "loop", "update", "fork")
THREAD_STATUSES: tuple[ThreadStatus, ...] = ("running", "paused", "done", "failed")


@dataclass(frozen=True, slots=True)
class UnreadableValue:
    """Stands in for a state value a backend could not read back (a corrupt blob).

    The rest of the checkpoint stays readable; the runtime refuses to continue from a
    checkpoint that holds one. Showing it never fails: ``str(value)`` says what broke.
    """

    channel: str
    reason: str

    def __str__(self) -> str:
        return f"<unreadable {self.channel!r}: {self.reason}>"


@dataclass(frozen=True, slots=True)
class PendingWrite:
    """Something recorded on a checkpoint by a step that did not complete.

    ``kind`` says what ``value`` holds, always as plain data so that every backend can
    store it:

    - ``"update"``: the partial state update a node returned (the node succeeded but
      a sibling failed or interrupted, so the step was not committed).
    - ``"error"``: ``{"type", "message", "traceback", "repr"}`` of the exception a
      node raised (see :mod:`timeloom.core.error_records`).
    - ``"interrupt"``: ``{"id", "value", "when"}``: ``when`` is ``"during"`` for
      ``interrupt(value)`` inside the node, ``"before"``/``"after"`` for static ones.
    - ``"resume"``: ``{"id", "value"}``: the value ``Command(resume=...)`` supplied for
      the interrupt ``id``.
    """

    node: str
    kind: WriteKind
    value: Any


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """An immutable snapshot of the whole state after one step."""

    id: str
    """Time-ordered, globally unique id (UUIDv7 string)."""
    thread_id: str
    parent_id: str | None
    """The checkpoint this one grew from; ``None`` for the first of a new thread."""
    parent_thread_id: str | None
    """The thread of the parent: another thread for the first checkpoint of a fork."""
    step: int
    """-1 for a run's input checkpoint, then 0, 1, 2... (an update or fork: parent + 1)."""
    source: Source
    created_at: datetime
    """When the checkpoint was committed (timezone-aware, UTC)."""
    values: Mapping[str, Any]
    """The whole state after this step."""
    next: tuple[str, ...]
    """The nodes due to run from here; empty when the run is done."""
    writes: Mapping[str, Any] = field(default_factory=dict)
    """The update each node wrote in the step that produced this checkpoint."""
    metadata: Mapping[str, Any] = field(default_factory=dict)
    """Free-form metadata (run id, user, graph version...)."""
    pending_writes: tuple[PendingWrite, ...] = ()
    """What an unfinished step from this checkpoint left behind (errors, interrupts,
    successful siblings' updates, resume values)."""

    @property
    def errors(self) -> tuple[PendingWrite, ...]:
        """The pending writes of kind ``"error"``."""
        return tuple(w for w in self.pending_writes if w.kind == "error")

    @property
    def interrupts(self) -> tuple[PendingWrite, ...]:
        """The interrupts raised from this checkpoint that no resume value answers."""
        answered = {
            w.value.get("id") for w in self.pending_writes if w.kind == "resume"
        }
        return tuple(
            w
            for w in self.pending_writes
            if w.kind == "interrupt" and w.value.get("id") not in answered
        )

    @property
    def unreadable(self) -> tuple[str, ...]:
        """The keys whose values could not be read back (see :class:`UnreadableValue`)."""
        return tuple(
            k for k, v in self.values.items() if isinstance(v, UnreadableValue)
        )

    @property
    def status(self) -> ThreadStatus:
        """The status a thread has while this checkpoint is its head."""
        return thread_status(self.next, bool(self.errors), bool(self.interrupts))

    def summary(self, size: int | None = None) -> CheckpointMeta:
        """Return this checkpoint's summary (everything but the values).

        Args:
            size: the stored size of the values in bytes, when the caller knows it.
        """
        return CheckpointMeta(
            id=self.id,
            thread_id=self.thread_id,
            parent_id=self.parent_id,
            parent_thread_id=self.parent_thread_id,
            step=self.step,
            source=self.source,
            created_at=self.created_at,
            nodes=tuple(self.writes),
            next=self.next,
            metadata=self.metadata,
            has_error=bool(self.errors),
            has_interrupt=bool(self.interrupts),
            size=size,
        )


def new_checkpoint(
    parent: Checkpoint | None,
    *,
    thread_id: str,
    source: Source,
    values: Mapping[str, Any],
    next: tuple[str, ...],
    writes: Mapping[str, Any],
    metadata: Mapping[str, Any],
) -> Checkpoint:
    """A new checkpoint grown from ``parent`` (in its thread or, a fork, another).

    The one place checkpoints are made: a new id, now, and step ``parent.step + 1``
    (``-1`` for the first checkpoint of a new thread).
    """
    return Checkpoint(  # by position: made several times a step, and cheaper so
        new_checkpoint_id(),
        thread_id,
        parent.id if parent else None,
        parent.thread_id if parent else None,
        parent.step + 1 if parent else -1,
        source,
        datetime.now(UTC),
        values,
        next,
        writes,
        metadata,
    )


@dataclass(frozen=True, slots=True)
class CheckpointMeta:
    """A checkpoint's summary without its values: what a history list needs."""

    id: str
    thread_id: str
    parent_id: str | None
    parent_thread_id: str | None
    step: int
    source: Source
    created_at: datetime
    nodes: tuple[str, ...]
    """The nodes whose updates produced this checkpoint."""
    next: tuple[str, ...]
    metadata: Mapping[str, Any] = field(default_factory=dict)
    has_error: bool = False
    has_interrupt: bool = False
    size: int | None = None
    """Stored size of the values in bytes, where the backend knows it."""

    @property
    def status(self) -> ThreadStatus:
        """The status a thread has while this checkpoint is its head."""
        return thread_status(self.next, self.has_error, self.has_interrupt)

    @property
    def is_fork_root(self) -> bool:
        """True for the first checkpoint of a thread forked from another thread."""
        return (
            self.parent_thread_id is not None
            and self.parent_thread_id != self.thread_id
        )

    def with_values(
        self,
        values: Mapping[str, Any],
        writes: Mapping[str, Any],
        pending_writes: tuple[PendingWrite, ...] = (),
    ) -> Checkpoint:
        """The full checkpoint this summarises, given what a read decoded (the
        inverse of :meth:`Checkpoint.summary`).

        Args:
            values: the state.
            writes: the updates that produced it, by node.
            pending_writes: its pending writes.
        """
        return Checkpoint(
            id=self.id,
            thread_id=self.thread_id,
            parent_id=self.parent_id,
            parent_thread_id=self.parent_thread_id,
            step=self.step,
            source=self.source,
            created_at=self.created_at,
            values=values,
            next=self.next,
            writes=writes,
            metadata=self.metadata,
            pending_writes=pending_writes,
        )


@dataclass(frozen=True, slots=True)
class ThreadInfo:
    """A thread: a named line of work and its head."""

    thread_id: str
    status: ThreadStatus
    head_id: str
    checkpoint_count: int
    created_at: datetime
    updated_at: datetime
    """When the head was committed."""
    forked_from: tuple[str, str] | None = None
    """``(thread_id, checkpoint_id)`` this thread was forked from, if it is a fork."""
    metadata: Mapping[str, Any] = field(default_factory=dict)
    """The metadata of the thread's head checkpoint."""


def thread_status(
    next_nodes: tuple[str, ...], has_error: bool, has_interrupt: bool
) -> ThreadStatus:
    """Derive a thread's status from its head checkpoint.

    Args:
        next_nodes: the head's ``next``.
        has_error: whether the head has an error pending write.
        has_interrupt: whether the head has an unanswered interrupt.

    Returns:
        ``"failed"`` if a node failed from the head, ``"paused"`` if it waits at an
        interrupt, ``"done"`` if nothing is due, otherwise ``"running"`` (a run is in
        progress, or was stopped before it finished: resuming continues it).
    """
    if has_error:
        return "failed"
    if has_interrupt:
        return "paused"
    if not next_nodes:
        return "done"
    return "running"
