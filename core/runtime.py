"""``CompiledGraph``: runs a graph in super-steps and writes a checkpoint after each.

One run, from an input or a resumed checkpoint:

1. An input is applied through the reducers and committed as the *input* checkpoint
   (step -1 for a new thread, the next step number otherwise).
2. Each super-step runs every node in ``next`` concurrently, applies their updates in
   the graph's node order, works out the next nodes, and commits exactly one
   checkpoint, atomically with moving the thread's head.
3. A node that raises leaves the error and its successful siblings' updates as pending
   writes on the current checkpoint; ``interrupt()`` and static interrupts leave the
   interrupt there. Resuming re-runs only the nodes that did not succeed.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import (
    AsyncGenerator,
    AsyncIterator,
    Generator,
    Mapping,
    Sequence,
)
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from timeloom.core.checkpoint import Checkpoint, PendingWrite, new_checkpoint
from timeloom.core.config import RunConfig
from timeloom.core.constants import START
from timeloom.core.drawing import DrawableGraph, drawable
from timeloom.core.errors import (
    CheckpointNotFound,
    ConfigError,
    ConflictError,
    GraphRecursionError,
    InvalidUpdateError,
    NodeFailure,
    ResumeError,
    attach_node_failure,
)
from timeloom.core.interrupts import Command, resume_writes
from timeloom.core.routing import Router
from timeloom.core.sends import (
    next_of,
    tasks_of,
    with_gotos,
    with_sends,
    writes_by_node,
)
from timeloom.core.snapshot import interrupts_of
from timeloom.core.state import ROOT
from timeloom.core.state_access import (
    StateAccess,
    require_readable,
    waiting_of,
    with_waiting,
)
from timeloom.core.step import StepOutcome, interrupt_id, run_step
from timeloom.core.streaming import (
    RunEvent,
    StepLog,
    StreamMode,
    StreamView,
    node_writes,
    parse_modes,
    stream_chunks,
    task_infos,
    triggers_of,
)
from timeloom.core.subgraphs import (
    Caller,
    Route,
    RunScope,
    StepScope,
    SubgraphStream,
    route,
)
from timeloom.core.sync import iterate_sync, run_sync
from timeloom.core.writer import (
    CheckpointWriter,
    Durability,
    RunState,
    check_durability,
)

if TYPE_CHECKING:
    from timeloom.core.checkpointer import BaseCheckpointer
    from timeloom.core.graph import NodeSpec, StateGraph


@dataclass(frozen=True, slots=True)
class _Options:
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


class CompiledGraph(StateAccess):
    """A validated graph, ready to run. Made by ``StateGraph.compile()``."""

    def __init__(
        self,
        builder: StateGraph,
        checkpointer: BaseCheckpointer | bool | None,
        *,
        interrupt_before: frozenset[str],
        interrupt_after: frozenset[str],
        name: str,
    ) -> None:
        self.builder = builder
        self.schema = builder.schema
        self._input = builder.input_schema
        self._output = builder.output_schema
        self.nodes: dict[str, NodeSpec] = dict(builder.nodes)
        self.persistence = checkpointer if isinstance(checkpointer, bool) else None
        """As a subgraph: ``True`` keeps its own history per thread, ``False`` none,
        ``None`` (a checkpointer or none given) inherits the parent's."""
        self.checkpointer = None if isinstance(checkpointer, bool) else checkpointer
        self.interrupt_before = interrupt_before
        self.interrupt_after = interrupt_after
        self.name = name
        self._router = Router(
            list(self.nodes),
            builder.edges,
            builder.branches,
            self.schema,
            builder.waiting_edges,
        )
        self._triggers = triggers_of(self.nodes, builder.waiting_edges)
        self._ready = False
        if self.checkpointer is not None:
            self.checkpointer.allow_types(self.schema.classes())

    def get_graph(self) -> DrawableGraph:
        """The graph's nodes and edges; ``.draw_mermaid()`` draws it."""
        return drawable(self.builder)

    def get_input_jsonschema(self) -> dict[str, Any]:
        """The input schema as JSON Schema (needs pydantic), as LangGraph's."""
        return self._input.json_schema("LangGraphInput")

    def get_output_jsonschema(self) -> dict[str, Any]:
        """The output schema as JSON Schema (needs pydantic), as LangGraph's."""
        return self._output.json_schema("LangGraphOutput")

    # -- running -------------------------------------------------------------------

    def invoke(
        self,
        input: Any,
        config: Mapping[str, Any] | None = None,
        *,
        stream_mode: StreamMode = "values",
        durability: Durability = "sync",
        interrupt_before: Sequence[str] | None = None,
        interrupt_after: Sequence[str] | None = None,
        subgraphs: bool = False,
    ) -> Any:
        """Run until the graph ends or pauses; return the state values.

        Args:
            input: a partial state update to start a run, ``None`` to resume from
                the thread's latest (or the config's) checkpoint, or
                ``Command(resume=...)`` to answer an interrupt.
            config: ``{"configurable": {"thread_id": ..., "checkpoint_id": ...}}``.
            stream_mode: another mode than ``"values"`` returns, as LangGraph's
                ``invoke`` does, the list of what :meth:`stream` yields in it.
            durability: ``"sync"`` commits each step's checkpoint before the next
                step starts; ``"async"`` commits behind the run while the next
                step runs, batching what piles up (faster on a remote database).
                Either way everything is stored when this returns (see
                :mod:`timeloom.core.writer`).
            interrupt_before: for this run, pause before these nodes instead of
                those given to ``compile()``.
            interrupt_after: for this run, pause after these nodes instead of
                those given to ``compile()``.
            subgraphs: with another mode than ``"values"``, the list has the
                subgraphs' chunks too, as :meth:`stream` yields them.

        Returns:
            The state values (those of the output schema; the value itself for a
            state of one value); while paused at ``interrupt()`` also
            ``"__interrupt__"``: the pending :class:`Interrupt` list (a static
            breakpoint, as in LangGraph, adds nothing: see ``get_state().next``).

        Raises:
            Exception: what a node raised, as itself (``node_failure(exc)`` names
                the node, thread and checkpoint; the error is stored there).
            ConflictError: another writer advanced the thread meanwhile.
        """
        check_durability(durability)
        options = self._options(durability, True, interrupt_before, interrupt_after)
        if stream_mode != "values":
            modes = parse_modes(stream_mode)
            chunks = self._stream(input, config, modes, options, subgraphs)
            return list(iterate_sync(chunks))
        return run_sync(self._invoke(input, config, options))

    async def ainvoke(
        self,
        input: Any,
        config: Mapping[str, Any] | None = None,
        *,
        stream_mode: StreamMode = "values",
        durability: Durability = "sync",
        interrupt_before: Sequence[str] | None = None,
        interrupt_after: Sequence[str] | None = None,
        subgraphs: bool = False,
    ) -> Any:
        """The async twin of :meth:`invoke`."""
        options = self._options(durability, False, interrupt_before, interrupt_after)
        if stream_mode != "values":
            modes = parse_modes(stream_mode)
            chunks = self._stream(input, config, modes, options, subgraphs)
            return [chunk async for chunk in chunks]
        return await self._invoke(input, config, options)

    def stream(
        self,
        input: Any,
        config: Mapping[str, Any] | None = None,
        *,
        stream_mode: StreamMode | Sequence[StreamMode] = "updates",
        durability: Durability = "sync",
        interrupt_before: Sequence[str] | None = None,
        interrupt_after: Sequence[str] | None = None,
        subgraphs: bool = False,
    ) -> Generator[Any, None, None]:
        """Run like :meth:`invoke`, yielding as each step commits.

        Args:
            stream_mode: one of :data:`~timeloom.core.streaming.STREAM_MODES`
                (``"updates"``: ``{node: update}`` per node and step; ``"values"``:
                the state after the input and each step; ``"checkpoints"``,
                ``"tasks"``, ``"debug"``, ``"messages"``, ``"custom"``: see
                :mod:`timeloom.core.streaming`), or a list of them, which yields
                ``(mode, chunk)`` pairs. What a step's nodes stream is yielded
                when the step ends.
            durability: as for :meth:`invoke`; with ``"async"`` a step is yielded
                before its checkpoint is stored.
            interrupt_before: as for :meth:`invoke`.
            interrupt_after: as for :meth:`invoke`.
            subgraphs: also yield the chunks of the subgraphs that run: every
                chunk as ``(namespace, chunk)`` (``(namespace, mode, chunk)``
                for a list of modes), the root's namespace ``()``, a
                subgraph's the tuple of its namespace's parts.
        """
        check_durability(durability)
        modes = parse_modes(stream_mode)
        options = self._options(durability, True, interrupt_before, interrupt_after)
        return iterate_sync(self._stream(input, config, modes, options, subgraphs))

    def astream(
        self,
        input: Any,
        config: Mapping[str, Any] | None = None,
        *,
        stream_mode: StreamMode | Sequence[StreamMode] = "updates",
        durability: Durability = "sync",
        interrupt_before: Sequence[str] | None = None,
        interrupt_after: Sequence[str] | None = None,
        subgraphs: bool = False,
    ) -> AsyncIterator[Any]:
        """The async twin of :meth:`stream`."""
        modes = parse_modes(stream_mode)
        options = self._options(durability, False, interrupt_before, interrupt_after)
        return self._stream(input, config, modes, options, subgraphs)

    def _options(
        self,
        durability: Durability,
        inline_sync: bool,
        interrupt_before: Sequence[str] | None,
        interrupt_after: Sequence[str] | None,
    ) -> _Options:
        return _Options(
            durability,
            inline_sync,
            self.interrupt_before
            if interrupt_before is None
            else frozenset(interrupt_before),
            self.interrupt_after
            if interrupt_after is None
            else frozenset(interrupt_after),
            caller=Caller.current(),
        )

    async def _invoke(
        self, input: Any, config: Mapping[str, Any] | None, options: _Options
    ) -> Any:
        last: RunEvent | None = None
        async for event in self._execute(input, config, options):
            last = event
        assert last is not None
        result = self._output.output(last.checkpoint.values)
        if last.kind == "interrupt" and isinstance(result, dict):
            if last.asked:  # as in LangGraph, a static breakpoint asks nothing
                result["__interrupt__"] = list(last.asked)
        return result

    def _stream(
        self,
        input: Any,
        config: Mapping[str, Any] | None,
        modes: tuple[StreamMode, ...] | StreamMode,
        options: _Options,
        subgraphs: bool = False,
    ) -> AsyncIterator[Any]:
        """Yield the chunks of ``modes``: a tuple of modes yields ``(mode, chunk)``."""
        log = StepLog(frozenset(modes if isinstance(modes, tuple) else (modes,)))
        nested = SubgraphStream(tuple(log.wanted)) if subgraphs else None
        view = StreamView(self.schema, self._output.output, self._snapshot)
        options = replace(options, log=log, subgraphs=nested)
        chunks = stream_chunks(self._execute(input, config, options), modes, view, log)
        return nested.merged(chunks, isinstance(modes, tuple)) if nested else chunks

    async def _execute(
        self,
        input: Any,
        config: Mapping[str, Any] | None,
        options: _Options,
    ) -> AsyncIterator[RunEvent]:
        check_durability(options.durability)
        how = await route(self, input, config, options.caller)
        log = how.log(options.log)  # a subgraph's streams under its namespace
        runs = how.graph._run(how, replace(options, caller=None, log=log))
        async for event in how.events(runs, log):
            yield event

    async def _run(
        self, how: Route, options: _Options
    ) -> AsyncGenerator[RunEvent, None]:
        cfg = how.cfg
        run, base = await self._start(cfg, how.input, how.fresh)
        if self.checkpointer is not None:
            run.writer = CheckpointWriter(self.checkpointer, options.durability)
        scope = how.scope_of(run.thread_id, base, run.replaying, options)
        try:
            steps = self._steps(run, cfg, how.input, base, options, scope)
            async with contextlib.aclosing(steps):
                async for event in steps:
                    if event.kind in ("interrupt", "done"):
                        await self._flush(run)
                    yield event
        except BaseException:
            if run.writer is not None:
                await run.writer.settle()
            raise

    async def _steps(
        self,
        run: RunState,
        cfg: RunConfig,
        input: Any,
        base: Checkpoint | None,
        options: _Options,
        scope: RunScope,
    ) -> AsyncGenerator[RunEvent, None]:
        log = options.log or StepLog()
        resuming = input is None or isinstance(input, Command)
        shown = False  # a resume shows the values it starts from once, as LangGraph
        if run.replaying:
            assert base is not None
            copied = await self._replay_base(run, base)
            if copied is not None:
                base, shown = copied, True
                yield RunEvent("input", base)
        if isinstance(input, Command):
            assert base is not None
            if input.update is not None:
                base, shown = (
                    await self._update_then_carry(run, base, input.update),
                    True,
                )
                yield RunEvent("input", base)
            if input.has_resume:
                base = await self._answer(run, base, input.resume)
            if input.goto_nodes:
                base = with_gotos(base, input.goto_nodes, self._router.sorted)
        elif input is not None:
            received, base = await self._write_input_checked(run, base, input)
            yield RunEvent("input", received, values=False)
            yield RunEvent("input", base)
        assert base is not None
        if resuming and not shown:
            yield RunEvent("input", base)
        current = base
        if current.next == (START,):
            current = await self._replay_input(run, current)
            yield RunEvent("input", current)
        steps = 0
        while current.next:
            tasks = tasks_of(current, self.nodes)
            ran = [t.name for t in tasks]
            if not resuming or steps > 0:
                hit = [name for name in ran if name in options.interrupt_before]
                if hit:
                    yield await self._pause(run, current, hit, "before")
                    return
            if steps >= cfg.recursion_limit:
                raise GraphRecursionError(
                    f"The run took {steps} steps without ending (recursion_limit="
                    f"{cfg.recursion_limit}); raise it in the config if that is expected"
                )
            log.begin(
                task_infos(
                    current, tasks, self.schema, self._triggers, cfg.thread_id, log
                )
            )
            running = run_step(
                current,
                tasks,
                self.schema,
                cfg.raw,
                inline_sync=options.inline_sync and not log.live,
                log=log,
                scope=StepScope(
                    scope, current, resuming and steps == 0 and not run.replaying
                ),
            )
            if log.live:  # yield what nodes stream while the step runs
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
                stopped = await self._stop(run, current, outcome)
                yield stopped
                if stopped.error is not None:
                    raise stopped.error
                return
            values = self.schema.apply(current.values, outcome.updates)
            pulls, sends, waiting = await self._router.next_after(
                ran, values, outcome.gotos, waiting_of(current)
            )
            written = node_writes(outcome.updates)
            node: dict[str, str] = {}
            if tasks and tasks[-1].send is not None:  # sends ran (they come last)
                node = {t.key: t.name for t in tasks}
                written = writes_by_node(written, node)
            current = await self._commit(
                run,
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
            hit = [name for name in ran if name in options.interrupt_after]
            if hit and current.next:
                yield await self._pause(run, current, hit, "after")
                return
        yield RunEvent("done", current)

    # -- the steps of a run ----------------------------------------------------------

    async def _start(
        self, cfg: RunConfig, input: Any, fresh: bool = False
    ) -> tuple[RunState, Checkpoint | None]:
        """Find the checkpoint a run starts from, and the head it must not lose
        (``fresh``: none, a new root on the thread)."""
        needs_saved = input is None or isinstance(input, Command)
        if self.checkpointer is None:
            if needs_saved or cfg.checkpoint_id:
                raise ConfigError(
                    "Resuming, answering an interrupt or time travel needs a graph "
                    "compiled with a checkpointer",
                    title="No checkpointer",
                )
            return RunState(cfg.thread_id or "", None, dict(cfg.metadata)), None
        thread_id = self._require_thread(cfg)
        await self._ensure_ready()
        if fresh:
            head = await self.checkpointer.get(thread_id)
            return RunState(
                thread_id, head.id if head else None, dict(cfg.metadata)
            ), None
        if not needs_saved and not cfg.checkpoint_id:
            remembered = self.checkpointer.last_committed(thread_id)
            if remembered is not None:
                run = RunState(thread_id, remembered.id, dict(cfg.metadata))
                run.optimistic = True
                return run, remembered
        head = await self.checkpointer.get(thread_id)
        base = head
        if cfg.checkpoint_id and (head is None or head.id != cfg.checkpoint_id):
            base = await self._load(thread_id, cfg.checkpoint_id)
        if base is not None:
            require_readable(base)
        if needs_saved and base is None:
            raise CheckpointNotFound(
                f"Thread {thread_id!r} has no checkpoints to resume; invoke it with an "
                f"input first"
            )
        if isinstance(input, Command) and input.has_resume:
            assert base is not None
            if not base.interrupts:
                raise ResumeError(
                    f"Checkpoint {base.id} of thread {thread_id!r} has no pending "
                    f"interrupt to resume",
                    title="Nothing to resume",
                )
        run = RunState(thread_id, head.id if head else None, dict(cfg.metadata))
        run.replaying = bool(cfg.checkpoint_id) and (
            input is None or (isinstance(input, Command) and not input.has_resume)
        )
        return run, base

    async def _replay_base(self, run: RunState, base: Checkpoint) -> Checkpoint | None:
        """Commit the copy of ``base`` a replay runs from, or None to run from it.

        What was recorded from ``base`` (resume answers, interrupts, errors, a
        sibling's update) belongs to the branch it happened on. A replay from an
        earlier checkpoint asks its questions again and re-runs every due node,
        as LangGraph does: it starts from a ``fork`` copy of ``base`` in the same
        thread (step + 1, same values and ``next``), which has no pending writes.
        Only an ``update`` or ``fork`` checkpoint that is still the head with
        nothing recorded on it is run from directly (it is already a new branch).
        """
        if (
            base.source in ("update", "fork")
            and base.id == run.expected_head
            and not base.pending_writes
        ):
            return None
        return await self._commit(
            run,
            parent=base,
            source="fork",
            values=dict(base.values),
            next_nodes=base.next,
            writes={},
        )

    async def _write_input_checked(
        self, run: RunState, base: Checkpoint | None, input: Any
    ) -> tuple[Checkpoint, Checkpoint]:
        """Commit the input checkpoint; for an optimistic start, confirm the head.

        A run with a new input starts from the head this checkpointer committed
        last, without reading it back (one round trip less on a server). Its input
        checkpoint is committed before any node runs, expecting that head: if
        another writer moved the thread meanwhile, that commit conflicts and wrote
        nothing, so the run reads the real head and applies its input there.
        """
        if not run.optimistic:
            return await self._write_input(run, base, input)
        try:
            written = await self._write_input(run, base, input)
            await self._flush(run)
            return written
        except ConflictError:
            assert self.checkpointer is not None
            run.optimistic = False
            head = await self.checkpointer.get(run.thread_id)
            if head is not None:
                require_readable(head)
            run.expected_head = head.id if head else None
            return await self._write_input(run, head, input)

    async def _write_input(
        self, run: RunState, base: Checkpoint | None, input: Any
    ) -> tuple[Checkpoint, Checkpoint]:
        """Commit a run's input as LangGraph records it, in one commit: the input
        checkpoint (``base``'s values, ``next=("__start__",)``) and the step that
        applies the input (written by ``__start__``, ``next``: the first nodes)."""
        if self._input.kind == "root":
            update = {ROOT: input}
        elif dataclasses.is_dataclass(input) and not isinstance(input, type):
            update = {f.name: getattr(input, f.name) for f in dataclasses.fields(input)}
        elif hasattr(type(input), "model_fields") and hasattr(input, "model_dump"):
            update = {k: getattr(input, k) for k in type(input).model_fields}
        elif isinstance(input, Mapping):
            # As in LangGraph, keys that are not the input schema's are ignored.
            update = {k: v for k, v in input.items() if k in self._input.channels}
        else:
            raise InvalidUpdateError(
                f"The input must be a dict of state values (or None to resume), got "
                f"{type(input).__name__}"
            )
        received = new_checkpoint(
            base,
            thread_id=run.thread_id,
            source="input",
            values=dict(base.values) if base else self.schema.initial_values(),
            next=(START,),
            writes={},
            metadata=with_waiting(run.metadata, waiting_of(base) if base else {}),
        )
        applied = await self._apply_input(run, received, update)
        await run.commit(self.checkpointer, [received, applied])
        return received, applied

    async def _apply_input(
        self, run: RunState, received: Checkpoint, update: dict[str, Any]
    ) -> Checkpoint:
        """The step that applies ``update`` to the input checkpoint (uncommitted)."""
        values = self.schema.apply(received.values, [(START, update)])
        pulls, sends, waiting = await self._router.next_after(
            [START], values, [], waiting_of(received)
        )
        return new_checkpoint(
            received,
            thread_id=run.thread_id,
            source="loop",
            values=values,
            next=next_of(pulls, sends),
            writes={START: update},
            metadata=with_sends(with_waiting(run.metadata, waiting), sends),
        )

    async def _replay_input(self, run: RunState, received: Checkpoint) -> Checkpoint:
        """Replay from an input checkpoint: apply the input it received again.

        The input is recorded on the step that applied it, a child of the input
        checkpoint (of the one a ``fork`` copy copied).

        Raises:
            CheckpointNotFound: that step was deleted (pruned).
        """
        checkpointer = self._require_checkpointer()
        origin: Checkpoint | None = received
        while origin is not None and origin.source == "fork" and origin.parent_id:
            origin = await checkpointer.get(
                origin.parent_thread_id or origin.thread_id, origin.parent_id
            )
        for meta in await checkpointer.children(origin.id if origin else ""):
            if START in meta.nodes:
                child = await checkpointer.get(meta.thread_id, meta.id)
                if child is not None:
                    applied = await self._apply_input(
                        run, received, dict(child.writes[START])
                    )
                    await run.commit(self.checkpointer, [applied])
                    return applied
        raise CheckpointNotFound(
            f"The input checkpoint {received.id} of thread {received.thread_id!r} has "
            f"no recorded input to replay (the step that applied it was deleted)"
        )

    async def _update_then_carry(
        self, run: RunState, base: Checkpoint, update: Mapping[str, Any]
    ) -> Checkpoint:
        """Apply ``Command(update=...)`` as an ``update`` checkpoint, carrying over
        what is pending on ``base`` (interrupts and their answers, siblings'
        updates), so a resume in the same ``Command`` answers the same questions."""
        written = await self._write_update(run, base, update, None, "update")
        carried = tuple(w for w in base.pending_writes if w.kind != "error")
        if carried and self.checkpointer is not None:
            await self._flush(run)
            await self.checkpointer.put_writes(written.thread_id, written.id, carried)
        return replace(written, pending_writes=carried)

    async def _answer(self, run: RunState, base: Checkpoint, resume: Any) -> Checkpoint:
        """Record ``Command(resume=...)`` on ``base`` and return it with the answer."""
        writes = resume_writes(base, resume)
        if writes and self.checkpointer is not None:
            await self._flush(run)
            await self.checkpointer.put_writes(base.thread_id, base.id, writes)
        return replace(base, pending_writes=base.pending_writes + tuple(writes))

    async def _stop(
        self, run: RunState, current: Checkpoint, outcome: StepOutcome
    ) -> RunEvent:
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
        if self.checkpointer is not None:
            await self._flush(run)
            if new_writes:
                await self.checkpointer.put_writes(
                    current.thread_id, current.id, new_writes
                )
        elif outcome.interrupted and not outcome.errors:
            raise ConfigError(
                "interrupt() needs a graph compiled with a checkpointer, to remember "
                "where to resume",
                title="No checkpointer",
            )
        if outcome.errors:
            node, exc = outcome.errors[0]
            where = NodeFailure(node, run.thread_id or None, current.id)
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
        return RunEvent(
            "interrupt",
            stopped,
            outcome.updates,
            interrupts=interrupts_of(stopped.interrupts),
            quiet=frozenset(outcome.returned_none),
        )

    async def _pause(
        self, run: RunState, current: Checkpoint, nodes: list[str], when: str
    ) -> RunEvent:
        """Record a static interrupt before/after ``nodes`` on ``current``."""
        known = {w.value.get("id") for w in current.pending_writes}
        writes = [
            PendingWrite(node, "interrupt", {"id": iid, "value": None, "when": when})
            for node in dict.fromkeys(nodes)  # a node's sends pause it once
            if (iid := interrupt_id(current.id, node, when)) not in known
        ]
        if writes and self.checkpointer is not None:
            await self._flush(run)
            await self.checkpointer.put_writes(current.thread_id, current.id, writes)
        paused = replace(current, pending_writes=current.pending_writes + tuple(writes))
        return RunEvent(
            "interrupt", paused, interrupts=interrupts_of(paused.interrupts)
        )

    async def _flush(self, run: RunState) -> None:
        """Wait for the run's queued commits (durability "async"); raise a failure."""
        if run.writer is not None:
            await run.writer.flush()


__all__ = ["CompiledGraph", "StreamMode"]
