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
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from timeloom.core.checkpoint import Checkpoint, PendingWrite, Source
from timeloom.core.config import RunConfig, make_config
from timeloom.core.constants import END, INPUT, START
from timeloom.core.errors import (
    CheckpointNotFound,
    ConfigError,
    ConflictError,
    GraphRecursionError,
    InvalidUpdateError,
    NodeError,
    SerializationError,
)
from timeloom.core.ids import new_checkpoint_id
from timeloom.core.interrupts import Command, Interrupt
from timeloom.core.snapshot import StateSnapshot, StateTask
from timeloom.core.step import StepOutcome, interrupt_id, run_step
from timeloom.core.sync import iterate_sync, run_sync
from timeloom.core.writer import CheckpointWriter, Durability, check_durability

if TYPE_CHECKING:
    from timeloom.core.checkpointer import BaseCheckpointer
    from timeloom.core.graph import Branch, NodeSpec, StateGraph

StreamMode = Literal["updates", "values", "checkpoints"]


@dataclass(slots=True)
class _Run:
    """The mutable state of one run: where it writes and what it expects to find."""

    thread_id: str
    expected_head: str | None
    metadata: dict[str, Any]
    writer: CheckpointWriter | None = None
    optimistic: bool = False
    """Started from the head this checkpointer remembers, unread: its input commit
    must confirm it (see :meth:`CompiledGraph._write_input_checked`)."""
    replaying: bool = False
    """Time travel: continuing from a checkpoint named in the config without
    answering an interrupt (see :meth:`CompiledGraph._replay_base`)."""


@dataclass(frozen=True, slots=True)
class _Event:
    kind: Literal["input", "step", "interrupt", "done"]
    checkpoint: Checkpoint
    updates: Sequence[tuple[str, Mapping[str, Any]]] = ()
    interrupts: tuple[Interrupt, ...] = ()


class CompiledGraph:
    """A validated graph, ready to run. Made by ``StateGraph.compile()``."""

    def __init__(
        self,
        builder: StateGraph,
        checkpointer: BaseCheckpointer | None,
        *,
        interrupt_before: frozenset[str],
        interrupt_after: frozenset[str],
        name: str,
    ) -> None:
        self.builder = builder
        self.schema = builder.schema
        self.nodes: dict[str, NodeSpec] = dict(builder.nodes)
        self.checkpointer = checkpointer
        self.interrupt_before = interrupt_before
        self.interrupt_after = interrupt_after
        self.name = name
        self._order = {name: i for i, name in enumerate(self.nodes)}
        self._edges: dict[str, list[str]] = {}
        for start, end in builder.edges:
            self._edges.setdefault(start, []).append(end)
        self._branches: dict[str, list[Branch]] = {}
        for branch in builder.branches:
            self._branches.setdefault(branch.source, []).append(branch)
        self._ready = False
        if checkpointer is not None:
            checkpointer.allow_types(self.schema.classes())

    # -- running -------------------------------------------------------------------

    def invoke(
        self,
        input: Any,
        config: Mapping[str, Any] | None = None,
        *,
        durability: Durability = "sync",
    ) -> dict[str, Any]:
        """Run until the graph ends or pauses; return the state values.

        Args:
            input: a partial state update to start a run, ``None`` to resume from
                the thread's latest (or the config's) checkpoint, or
                ``Command(resume=...)`` to answer an interrupt.
            config: ``{"configurable": {"thread_id": ..., "checkpoint_id": ...}}``.
            durability: ``"sync"`` commits each step's checkpoint before the next
                step starts; ``"async"`` commits behind the run while the next
                step runs, batching what piles up (faster on a remote database).
                Either way everything is stored when this returns (see
                :mod:`timeloom.core.writer`).

        Returns:
            The state values; while paused also ``"__interrupt__"``: the pending
            :class:`Interrupt` list.

        Raises:
            NodeError: a node raised (its error is stored on the checkpoint).
            ConflictError: another writer advanced the thread meanwhile.
        """
        check_durability(durability)
        return run_sync(self._invoke(input, config, durability, inline_sync=True))

    async def ainvoke(
        self,
        input: Any,
        config: Mapping[str, Any] | None = None,
        *,
        durability: Durability = "sync",
    ) -> dict[str, Any]:
        """The async twin of :meth:`invoke`."""
        return await self._invoke(input, config, durability, inline_sync=False)

    def stream(
        self,
        input: Any,
        config: Mapping[str, Any] | None = None,
        *,
        stream_mode: StreamMode = "updates",
        durability: Durability = "sync",
    ) -> Generator[Any, None, None]:
        """Run like :meth:`invoke`, yielding as each step commits.

        Args:
            stream_mode: ``"updates"`` yields ``{node: update}`` per node and step
                (and ``{"__interrupt__": (...)}`` when pausing); ``"values"`` yields
                the whole state after the input and each step; ``"checkpoints"``
                yields a :class:`StateSnapshot` per committed checkpoint (with its
                id in ``config`` and the step's updates in ``metadata["writes"]``).
            durability: as for :meth:`invoke`; with ``"async"`` a step is yielded
                before its checkpoint is stored.
        """
        check_durability(durability)
        return iterate_sync(
            self._stream(input, config, stream_mode, durability, inline_sync=True)
        )

    def astream(
        self,
        input: Any,
        config: Mapping[str, Any] | None = None,
        *,
        stream_mode: StreamMode = "updates",
        durability: Durability = "sync",
    ) -> AsyncIterator[Any]:
        """The async twin of :meth:`stream`."""
        return self._stream(input, config, stream_mode, durability, inline_sync=False)

    async def _invoke(
        self,
        input: Any,
        config: Mapping[str, Any] | None,
        durability: Durability,
        *,
        inline_sync: bool,
    ) -> dict[str, Any]:
        last: _Event | None = None
        events = self._execute(input, config, durability, inline_sync=inline_sync)
        async for event in events:
            last = event
        assert last is not None
        result = dict(last.checkpoint.values)
        if last.kind == "interrupt":
            result["__interrupt__"] = list(last.interrupts)
        return result

    async def _stream(
        self,
        input: Any,
        config: Mapping[str, Any] | None,
        mode: StreamMode,
        durability: Durability,
        *,
        inline_sync: bool,
    ) -> AsyncIterator[Any]:
        if mode not in ("updates", "values", "checkpoints"):
            raise ConfigError(
                f"Unknown stream_mode {mode!r}; use updates, values or checkpoints"
            )
        events = self._execute(input, config, durability, inline_sync=inline_sync)
        async for event in events:
            if event.kind == "done":
                continue
            if mode == "checkpoints":
                if event.kind != "interrupt":
                    yield to_snapshot(event.checkpoint)
            elif mode == "values":
                if event.kind != "interrupt":
                    yield dict(event.checkpoint.values)
            elif event.kind == "step":
                for node, update in event.updates:
                    yield {node: dict(update)}
            elif event.kind == "interrupt":
                yield {"__interrupt__": event.interrupts}

    async def _execute(
        self,
        input: Any,
        config: Mapping[str, Any] | None,
        durability: Durability,
        *,
        inline_sync: bool,
    ) -> AsyncIterator[_Event]:
        cfg = RunConfig.parse(config)
        check_durability(durability)
        run, base = await self._start(cfg, input)
        if self.checkpointer is not None:
            run.writer = CheckpointWriter(self.checkpointer, durability)
        try:
            steps = self._steps(run, cfg, input, base, inline_sync)
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
        run: _Run,
        cfg: RunConfig,
        input: Any,
        base: Checkpoint | None,
        inline_sync: bool,
    ) -> AsyncGenerator[_Event, None]:
        resuming = input is None or isinstance(input, Command)
        if run.replaying:
            assert base is not None
            copied = await self._replay_base(run, base)
            if copied is not None:
                base = copied
                yield _Event("input", base)
        if isinstance(input, Command):
            assert base is not None
            if input.update is not None:
                base = await self._write_update(run, base, input.update, None, "update")
            if input.has_resume:
                base = await self._answer(run, base, input.resume)
            if input.goto_nodes:
                base = replace(base, next=self._sorted(input.goto_nodes))
        elif input is not None:
            base = await self._write_input_checked(run, base, input)
            yield _Event("input", base)
        assert base is not None
        current = base
        steps = 0
        while current.next:
            tasks = [self.nodes[name] for name in current.next if name in self.nodes]
            if not resuming or steps > 0:
                hit = [t.name for t in tasks if t.name in self.interrupt_before]
                if hit:
                    yield await self._pause(run, current, hit, "before")
                    return
            if steps >= cfg.recursion_limit:
                raise GraphRecursionError(
                    f"The run took {steps} steps without ending (recursion_limit="
                    f"{cfg.recursion_limit}); raise it in the config if that is expected"
                )
            outcome = await run_step(
                current, tasks, self.schema, cfg.raw, inline_sync=inline_sync
            )
            if not outcome.complete:
                yield await self._stop(run, current, outcome)
                return
            values = self.schema.apply(current.values, outcome.updates)
            ran = [t.name for t in tasks]
            current = await self._commit(
                run,
                parent=current,
                source="loop",
                values=values,
                next_nodes=self._next_after(ran, values, outcome.gotos),
                writes=dict(outcome.updates),
            )
            steps += 1
            yield _Event("step", current, outcome.updates)
            hit = [name for name in ran if name in self.interrupt_after]
            if hit and current.next:
                yield await self._pause(run, current, hit, "after")
                return
        yield _Event("done", current)

    # -- the steps of a run ----------------------------------------------------------

    async def _start(
        self, cfg: RunConfig, input: Any
    ) -> tuple[_Run, Checkpoint | None]:
        """Find the checkpoint a run starts from, and the head it must not lose."""
        needs_saved = input is None or isinstance(input, Command)
        if self.checkpointer is None:
            if needs_saved or cfg.checkpoint_id:
                raise ConfigError(
                    "Resuming, answering an interrupt or time travel needs a graph "
                    "compiled with a checkpointer",
                    title="No checkpointer",
                )
            return _Run(cfg.thread_id or "", None, dict(cfg.metadata)), None
        thread_id = self._require_thread(cfg)
        await self._ensure_ready()
        if not needs_saved and not cfg.checkpoint_id:
            remembered = self.checkpointer.last_committed(thread_id)
            if remembered is not None:
                run = _Run(thread_id, remembered.id, dict(cfg.metadata))
                run.optimistic = True
                return run, remembered
        head = await self.checkpointer.get(thread_id)
        base = head
        if cfg.checkpoint_id and (head is None or head.id != cfg.checkpoint_id):
            base = await self._load(thread_id, cfg.checkpoint_id)
        if base is not None:
            _require_readable(base)
        if needs_saved and base is None:
            raise CheckpointNotFound(
                f"Thread {thread_id!r} has no checkpoints to resume; invoke it with an "
                f"input first"
            )
        if isinstance(input, Command) and input.has_resume:
            assert base is not None
            if not base.interrupts:
                raise ConfigError(
                    f"Checkpoint {base.id} of thread {thread_id!r} has no pending "
                    f"interrupt to resume",
                    title="Nothing to resume",
                )
        run = _Run(thread_id, head.id if head else None, dict(cfg.metadata))
        run.replaying = bool(cfg.checkpoint_id) and (
            input is None or (isinstance(input, Command) and not input.has_resume)
        )
        return run, base

    async def _replay_base(self, run: _Run, base: Checkpoint) -> Checkpoint | None:
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
        self, run: _Run, base: Checkpoint | None, input: Any
    ) -> Checkpoint:
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
                _require_readable(head)
            run.expected_head = head.id if head else None
            return await self._write_input(run, head, input)

    async def _write_input(
        self, run: _Run, base: Checkpoint | None, input: Any
    ) -> Checkpoint:
        if dataclasses.is_dataclass(input) and not isinstance(input, type):
            update = {f.name: getattr(input, f.name) for f in dataclasses.fields(input)}
        elif isinstance(input, Mapping):
            update = dict(input)
        else:
            raise InvalidUpdateError(
                f"The input must be a dict of state values (or None to resume), got "
                f"{type(input).__name__}"
            )
        values = self.schema.apply(base.values if base else {}, [(INPUT, update)])
        return await self._commit(
            run,
            parent=base,
            source="input",
            values=values,
            next_nodes=self._next_after([START], values, []),
            writes={INPUT: update},
        )

    async def _answer(self, run: _Run, base: Checkpoint, resume: Any) -> Checkpoint:
        """Record ``Command(resume=...)`` on ``base`` and return it with the answer."""
        pending = [w for w in base.interrupts if w.value.get("when") == "during"]
        ids = {w.value["id"]: w for w in pending}
        if isinstance(resume, Mapping) and resume and set(resume) <= set(ids):
            answers = dict(resume)
        elif len(pending) == 1:
            answers = {pending[0].value["id"]: resume}
        elif not pending:
            answers = {}
        else:
            raise ConfigError(
                f"{len(pending)} interrupts are pending ({', '.join(ids)}); resume with "
                f"Command(resume={{interrupt_id: value, ...}})",
                title="Several interrupts pending",
            )
        writes = [
            PendingWrite(ids[iid].node, "resume", {"id": iid, "value": value})
            for iid, value in answers.items()
        ]
        if writes and self.checkpointer is not None:
            await self._flush(run)
            await self.checkpointer.put_writes(base.thread_id, base.id, writes)
        return replace(base, pending_writes=base.pending_writes + tuple(writes))

    async def _stop(
        self, run: _Run, current: Checkpoint, outcome: StepOutcome
    ) -> _Event:
        """Record an incomplete step on ``current``; raise if a node failed."""
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
            error = NodeError(node, run.thread_id or None, current.id, exc)
            if len(outcome.errors) > 1:
                others = ", ".join(repr(n) for n, _ in outcome.errors[1:])
                error.add_note(f"Also failed in the same step: {others}")
            raise error from exc
        stopped = replace(
            current, pending_writes=current.pending_writes + tuple(new_writes)
        )
        return _Event("interrupt", stopped, interrupts=_interrupts(stopped.interrupts))

    async def _pause(
        self, run: _Run, current: Checkpoint, nodes: list[str], when: str
    ) -> _Event:
        """Record a static interrupt before/after ``nodes`` on ``current``."""
        known = {w.value.get("id") for w in current.pending_writes}
        writes = [
            PendingWrite(node, "interrupt", {"id": iid, "value": None, "when": when})
            for node in nodes
            if (iid := interrupt_id(current.id, node, when)) not in known
        ]
        if writes and self.checkpointer is not None:
            await self._flush(run)
            await self.checkpointer.put_writes(current.thread_id, current.id, writes)
        paused = replace(current, pending_writes=current.pending_writes + tuple(writes))
        return _Event("interrupt", paused, interrupts=_interrupts(paused.interrupts))

    async def _commit(
        self,
        run: _Run,
        *,
        parent: Checkpoint | None,
        source: Source,
        values: dict[str, Any],
        next_nodes: tuple[str, ...],
        writes: dict[str, Any],
    ) -> Checkpoint:
        checkpoint = Checkpoint(
            id=new_checkpoint_id(),
            thread_id=run.thread_id,
            parent_id=parent.id if parent else None,
            parent_thread_id=parent.thread_id if parent else None,
            step=parent.step + 1 if parent else -1,
            source=source,
            created_at=datetime.now(UTC),
            values=values,
            next=next_nodes,
            writes=writes,
            metadata=run.metadata,
        )
        if run.writer is not None:
            await run.writer.commit(checkpoint, expected_head=run.expected_head)
        elif self.checkpointer is not None:  # update_state and fork: always sync
            await self.checkpointer.put(checkpoint, expected_head=run.expected_head)
        run.expected_head = checkpoint.id
        return checkpoint

    async def _flush(self, run: _Run) -> None:
        """Wait for the run's queued commits (durability "async"); raise a failure."""
        if run.writer is not None:
            await run.writer.flush()

    # -- routing ---------------------------------------------------------------------

    def _next_after(
        self, ran: Sequence[str], values: Mapping[str, Any], gotos: Sequence[str]
    ) -> tuple[str, ...]:
        """The nodes due after ``ran`` wrote ``values``, in the graph's node order."""
        due: set[str] = set(gotos)
        for name in ran:
            due.update(self._edges.get(name, ()))
            for branch in self._branches.get(name, ()):
                due.update(self._route(branch, values))
        due.discard(END)
        unknown = due - self.nodes.keys()
        if unknown:
            raise InvalidUpdateError(
                f"Routing after {', '.join(ran)} named unknown node(s) "
                f"{', '.join(map(repr, sorted(unknown)))}; nodes: {', '.join(self.nodes)}"
            )
        return self._sorted(due)

    def _route(self, branch: Branch, values: Mapping[str, Any]) -> list[str]:
        if branch.is_async:
            raise ConfigError(
                f"The router of the conditional edge from {branch.source!r} is async; "
                f"routers must be plain functions"
            )
        result = branch.path(self.schema.node_input(values))
        chosen = (
            [result]
            if isinstance(result, str) or not isinstance(result, Sequence)
            else list(result)
        )
        if branch.path_map is None:
            return [str(c) for c in chosen]
        try:
            return [branch.path_map[c] for c in chosen]
        except KeyError as exc:
            raise InvalidUpdateError(
                f"The router after {branch.source!r} returned {exc.args[0]!r}, which "
                f"its path map does not list ({', '.join(map(repr, branch.path_map))})"
            ) from exc

    def _sorted(self, names: Sequence[str] | set[str]) -> tuple[str, ...]:
        return tuple(
            sorted(set(names), key=lambda n: self._order.get(n, len(self._order)))
        )

    # -- helpers -----------------------------------------------------------------------

    async def _ensure_ready(self) -> None:
        if not self._ready and self.checkpointer is not None:
            await self.checkpointer.setup()
            self._ready = True

    def _require_thread(self, cfg: RunConfig) -> str:
        if cfg.thread_id is None:
            raise ConfigError(
                'A graph with a checkpointer needs a thread id: pass config={"configurable": '
                '{"thread_id": "..."}} (or {"thread_id": "..."})',
                title="Missing thread_id",
            )
        return cfg.thread_id

    async def _load(self, thread_id: str, checkpoint_id: str) -> Checkpoint:
        assert self.checkpointer is not None
        found = await self.checkpointer.get(thread_id, checkpoint_id)
        if found is not None:
            return found
        elsewhere = await self.checkpointer.get(None, checkpoint_id)
        if elsewhere is not None:
            raise CheckpointNotFound(
                f"Checkpoint {checkpoint_id} belongs to thread {elsewhere.thread_id!r}, "
                f"not {thread_id!r}; to continue it in {thread_id!r}, fork it first "
                f"(update_state or fork with the new thread id)"
            )
        raise CheckpointNotFound(
            f"No checkpoint {checkpoint_id} in thread {thread_id!r}"
        )

    # -- state access and time travel --------------------------------------------------

    def get_state(self, config: Mapping[str, Any]) -> StateSnapshot:
        """The thread's state at its head, or at the config's checkpoint."""
        return run_sync(self.aget_state(config))

    async def aget_state(self, config: Mapping[str, Any]) -> StateSnapshot:
        """The async twin of :meth:`get_state`."""
        cfg = RunConfig.parse(config)
        checkpointer = self._require_checkpointer()
        thread_id = self._require_thread(cfg)
        await self._ensure_ready()
        if cfg.checkpoint_id:
            checkpoint: Checkpoint | None = await self._load(
                thread_id, cfg.checkpoint_id
            )
        else:
            checkpoint = await checkpointer.get(thread_id)
        if checkpoint is None:
            return StateSnapshot(
                values={},
                next=(),
                config=make_config(thread_id, None),
                metadata={},
                created_at="",
                parent_config=None,
            )
        return to_snapshot(checkpoint)

    def get_state_history(
        self,
        config: Mapping[str, Any],
        *,
        filter: Mapping[str, Any] | None = None,
        before: Mapping[str, Any] | str | None = None,
        limit: int | None = None,
    ) -> Generator[StateSnapshot, None, None]:
        """The thread's snapshots, newest first (all branches of the thread).

        Args:
            filter: only checkpoints whose metadata (or ``source``/``step``) match.
            before: only checkpoints older than this config or checkpoint id.
            limit: at most this many.
        """
        return iterate_sync(
            self.aget_state_history(config, filter=filter, before=before, limit=limit)
        )

    async def aget_state_history(
        self,
        config: Mapping[str, Any],
        *,
        filter: Mapping[str, Any] | None = None,
        before: Mapping[str, Any] | str | None = None,
        limit: int | None = None,
    ) -> AsyncIterator[StateSnapshot]:
        """The async twin of :meth:`get_state_history`."""
        checkpointer = self._require_checkpointer()
        thread_id = self._require_thread(RunConfig.parse(config))
        await self._ensure_ready()
        before_id = (
            RunConfig.parse(before).checkpoint_id
            if isinstance(before, Mapping)
            else before
        )
        async for meta in checkpointer.list(
            thread_id, before=before_id, limit=limit, filter=filter
        ):
            checkpoint = await checkpointer.get(meta.thread_id, meta.id)
            if checkpoint is not None:
                yield to_snapshot(checkpoint)

    def update_state(
        self,
        config: Mapping[str, Any],
        values: Mapping[str, Any] | None,
        as_node: str | None = None,
    ) -> dict[str, Any]:
        """Write a new checkpoint with ``values`` applied as if ``as_node`` wrote them.

        The new checkpoint's parent is the config's checkpoint (or the head), so
        editing an old checkpoint grows a new branch and moves the head to it. If the
        config names a checkpoint of *another* thread and a thread id that does not
        exist yet, the new thread is a fork of that checkpoint (``source="fork"``).

        Args:
            config: the thread, and optionally the checkpoint to start from.
            values: a partial update, applied through the reducers (``None``: none).
            as_node: whose update this is: decides the reducers' writer and which
                nodes run next. By default the node that wrote the checkpoint.

        Returns:
            The config of the new checkpoint (pass it to ``invoke(None, ...)``).
        """
        return run_sync(self.aupdate_state(config, values, as_node))

    async def aupdate_state(
        self,
        config: Mapping[str, Any],
        values: Mapping[str, Any] | None,
        as_node: str | None = None,
    ) -> dict[str, Any]:
        """The async twin of :meth:`update_state`."""
        checkpointer = self._require_checkpointer()
        cfg = RunConfig.parse(config)
        thread_id = self._require_thread(cfg)
        await self._ensure_ready()
        head = await checkpointer.get(thread_id)
        run = _Run(thread_id, head.id if head else None, dict(cfg.metadata))
        base = head
        if cfg.checkpoint_id and (head is None or head.id != cfg.checkpoint_id):
            base = await checkpointer.get(None, cfg.checkpoint_id)
            if base is None:
                raise CheckpointNotFound(f"No checkpoint {cfg.checkpoint_id}")
        source: Source = "update"
        if base is not None:
            _require_readable(base)
        if base is not None and base.thread_id != thread_id:
            if head is not None:
                raise ConfigError(
                    f"Cannot fork checkpoint {base.id} of {base.thread_id!r} into "
                    f"{thread_id!r}: that thread already exists; pick a new thread id",
                    title="Thread exists",
                )
            source = "fork"
        checkpoint = await self._write_update(run, base, values, as_node, source)
        return make_config(checkpoint.thread_id, checkpoint.id)

    def fork(
        self,
        config: Mapping[str, Any],
        thread_id: str,
        values: Mapping[str, Any] | None = None,
        as_node: str | None = None,
    ) -> dict[str, Any]:
        """Branch the config's checkpoint into the new thread ``thread_id``.

        Returns:
            The config of the new thread's first checkpoint.
        """
        return run_sync(self.afork(config, thread_id, values, as_node))

    async def afork(
        self,
        config: Mapping[str, Any],
        thread_id: str,
        values: Mapping[str, Any] | None = None,
        as_node: str | None = None,
    ) -> dict[str, Any]:
        """The async twin of :meth:`fork`."""
        cfg = RunConfig.parse(config)
        source_thread = self._require_thread(cfg)
        checkpoint_id = cfg.checkpoint_id
        if checkpoint_id is None:
            head = await self._require_checkpointer().get(source_thread)
            if head is None:
                raise CheckpointNotFound(f"Thread {source_thread!r} has no checkpoints")
            checkpoint_id = head.id
        target = {
            "configurable": {"thread_id": thread_id, "checkpoint_id": checkpoint_id}
        }
        return await self.aupdate_state(target, values, as_node)

    async def _write_update(
        self,
        run: _Run,
        base: Checkpoint | None,
        values: Mapping[str, Any] | None,
        as_node: str | None,
        source: Source,
    ) -> Checkpoint:
        writer = await self._infer_writer(base, as_node)
        update = dict(values or {})
        name = writer or START
        new_values = self.schema.apply(base.values if base else {}, [(name, update)])
        if base is not None and (values is None or writer is None):
            next_nodes = base.next
        else:
            next_nodes = self._next_after([name], new_values, [])
        return await self._commit(
            run,
            parent=base,
            source=source,
            values=new_values,
            next_nodes=next_nodes,
            writes={name: update} if values is not None else {},
        )

    async def _infer_writer(
        self, base: Checkpoint | None, as_node: str | None
    ) -> str | None:
        """Whose update an ``update_state`` is: ``as_node``, else inferred.

        As LangGraph infers it: the node that wrote the checkpoint (``START`` for a
        run's input). A fork or an edit records no node of its own, so the
        inference looks through it to the checkpoint it copied. ``None`` when no
        writer can be found (e.g. the copied checkpoint was pruned): the update
        then keeps the checkpoint's ``next``.

        Raises:
            InvalidUpdateError: an unknown ``as_node``, or several nodes wrote it.
        """
        if as_node is not None:
            if as_node not in self.nodes and as_node != START:
                raise InvalidUpdateError(
                    f"as_node={as_node!r} is not a node of this graph; nodes: "
                    f"{', '.join(self.nodes)}"
                )
            return as_node
        current = base
        while current is not None:
            writers = [n for n in current.writes if n in self.nodes or n == START]
            if len(writers) > 1:
                raise InvalidUpdateError(
                    f"Several nodes ({', '.join(writers)}) wrote checkpoint "
                    f"{current.id}; pass as_node to say whose update this is"
                )
            if writers:
                return writers[0]
            if current.source not in ("update", "fork") or current.parent_id is None:
                return START
            assert self.checkpointer is not None
            current = await self.checkpointer.get(
                current.parent_thread_id or current.thread_id, current.parent_id
            )
        return None if base is not None else START

    def _require_checkpointer(self) -> BaseCheckpointer:
        if self.checkpointer is None:
            raise ConfigError(
                "This needs a graph compiled with a checkpointer",
                title="No checkpointer",
            )
        return self.checkpointer


def _require_readable(checkpoint: Checkpoint) -> None:
    if checkpoint.unreadable:
        raise SerializationError(
            f"Checkpoint {checkpoint.id} of thread {checkpoint.thread_id!r} has values "
            f"that could not be read back ({', '.join(checkpoint.unreadable)}); continue "
            f"from another checkpoint",
            title="Unreadable checkpoint",
        )


def _interrupts(writes: Sequence[PendingWrite]) -> tuple[Interrupt, ...]:
    """The interrupts among ``writes``, each id once."""
    found: dict[str, Interrupt] = {}
    for w in writes:
        if w.kind == "interrupt" and w.value["id"] not in found:
            found[w.value["id"]] = Interrupt(
                value=w.value.get("value"),
                id=w.value["id"],
                node=w.node,
                when=w.value.get("when", "during"),
            )
    return tuple(found.values())


def to_snapshot(checkpoint: Checkpoint) -> StateSnapshot:
    """The :class:`StateSnapshot` of a checkpoint, as ``get_state`` returns it."""
    parent = (
        make_config(
            checkpoint.parent_thread_id or checkpoint.thread_id, checkpoint.parent_id
        )
        if checkpoint.parent_id
        else None
    )
    return StateSnapshot(
        values=dict(checkpoint.values),
        next=checkpoint.next,
        config=make_config(checkpoint.thread_id, checkpoint.id),
        metadata={
            "source": checkpoint.source,
            "step": checkpoint.step,
            "writes": dict(checkpoint.writes),
            **checkpoint.metadata,
        },
        created_at=checkpoint.created_at.isoformat(),
        parent_config=parent,
        tasks=snapshot_tasks(checkpoint),
        interrupts=_interrupts(checkpoint.pending_writes),
    )


def snapshot_tasks(checkpoint: Checkpoint) -> tuple[StateTask, ...]:
    """The tasks of a snapshot: each due node with its error, interrupts, result.

    Interrupts that were answered stay listed: a snapshot is a record of what
    happened from its checkpoint (``StateSnapshot.interrupts`` lists them too).
    """
    interrupts = _interrupts(checkpoint.pending_writes)
    tasks = []
    for node in checkpoint.next:
        errors = [w.value for w in checkpoint.errors if w.node == node]
        results = [
            w.value
            for w in checkpoint.pending_writes
            if w.kind == "update" and w.node == node
        ]
        tasks.append(
            StateTask(
                id=f"{checkpoint.id}:{node}",
                name=node,
                error=errors[-1] if errors else None,
                interrupts=tuple(i for i in interrupts if i.node == node),
                result=results[-1] if results else None,
            )
        )
    return tuple(tasks)


__all__ = ["CompiledGraph", "StreamMode", "snapshot_tasks", "to_snapshot"]
