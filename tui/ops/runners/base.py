"""The interface every runner implements (see :mod:`timeloom.tui.ops.runners`)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from timeloom.core.checkpoint import Checkpoint
from timeloom.tui.ops.actions import ActionRefused, WriteAction, check_thread_name
from timeloom.tui.ops.editcheck import ParsedEdit
from timeloom.tui.ops.resuming import Answer, AskFn, ProgressFn, ResumeOutcome

if TYPE_CHECKING:
    from timeloom.core.state import StateSchema


@dataclass(frozen=True, slots=True)
class BranchOptions:
    """How to branch, beyond the new thread's name."""

    edit: ParsedEdit | None = None
    """Values to write on the new thread's first checkpoint (None: as they are)."""
    as_node: str | None = None
    """Whose update the edit is (None: what the runtime infers)."""
    ancestry: bool = False
    """Copy the checkpoint's ancestors too (LangGraph: the new thread's history
    then starts where the original's does)."""


class Runner(ABC):
    """Carries out the write actions on the checkpoints the app shows."""

    supports_ancestry = False
    """Whether :meth:`branch` can copy a checkpoint's ancestry."""
    notice: str | None = None
    """Said once when the app opens (e.g. which deserializer writes use)."""

    @abstractmethod
    def refusal(self, action: WriteAction) -> str | None:
        """Why ``action`` cannot run here (shown instead of it), or None."""

    @property
    def nodes(self) -> Sequence[str]:
        """The graph's nodes, to choose whose update an edit is (empty: no graph)."""
        return ()

    @property
    def schema(self) -> StateSchema | None:
        """Timeloom's state schema of the graph, to check edits as they are typed."""
        return None

    def default_as_node(self, checkpoint: Checkpoint) -> str | None:
        """The node an edit of ``checkpoint`` is attributed to when none is chosen."""
        return None

    def reducer_keys(self) -> Sequence[str]:
        """State keys whose updates a reducer combines (an edit appends or merges)."""
        return ()

    def require(self, action: WriteAction) -> None:
        """Raise :class:`ActionRefused` when ``action`` cannot run here."""
        reason = self.refusal(action)
        if reason is not None:
            raise ActionRefused(reason, title="Not available")

    @abstractmethod
    async def thread_exists(self, thread_id: str) -> bool:
        """Whether ``thread_id`` names a thread already."""

    async def check_new_thread(self, thread_id: str) -> None:
        """Raise :class:`ActionRefused` unless ``thread_id`` can name a new thread."""
        problem = check_thread_name(thread_id)
        if problem is None and await self.thread_exists(thread_id):
            problem = f"A thread named {thread_id!r} already exists; pick another name."
        if problem is not None:
            raise ActionRefused(problem, title="Cannot branch")

    @abstractmethod
    async def edit(
        self, checkpoint: Checkpoint, edit: ParsedEdit, *, as_node: str | None = None
    ) -> Checkpoint:
        """Write the edited values as an update after ``checkpoint``; return it."""

    @abstractmethod
    async def branch(
        self, checkpoint: Checkpoint, new_thread_id: str, options: BranchOptions
    ) -> Checkpoint:
        """Branch ``checkpoint`` into the new thread; return the new thread's
        checkpoint to continue from."""

    @abstractmethod
    async def resume(
        self,
        checkpoint: Checkpoint,
        *,
        ask: AskFn | None = None,
        on_checkpoint: ProgressFn | None = None,
        answer: Answer | None = None,
    ) -> ResumeOutcome:
        """Run on from ``checkpoint`` (see :func:`timeloom.tui.ops.resuming.drive`)."""

    async def aclose(self) -> None:  # noqa: B027 - a no-op unless overridden
        """Release what the runner opened (connections of its own)."""
