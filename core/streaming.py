"""Streaming a run: the stream modes, and what each event of a run shows in each.

The runtime yields :class:`RunEvent`\\ s (the input applied, a step committed, a
pause, the end); :func:`stream_chunks` turns them into the chunks of the modes a
caller asked for, in LangGraph's order and shapes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from timeloom.core.checkpoint import Checkpoint
from timeloom.core.errors import ConfigError
from timeloom.core.interrupts import Interrupt
from timeloom.core.state import ROOT

if TYPE_CHECKING:
    from timeloom.core.snapshot import StateSnapshot
    from timeloom.core.state import StateSchema

StreamMode = Literal["updates", "values", "checkpoints", "custom"]
STREAM_MODES: tuple[StreamMode, ...] = ("updates", "values", "checkpoints", "custom")
_EMIT_ORDER: tuple[StreamMode, ...] = ("updates", "values", "checkpoints")
"""A step's chunks, in the order LangGraph emits them: nodes' updates as they
finish, then the state after the step, then its checkpoint."""


def parse_modes(
    stream_mode: StreamMode | Sequence[StreamMode],
) -> tuple[StreamMode, ...] | StreamMode:
    """``stream_mode`` checked: one mode, or a tuple of modes (then chunks are
    yielded as ``(mode, chunk)``, as in LangGraph).

    Raises:
        ConfigError: an unknown mode.
    """
    given = [stream_mode] if isinstance(stream_mode, str) else list(stream_mode)
    unknown = [m for m in given if m not in STREAM_MODES]
    if unknown:
        raise ConfigError(
            f"Unknown stream_mode {unknown[0]!r}; use {', '.join(STREAM_MODES)} "
            f"or a list of them"
        )
    return stream_mode if isinstance(stream_mode, str) else tuple(given)


@dataclass(frozen=True, slots=True)
class RunEvent:
    """What a run did, for ``invoke`` and ``stream``: ``input`` (a checkpoint
    committed before any node ran: yielded as ``values`` only if ``values``),
    ``step``, ``interrupt`` (the run pauses) or ``done``."""

    kind: Literal["input", "step", "interrupt", "done"]
    checkpoint: Checkpoint
    updates: Sequence[tuple[str, Mapping[str, Any]]] = ()
    interrupts: tuple[Interrupt, ...] = ()
    values: bool = True
    quiet: frozenset[str] = frozenset()
    """Tasks of the step that returned ``None``."""
    nodes: Mapping[str, str] = field(default_factory=dict)
    """The node of each task key in ``updates`` (see :mod:`timeloom.core.sends`)."""
    committed: bool = True
    """False for the checkpoint a resume starts from (shown as values only)."""

    @property
    def asked(self) -> tuple[Interrupt, ...]:
        """The ``interrupt()`` questions of a pause (a static breakpoint, as in
        LangGraph, asks none)."""
        return tuple(i for i in self.interrupts if i.when == "during")


@dataclass(frozen=True, slots=True)
class StreamView:
    """How a graph shows its state in chunks."""

    schema: StateSchema
    output: Callable[[Mapping[str, Any]], Any]
    """The state values as the output schema gives them."""
    snapshot: Callable[[Checkpoint], StateSnapshot]

    def chunks(self, event: RunEvent, mode: StreamMode) -> list[Any]:
        """What ``event`` shows in stream ``mode`` (``"custom"`` has none here)."""
        if event.kind == "done" or mode == "custom":
            return []
        if mode == "checkpoints":
            if event.kind != "interrupt" and event.committed:
                return [self.snapshot(event.checkpoint)]
        elif mode == "values":
            if event.kind != "interrupt":
                return [self.output(event.checkpoint.values)] if event.values else []
            # As in LangGraph: a pause at interrupt() ends with the state and the
            # questions (a static breakpoint adds nothing).
            state = self.output(event.checkpoint.values)
            if event.asked and isinstance(state, dict):
                return [{**state, "__interrupt__": event.asked}]
        elif event.kind == "step":
            # One item per task, as in LangGraph: its update, or the list of its
            # updates when it returned several (for a state of one value, the
            # value).
            return [
                {event.nodes.get(key, key): None if key in event.quiet else written}
                for key, written in node_writes(event.updates, self.schema).items()
            ]
        elif event.kind == "interrupt":
            # As in LangGraph: the interrupt() questions (none at a breakpoint).
            return [{"__interrupt__": event.asked}]
        return []


async def stream_chunks(
    events: AsyncIterator[RunEvent],
    modes: tuple[StreamMode, ...] | StreamMode,
    view: StreamView,
    custom: list[Any],
) -> AsyncIterator[Any]:
    """Yield the chunks of ``modes`` for a run's ``events``: a tuple of modes
    yields ``(mode, chunk)``.

    Args:
        events: the run's events.
        modes: as :func:`parse_modes` returns them.
        view: how the graph shows its state.
        custom: where the run's nodes write their ``get_stream_writer()`` chunks
            (drained here as each event arrives).
    """
    wanted = modes if isinstance(modes, tuple) else (modes,)
    try:
        async for event in events:
            # What nodes wrote comes first: it was written during the step.
            chunks: list[tuple[StreamMode, Any]] = [("custom", c) for c in custom]
            custom.clear()
            for mode in _EMIT_ORDER:  # LangGraph's, whatever order was asked
                if mode in wanted:
                    chunks.extend((mode, c) for c in view.chunks(event, mode))
            for mode, chunk in chunks:
                yield (mode, chunk) if isinstance(modes, tuple) else chunk
    except Exception:
        # A failed step: what its nodes wrote before the failure, then the error.
        for chunk in custom:
            yield ("custom", chunk) if isinstance(modes, tuple) else chunk
        raise


def node_writes(
    updates: Sequence[tuple[str, Mapping[str, Any]]], schema: StateSchema | None = None
) -> dict[str, Any]:
    """What each node wrote in a step (a copy): its update, or the list of its
    updates when it returned several; with ``schema`` a state of one value's
    updates are given as the values."""
    root = schema is not None and schema.kind == "root"
    by_node: dict[str, list[Any]] = {}
    for node, update in updates:
        by_node.setdefault(node, []).append(update.get(ROOT) if root else dict(update))
    return {node: ups[0] if len(ups) == 1 else ups for node, ups in by_node.items()}
