"""How a run commits its checkpoints: before going on, or behind the run.

``durability="sync"`` (the default) commits each checkpoint before the next step
starts: when a step has run, its checkpoint is stored. ``durability="async"`` (as in
LangGraph) lets the next step start at once while the checkpoint is committed in the
background; checkpoints that pile up meanwhile are committed together, as one chain
(:meth:`~timeloom.core.checkpointer.BaseCheckpointer.put_many`: one transaction and
one round trip on the SQL backends). A run always waits for its writes before it
returns, pauses, records pending writes or reports an error, so what a caller sees
when ``invoke`` returns is stored either way; only a crash in the middle of an async
run can lose its last steps, which a resume then runs again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING, Literal

from timeloom.core.errors import ConfigError

if TYPE_CHECKING:
    from timeloom.core.checkpoint import Checkpoint
    from timeloom.core.checkpointer import BaseCheckpointer

Durability = Literal["sync", "async"]

logger = logging.getLogger("timeloom")


def check_durability(durability: str) -> Durability:
    """Return ``durability`` if it is one Timeloom supports, else raise ConfigError."""
    if durability == "sync":
        return "sync"
    if durability == "async":
        return "async"
    if durability == "exit":
        raise ConfigError(
            'durability="exit" is not supported: it stores no checkpoint between a '
            'run\'s start and its end, so there is no history to travel. Use "async" '
            "for speed (every checkpoint stored, behind the run).",
            title="Unsupported durability",
        )
    raise ConfigError(
        f"Unknown durability {durability!r}; use 'sync' or 'async'",
        title="Unknown durability",
    )


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
        self, checkpoint: Checkpoint, *, expected_head: str | None
    ) -> None:
        """Commit ``checkpoint`` now (sync) or queue it behind the run (async).

        Raises:
            ConflictError: (sync) the head moved; (async) an earlier queued commit
                found it moved, and nothing after it was stored.
        """
        if self.durability == "sync":
            await self.checkpointer.put(checkpoint, expected_head=expected_head)
            return
        self._raise_failure()
        staged = self.checkpointer.stage(checkpoint)  # before any node can touch it
        if not self._queue:
            self._queued_after = expected_head
        self._queue.append(staged)
        if self._task is None or self._task.done():
            self._task = asyncio.ensure_future(self._drain())

    async def flush(self) -> None:
        """Wait until every queued checkpoint is committed; raise what failed."""
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
