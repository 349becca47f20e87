"""How a run commits its checkpoints: before going on, behind the run, or at its end.

``durability="sync"`` (the default) commits each checkpoint before the next step
starts: when a step has run, its checkpoint is stored. ``durability="async"`` (as in
LangGraph) lets the next step start at once while the checkpoint is committed in the
background; checkpoints that pile up meanwhile are committed together, as one chain
(:meth:`~timeloom.core.checkpointer.BaseCheckpointer.put_many`: one transaction and
one round trip on the SQL backends). A run always waits for its writes before it
returns, pauses, records pending writes or reports an error, so what a caller sees
when ``invoke`` returns is stored either way; only a crash in the middle of an async
run can lose its last steps, which a resume then runs again. ``durability="exit"``
(as in LangGraph) stores one checkpoint per run, the last, when the run ends: the
steps between are never stored (no time travel to them), and a crash loses the run.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from timeloom.core.errors import ConfigError

if TYPE_CHECKING:
    from timeloom.core.checkpoint import Checkpoint
    from timeloom.core.checkpointer import BaseCheckpointer

Durability = Literal["sync", "async", "exit"]

logger = logging.getLogger("timeloom")


def check_durability(durability: str) -> Durability:
    """Return ``durability`` if it is one Timeloom supports, else raise ConfigError."""
    if durability == "sync":
        return "sync"
    if durability == "async":
        return "async"
    if durability == "exit":
        return "exit"
    raise ConfigError(
        f"Unknown durability {durability!r}; use 'sync', 'async' or 'exit'",
        title="Unknown durability",
    )


@dataclass(slots=True)
class RunState:
    """The mutable state of one run (or one ``update_state``): where it writes and
    the head it expects to find."""

    thread_id: str
    expected_head: str | None
    metadata: dict[str, Any] = field(default_factory=dict)
    writer: CheckpointWriter | None = None
    """``None`` for ``update_state`` and ``fork``, which always commit at once."""
    optimistic: bool = False
    """Started from the head this checkpointer remembers, unread: its input commit
    must confirm it (see :func:`~timeloom.core.run_start.write_input_checked`)."""
    replaying: bool = False
    """Time travel: continuing from a checkpoint named in the config without
    answering an interrupt (see :func:`~timeloom.core.run_start.replay_base`)."""

    async def commit(
        self, checkpointer: BaseCheckpointer | None, chain: Sequence[Checkpoint]
    ) -> None:
        """Commit ``chain`` expecting this run's head, then move the head to it.

        Raises:
            ConflictError: another writer moved the thread's head.
        """
        if self.writer is not None:
            await self.writer.commit(chain, expected_head=self.expected_head)
        elif checkpointer is not None:  # update_state and fork: always at once
            await CheckpointWriter(checkpointer, "sync").commit(
                chain, expected_head=self.expected_head
            )
        self.expected_head = chain[-1].id


class CheckpointWriter:
    """Commits one run's checkpoints, in order, as its durability says."""

    def __init__(self, checkpointer: BaseCheckpointer, durability: Durability) -> None:
        self.checkpointer = checkpointer
        self.durability = durability
        self._queue: list[Checkpoint] = []
        self._queued_after: str | None = None
        """The head the first queued checkpoint expects (the run commits a chain:
        each checkpoint expects the one before)."""
        self._task: asyncio.Task[None] | None = None
        self._failure: BaseException | None = None

    async def commit(
        self, chain: Sequence[Checkpoint], *, expected_head: str | None
    ) -> None:
        """Commit a chain of checkpoints (each the child of the one before) now
        (sync: one ``put``, or one ``put_many``), or queue it behind the run (async).

        Raises:
            ConflictError: (sync) the head moved; (async) an earlier queued commit
                found it moved, and nothing after it was stored.
        """
        if self.durability == "sync":
            if len(chain) == 1:
                await self.checkpointer.put(chain[0], expected_head=expected_head)
            else:
                await self.checkpointer.put_many(chain, expected_head=expected_head)
            return
        if self.durability == "exit":
            self._keep_last(chain, expected_head)
            return
        self._raise_failure()
        if not self._queue:
            self._queued_after = expected_head
        for checkpoint in chain:  # staged before any node can touch its values
            self._queue.append(self.checkpointer.stage(checkpoint))
        if self._task is None or self._task.done():
            self._task = asyncio.ensure_future(self._drain())

    def _keep_last(
        self, chain: Sequence[Checkpoint], expected_head: str | None
    ) -> None:
        """Durability "exit": keep only the run's newest checkpoint, as the child
        of the checkpoint the run started from (the ones between are never
        stored, as LangGraph's)."""
        first = self._queue[0] if self._queue else chain[0]
        if not self._queue:
            self._queued_after = expected_head
        newest = dataclasses.replace(
            chain[-1],
            parent_id=first.parent_id,
            parent_thread_id=first.parent_thread_id,
        )
        self._queue = [self.checkpointer.stage(newest)]

    async def flush(self) -> None:
        """Wait until every queued checkpoint is committed; raise what failed.
        (Durability "exit": commit the kept checkpoint now.)"""
        if self.durability == "exit":
            if self._queue:
                kept, self._queue = self._queue[0], []
                await self.checkpointer.put(kept, expected_head=self._queued_after)
            return
        if self._task is not None:
            await asyncio.shield(self._task)
        self._raise_failure()

    async def settle(self) -> None:
        """At the end of a run that stopped early: finish the writes, never raise
        (a failure is logged; an error already on its way is the one reported)."""
        if self._task is not None and not self._task.done():
            with contextlib.suppress(BaseException):
                await asyncio.shield(self._task)
        self._log_failure()

    async def _drain(self) -> None:
        while self._queue:
            batch, self._queue = self._queue, []
            after = self._queued_after
            try:
                await self.checkpointer.put_many(batch, expected_head=after)
            except BaseException as exc:  # kept for the run to raise
                self._failure = exc
                self._queue = []
                if isinstance(exc, asyncio.CancelledError):
                    raise
                return

    def _raise_failure(self) -> None:
        failure, self._failure = self._failure, None
        if failure is not None:
            raise failure

    def _log_failure(self) -> None:
        failure, self._failure = self._failure, None
        if failure is not None and not isinstance(failure, asyncio.CancelledError):
            logger.warning(
                "A checkpoint written behind the run failed after the run stopped: %s",
                failure,
            )
