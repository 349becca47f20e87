"""The runner of Timeloom databases: Timeloom's runtime and checkpointers."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from timeloom.core.checkpoint import Checkpoint
from timeloom.core.checkpointer import BaseCheckpointer
from timeloom.core.runtime import CompiledGraph
from timeloom.tui.ops import actions, resuming
from timeloom.tui.ops.actions import WriteAction
from timeloom.tui.ops.editcheck import ParsedEdit
from timeloom.tui.ops.resuming import Answer, AskFn, ProgressFn, ResumeOutcome
from timeloom.tui.ops.runners.base import BranchOptions, Runner

if TYPE_CHECKING:
    from timeloom.core.state import StateSchema


class TimeloomRunner(Runner):
    """Writes with Timeloom's runtime (``graph``), or directly without a graph."""

    def __init__(
        self, checkpointer: BaseCheckpointer, graph: CompiledGraph | None = None
    ) -> None:
        """Args:
        checkpointer: the open checkpointer (the graph is bound to it).
        graph: the graph loaded with ``--graph``, if any.
        """
        self.checkpointer = checkpointer
        self.graph = graph

    def refusal(self, action: WriteAction) -> str | None:
        return actions.write_action_refusal(self.checkpointer, self.graph, action)

    @property
    def nodes(self) -> Sequence[str]:
        return list(self.graph.nodes) if self.graph is not None else []

    @property
    def schema(self) -> StateSchema | None:
        return self.graph.schema if self.graph is not None else None

    def default_as_node(self, checkpoint: Checkpoint) -> str | None:
        return actions.default_as_node(self.graph, checkpoint)

    def reducer_keys(self) -> Sequence[str]:
        if self.graph is None:
            return ()
        channels = self.graph.schema.channels
        return [k for k, c in channels.items() if c.reducer is not None]

    async def thread_exists(self, thread_id: str) -> bool:
        return await self.checkpointer.get_thread(thread_id) is not None

    async def edit(
        self, checkpoint: Checkpoint, edit: ParsedEdit, *, as_node: str | None = None
    ) -> Checkpoint:
        return await actions.save_edit(
            self.checkpointer, self.graph, checkpoint, edit, as_node=as_node
        )

    async def branch(
        self, checkpoint: Checkpoint, new_thread_id: str, options: BranchOptions
    ) -> Checkpoint:
        return await actions.branch(
            self.checkpointer,
            self.graph,
            checkpoint,
            new_thread_id,
            options.edit,
            as_node=options.as_node,
        )

    async def resume(
        self,
        checkpoint: Checkpoint,
        *,
        ask: AskFn | None = None,
        on_checkpoint: ProgressFn | None = None,
        answer: Answer | None = None,
    ) -> ResumeOutcome:
        return await resuming.resume(
            self.checkpointer,
            self.graph,
            checkpoint,
            ask=ask,
            on_checkpoint=on_checkpoint,
            answer=answer,
        )
