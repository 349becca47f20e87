"""One run of a compiled graph: its super-step loop and how it stops.

:func:`run` starts a :class:`Run` (see :mod:`timeloom.core.run_start` for how it
gets to the checkpoint its first step runs from), then steps: each super-step
runs every node in ``next`` concurrently (:func:`~timeloom.core.step.run_step`),
applies their updates in the graph's node order, works out the next nodes, and
commits exactly one checkpoint. A step that does not complete stops the run
(:meth:`Run.stop`): a node's error or ``interrupt()`` is recorded as pending writes
on the current checkpoint, as is a static breakpoint (:meth:`Run.pause`).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any, NamedTuple

from timeloom.core.checkpoint import Checkpoint, PendingWrite
from timeloom.core.config import RunConfig
from timeloom.core.constants import START
from timeloom.core.errors import (
    ConfigError,
    GraphRecursionError,
    NodeFailure,
    attach_node_failure,
)
from timeloom.core.interrupts import Command
from timeloom.core.run_start import (
    answer,
    replay_base,
    replay_input,
    start,
    update_then_carry,
    write_input_checked,
)
from timeloom.core.sends import next_of, tasks_of, with_gotos, writes_by_node
from timeloom.core.snapshot import interrupts_of
from timeloom.core.state_access import waiting_of
from timeloom.core.step import StepOutcome, interrupt_id, run_step
from timeloom.core.streaming import RunEvent, StepLog, StepTasks, node_writes
from timeloom.core.subgraphs import Caller, RunScope, StepScope, SubgraphStream
from timeloom.core.writer import CheckpointWriter, Durability, RunState

if TYPE_CHECKING:
    from timeloom.core.runtime import CompiledGraph
    from timeloom.core.subgraphs import Route


class Options(NamedTuple):  # a tuple: made for every run, cheaply
    """The keyword arguments of one run."""

    durability: Durability
    inline_sync: bool
    """Call a lone sync node on the caller's thread (the sync API)."""
    interrupt_before: frozenset[str]
    interrupt_after: frozenset[str]
    log: StepLog | None = None
    """What a stream hears from inside the steps (``None``: a run that does not
    stream)."""
    caller: Caller | None = None
    """The task of another graph this one was invoked in: it runs as a subgraph."""
    subgraphs: SubgraphStream | None = None
    """Where subgraphs' chunks go (``stream(..., subgraphs=True)``)."""
    context: Any = None
    """The run's context (``invoke(..., context=...)``), coerced to the graph's
    ``context_schema`` (see :mod:`timeloom.core.run_context`)."""


async def run(
    graph: CompiledGraph, how: Route, options: Options
) -> AsyncGenerator[RunEvent, None]:
    """Start running ``graph`` as ``how`` says: the events of its steps, an event
    per checkpoint and pause (see :meth:`Run.steps`)."""
    # Durability "exit" stores nothing before the run ends, not even its input:
    # it cannot confirm a remembered head by committing the input checkpoint.
    optimistic = options.durability != "exit"
    state, base = await start(graph, how.cfg, how.input, how.fresh, optimistic)
    if graph.checkpointer is not None:
        state.writer = CheckpointWriter(graph.checkpointer, options.durability)
    this = Run(graph, state, how.cfg, options)
    scope = how.scope_of(state.thread_id, base, state.replaying, options)
    return this.steps(how.input, base, scope)


class Run:
    """One run: the graph it runs, where it writes, its config and options."""

    def __init__(
        self, graph: CompiledGraph, state: RunState, cfg: RunConfig, options: Options
    ) -> None:
        self.graph = graph
        self.state = state
        self.cfg = cfg
        self.options = options
        self._task_metadata: Mapping[str, Any] | None = None

    def task_metadata(self) -> Mapping[str, Any]:
        """What each task's metadata starts with (made once, when first asked for)."""
        if self._task_metadata is None:
            self._task_metadata = self.cfg.task_metadata
        return self._task_metadata

    async def steps(
        self, input: Any, base: Checkpoint | None, scope: RunScope
    ) -> AsyncGenerator[RunEvent, None]:
        """Get to the checkpoint to step from, then run super-steps until the
        graph ends, pauses or fails.

        Everything the run committed is stored when the last event (``done`` or
        ``interrupt``) is yielded; if the run fails, its queued commits settle first.
        """
        try:
            graph, state, cfg, options = self.graph, self.state, self.cfg, self.options
            log = options.log or StepLog()
            resuming = input is None or isinstance(input, Command)
            shown = False  # a resume shows the values it starts from once, as LangGraph
            if state.replaying:
                assert base is not None
                copied = await replay_base(self, base)
                if copied is not None:
                    base, shown = copied, True
                    yield RunEvent("input", base)
            if isinstance(input, Command):
                assert base is not None
                if input.update is not None:
                    base, shown = (
                        await update_then_carry(self, base, input.update),
                        True,
                    )
                    yield RunEvent("input", base)
                if input.has_resume:
                    base = await answer(self, base, input.resume)
                if input.goto_nodes:
                    base = with_gotos(base, input.goto_nodes, graph._router.sorted)
            elif input is not None:
                received, base = await write_input_checked(self, base, input)
                yield RunEvent("input", received, values=False)
                # As LangGraph: an input that writes no key shows no state.
                yield RunEvent("input", base, ((START, base.writes[START]),))
            assert base is not None
            if resuming and not shown:
                yield RunEvent("input", base)
            current = base
            if current.next == (START,):
                current = await replay_input(self, current)
                yield RunEvent("input", current)
            steps = 0
            # The modes streamed do not change during the run. A step yields as
            # it goes for what nodes stream, subgraphs' chunks, and the update
            # of each task as it finishes while others run.
            always_live = log.live or log.subgraphs
            updates_live = "updates" in log.wanted
            while current.next:
                tasks = tasks_of(current, graph.nodes)
                ran = [t.name for t in tasks]
                if options.interrupt_before and (not resuming or steps > 0):
                    hit = [name for name in ran if name in options.interrupt_before]
                    if hit:
                        yield await self.pause(current, hit, "before")
                        return
                if steps >= cfg.recursion_limit:
                    raise GraphRecursionError(  # LangGraph's words, then ours
                        f"Recursion limit of {cfg.recursion_limit} reached without "
                        "hitting a stop condition. You can increase the limit by "
                        "setting the `recursion_limit` config key.\n"
                        f"The run took {steps} steps without ending."
                    )
                log.begin(
                    StepTasks(
                        current,
                        tasks,
                        graph.schema,
                        graph._triggers,
                        self.task_metadata,
                    )
                )
                live = always_live or (updates_live and len(tasks) > 1)
                running = run_step(
                    current,
                    tasks,
                    graph.schema,
                    cfg.raw,
                    inline_sync=options.inline_sync and not live,
                    log=log,
                    scope=StepScope(
                        scope, current, resuming and steps == 0 and not state.replaying
                    ),
                )
                if live:  # yield what nodes stream while the step runs
                    step = asyncio.ensure_future(running)
                    try:
                        async for _ in log.running(step):
                            yield RunEvent("progress", current)
                    finally:
                        step.cancel()  # the stream was closed mid-step
                    outcome = step.result()
                else:
                    outcome = await running
                if not outcome.complete:
                    stopped = await self.stop(current, outcome)
                    yield stopped
                    if stopped.error is not None:
                        raise stopped.error
                    return
                values = graph.schema.apply(current.values, outcome.updates)
                pulls, sends, waiting = await graph._router.next_after(
                    ran, values, outcome.gotos, waiting_of(current)
                )
                written = node_writes(outcome.updates)
                node: dict[str, str] = {}
                if tasks and tasks[-1].send is not None:  # sends ran (they come last)
                    node = {t.key: t.name for t in tasks}
                    written = writes_by_node(written, node)
                current = await graph._commit(
                    state,
                    parent=current,
                    source="loop",
                    values=values,
                    next_nodes=next_of(pulls, sends),
                    writes=written,
                    waiting=waiting,
                    sends=sends,
                )
                steps += 1
                yield RunEvent(
                    "step",
                    current,
                    outcome.updates,
                    quiet=frozenset(outcome.returned_none),
                )
                if options.interrupt_after and current.next:
                    hit = [name for name in ran if name in options.interrupt_after]
                    if hit:
                        yield await self.pause(current, hit, "after")
                        return
            await self.flush()
            yield RunEvent("done", current)
        except BaseException:
            if self.state.writer is not None:
                await self.state.writer.settle()
            raise

    async def stop(self, current: Checkpoint, outcome: StepOutcome) -> RunEvent:
        """Record an incomplete step on ``current``: the pause, or the failure the
        run raises next (``error``)."""
        # A node asked again from the same checkpoint (a resume without an answer)
        # raises the interrupt it raised before, with the same id: record it once.
        known = {
            w.value.get("id") for w in current.pending_writes if w.kind == "interrupt"
        }
        new_writes = [
            w
            for w in outcome.new_writes
            if w.kind != "interrupt" or w.value.get("id") not in known
        ]
        if self.graph.checkpointer is not None:
            await self.flush()
            if new_writes:
                await self.graph.checkpointer.put_pending(
                    current.thread_id, current.id, self.graph._stored_writes(new_writes)
                )
        elif outcome.interrupted and not outcome.errors:
            raise ConfigError(
                "interrupt() needs a graph compiled with a checkpointer, to remember "
                "where to resume",
                title="No checkpointer",
            )
        if outcome.errors:
            node, exc = outcome.errors[0]
            where = NodeFailure(node, self.state.thread_id or None, current.id)
            attach_node_failure(exc, where)
            if len(outcome.errors) > 1:
                others = ", ".join(repr(n) for n, _ in outcome.errors[1:])
                exc.add_note(f"Also failed in the same step: {others}")
            return RunEvent(
                "error",
                current,
                outcome.updates,
                errors=outcome.errors,
                error=exc,
                quiet=frozenset(outcome.returned_none),
            )
        stopped = replace(
            current, pending_writes=current.pending_writes + tuple(new_writes)
        )
        wrote = any(update for _, update in outcome.updates)
        return RunEvent(
            "interrupt",
            stopped,
            outcome.updates,
            interrupts=interrupts_of(stopped.interrupts),
            quiet=frozenset(outcome.returned_none),
            now=self.graph.schema.apply(current.values, outcome.updates)
            if wrote
            else None,
        )

    async def pause(self, current: Checkpoint, nodes: list[str], when: str) -> RunEvent:
        """Record a static interrupt before/after ``nodes`` on ``current``."""
        known = {w.value.get("id") for w in current.pending_writes}
        writes = [
            PendingWrite(node, "interrupt", {"id": iid, "value": None, "when": when})
            for node in dict.fromkeys(nodes)  # a node's sends pause it once
            if (iid := interrupt_id(current.id, node, when)) not in known
        ]
        await self.flush()  # the run stops here: what it committed is stored
        if writes and self.graph.checkpointer is not None:
            await self.graph.checkpointer.put_pending(
                current.thread_id, current.id, writes
            )
        paused = replace(current, pending_writes=current.pending_writes + tuple(writes))
        return RunEvent(
            "interrupt", paused, interrupts=interrupts_of(paused.interrupts)
        )

    async def flush(self) -> None:
        """Wait for the run's queued commits (durability "async"); raise a failure."""
        if self.state.writer is not None:
            await self.state.writer.flush()
