"""Subgraphs: a compiled graph run as a node of another graph, or invoked inside one.

A graph invoked inside a task of another graph (``add_node("child", compiled)``, or
``compiled.invoke(...)`` in a node function) runs as a *subgraph*: it writes its
checkpoints in the parent's checkpointer, on a timeline of its own, as LangGraph
does under a checkpoint namespace:

- The namespace of a task is ``"node:<task id>"`` (nested: ``"outer:<id>|inner:<id>"``);
  the task id is derived from the checkpoint the task runs from and its node, so a
  resume of the parent (which runs the task again from the same checkpoint) finds the
  subgraph's checkpoints where it left them.
- A subgraph compiled with ``checkpointer=True`` keeps one history per thread: its
  namespace drops the task ids (``"node"``), so each call continues its state. With
  the default (``None``) it inherits the parent's checkpointer, for interrupts and
  resumes, and starts fresh on every call; with ``False`` it stores nothing.
- The timeline of thread ``t`` and namespace ``ns`` is the thread id ``"t|ns"`` (the
  read-only LangGraph reader maps LangGraph's namespaces the same way); every
  checkpoint of a subgraph names, in ``metadata["parents"]``, the checkpoint of each
  enclosing graph it ran from (as LangGraph's).
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, NamedTuple

from timeloom.core.checkpoint import Checkpoint
from timeloom.core.config import RunConfig, make_config
from timeloom.core.errors import CheckpointNotFound
from timeloom.core.interrupts import Command, GraphInterrupt, task_scratch
from timeloom.core.namespaces import (
    NS_END,
    NS_SEP,
    PARENTS,
    recast,
    split_timeline,
    task_id,
    timeline,
)
from timeloom.core.streaming import StepLog, StreamView, stream_chunks

if TYPE_CHECKING:
    from timeloom.core.checkpointer import BaseCheckpointer
    from timeloom.core.graph import StateGraph
    from timeloom.core.runtime import CompiledGraph
    from timeloom.core.snapshot import StateSnapshot
    from timeloom.core.streaming import RunEvent, StreamMode
    from timeloom.core.writer import Durability


@dataclass(slots=True)
class ReplayBound:
    """Time travel of the root graph: the first time each subgraph runs in the
    replay, it starts from its newest checkpoint older than ``checkpoint_id`` (the
    checkpoint replayed, or the one an edit copied), not from its latest: a replay
    sees the subgraph's state as it was then (langgraph#8458, fixed)."""

    checkpoint_id: str
    visited: set[str] = field(default_factory=set)
    targets: Mapping[str, str] = field(default_factory=dict)
    """Time travel into a subgraph's checkpoint: the checkpoint each namespace
    on the way to it starts from."""
    target: str = ""
    """The namespace of that subgraph (it gets the run's input)."""
    input: Any = None

    def first_visit(self, ns: str) -> bool:
        """Whether the subgraph of ``ns`` (task ids aside) runs for the first time."""
        key = recast(ns)
        if key in self.visited:
            return False
        self.visited.add(key)
        return True


def replay_bound(base: Checkpoint | None) -> ReplayBound | None:
    """Where subgraphs start from in a replay of ``base``: their state as of
    ``base`` (as of the checkpoint an edit or a fork copied, as LangGraph)."""
    if base is None:
        return None
    if base.source in ("update", "fork") and base.parent_id:
        return ReplayBound(base.parent_id)
    return ReplayBound(base.id)


@dataclass(frozen=True, slots=True)
class SubgraphStream:
    """``stream(..., subgraphs=True)``: where subgraphs' chunks go, as
    ``(namespace, mode, chunk)``, until the root's stream yields them (before
    the chunks of the root's step they ran in, as LangGraph orders them)."""

    modes: tuple[StreamMode, ...]
    root: StepLog
    """The root run's: woken when chunks are queued, so they are yielded
    while its step runs."""
    multi: bool
    """Chunks are ``(namespace, mode, chunk)`` (a list of modes), else
    ``(namespace, chunk)``."""
    sink: list[tuple[tuple[str, ...], str, Any]] = field(default_factory=list)

    async def emit(self, how: Route, event: RunEvent, log: StepLog | None) -> None:
        """Queue what a subgraph's ``event`` shows, under its namespace."""
        assert how.scope is not None
        graph = how.graph
        view = StreamView(
            graph.schema,
            graph._output.output,
            graph._recorded,
            how.scope.checkpointer is not None,
            frozenset(graph._output.keys),
        )
        where = tuple(how.scope.ns.split(NS_SEP))

        async def one() -> AsyncIterator[RunEvent]:
            yield event

        chunks = stream_chunks(one(), self.modes, view, log or StepLog(), True)
        self.sink.extend([(where, mode, chunk) async for mode, chunk in chunks])
        self.root.poke()

    def drain(self) -> list[Any]:
        """The chunks queued since the last call, shaped for the stream."""
        items = self.sink[: len(self.sink)]
        del self.sink[: len(items)]  # a subgraph in a worker thread may add more
        return [item if self.multi else (item[0], item[2]) for item in items]


class RunScope(NamedTuple):  # a tuple: made for every run, cheaply
    """Where a run stands among nested graphs (the root run: namespace ``""``)."""

    checkpointer: BaseCheckpointer | None
    thread_id: str
    """The root thread id."""
    ns: str = ""
    parents: Mapping[str, str] = MappingProxyType({})
    replay: ReplayBound | None = None
    durability: Durability = "sync"
    config: Mapping[str, Any] = MappingProxyType({})
    """The root run's config (its ``recursion_limit``, ``metadata``...)."""
    stream: SubgraphStream | None = None
    context: Any = None
    """The root run's context (``invoke(..., context=...)``), for nodes'
    ``runtime``: a subgraph sees its parent's."""


class StepScope(NamedTuple):  # a tuple: made every step, cheaply
    """What the tasks of one step hand to the graphs they invoke."""

    run: RunScope
    checkpoint: Checkpoint
    """The checkpoint the step runs from."""
    resuming: bool
    """The run continues a paused or interrupted step: subgraphs continue too."""

    def task_ns(self, key: str) -> str:
        """The namespace of the task ``key`` (its node, or ``node#i`` for a
        ``Send``) in this step."""
        node = key.split("#", 1)[0]
        own = f"{node}{NS_END}{task_id(self.checkpoint.id, key)}"
        return f"{self.run.ns}{NS_SEP}{own}" if self.run.ns else own

    def answers(self, node: str) -> dict[str, Any]:
        """The resume values given on the checkpoint to ``node``'s interrupts, by
        interrupt id (the ids a subgraph's interrupts keep)."""
        asked = {
            w.value["id"]
            for w in self.checkpoint.pending_writes
            if w.kind == "interrupt" and w.node == node
        }
        return {
            w.value["id"]: w.value["value"]
            for w in self.checkpoint.pending_writes
            if w.kind == "resume" and w.value["id"] in asked
        }


@dataclass(frozen=True, slots=True)
class Caller:
    """The task a graph was invoked in (the graph runs as its subgraph)."""

    step: StepScope
    node: str
    call: int
    """How many graphs the task invoked before this one."""

    @classmethod
    def current(cls) -> Caller | None:
        """The task running on this thread or task context, if any (read when a
        graph is invoked: the sync API may run it on another thread)."""
        scratch = task_scratch.get()
        if scratch is None or scratch.scope is None:
            return None
        call = scratch.subgraph_calls
        scratch.subgraph_calls += 1
        return cls(scratch.scope, scratch.node, call)


class Route(NamedTuple):  # a tuple: made for every run, cheaply
    """How a run goes: which graph (bound to which checkpointer) runs what, on
    which timeline, from which checkpoint."""

    graph: CompiledGraph
    input: Any
    cfg: RunConfig
    scope: RunScope | None = None
    """A subgraph's (``None``: the root's, made when the run starts)."""
    fresh: bool = False
    """Start a new root on the timeline (a replay from before its first checkpoint)."""
    replay: ReplayBound | None = None

    @property
    def nested(self) -> bool:
        """Whether the run is a subgraph's (its pause raises to its caller)."""
        return self.scope is not None

    def log(self, given: StepLog | None) -> StepLog | None:
        """The run's step log: a subgraph streamed with ``subgraphs=True`` has
        its own, of the root stream's modes."""
        shown = self.scope.stream if self.scope is not None else None
        if shown is None:
            return given
        # One stream: a message seen in any namespace is streamed once.
        return StepLog(frozenset(shown.modes), streamed=shown.root.streamed)

    def events(
        self, runs: AsyncGenerator[RunEvent, None], log: StepLog | None
    ) -> AsyncGenerator[RunEvent, None]:
        """The run's events, a subgraph's also queued as its chunks; a subgraph's
        pause raises to its caller (whose task records its interrupts)."""
        return runs if self.scope is None else self._nested(runs, log)

    async def _nested(
        self, runs: AsyncGenerator[RunEvent, None], log: StepLog | None
    ) -> AsyncGenerator[RunEvent, None]:
        assert self.scope is not None
        shown = self.scope.stream
        async with contextlib.aclosing(runs):
            async for event in runs:
                if shown is not None:
                    await shown.emit(self, event, log)
                if event.kind == "interrupt":  # pauses its caller
                    raise GraphInterrupt(0, None, event.interrupts)
                yield event

    def scope_of(
        self, thread_id: str, base: Checkpoint | None, replaying: bool, options: Any
    ) -> RunScope:
        """The scope of the run's steps, once it knows where it starts."""
        if self.scope is not None:
            return self.scope
        return RunScope(
            self.graph.checkpointer,
            thread_id,
            replay=self.replay or (replay_bound(base) if replaying else None),
            durability=options.durability,
            config=self.cfg.raw,
            stream=options.subgraphs,
            context=options.context,
        )


async def route(
    graph: CompiledGraph,
    input: Any,
    config: Mapping[str, Any] | None,
    caller: Caller | None,
) -> Route:
    """Where a run of ``graph`` goes: a subgraph's run when invoked in a task
    (unless given a thread of its own), time travel into a subgraph when the
    config names one's checkpoint, else the graph's own run."""
    cfg = RunConfig.parse(config)
    if caller is not None and cfg.thread_id in (None, caller.step.run.thread_id):
        return await nested_run(graph, input, caller)
    checkpointer = graph.checkpointer
    if cfg.thread_id and NS_SEP in cfg.thread_id and checkpointer is not None:
        await graph._ensure_ready()  # time travel into a subgraph
        root, bound = await replay_into(checkpointer, cfg, input)
        return Route(graph, None, RunConfig.parse(root), replay=bound)
    return Route(graph, input, cfg)


async def nested_run(graph: CompiledGraph, input: Any, caller: Caller) -> Route:
    """Work out how ``graph``, invoked with ``input`` in the caller's task, runs.

    As LangGraph: a task that continues a paused step continues the subgraph from
    its latest checkpoint (the input is ignored; the parent's answers go to the
    subgraph's interrupts); a replay of the root starts it from its checkpoint of
    that time; otherwise ``input`` is applied (to the latest state, for a
    subgraph compiled with ``checkpointer=True``).
    """
    step, node = caller.step, caller.node
    ns = step.task_ns(node)
    if caller.call:  # as LangGraph: the task's second graph is "ns|1", and so on
        ns = f"{ns}{NS_SEP}{caller.call}"
    parent = step.run
    checkpointer = parent.checkpointer
    if graph.persistence is False or checkpointer is None:
        checkpointer = graph.checkpointer  # its own, or none
    own_ns = recast(ns) if graph.persistence is True else ns
    scope = RunScope(
        checkpointer,
        parent.thread_id,
        own_ns,
        {**parent.parents, parent.ns: step.checkpoint.id},
        parent.replay,
        parent.durability,
        parent.config,
        parent.stream,
        parent.context,
    )
    configurable = {
        **(parent.config.get("configurable") or {}),
        "thread_id": parent.thread_id,
        "checkpoint_ns": own_ns,
    }
    configurable.pop("checkpoint_id", None)
    bound = bind(graph, checkpointer)

    def to(given: Any, checkpoint_id: str | None = None, fresh: bool = False) -> Route:
        if checkpoint_id is not None:
            configurable["checkpoint_id"] = checkpoint_id
        if checkpointer is None:
            configurable.pop("thread_id", None)
        config = {
            **parent.config,
            "configurable": configurable,
            "metadata": {PARENTS: dict(scope.parents)},
        }
        return Route(bound, given, RunConfig.parse(config), scope, fresh)

    if checkpointer is None or checkpointer is not parent.checkpointer:
        return to(input)  # not on the parent's timelines: nothing to continue
    where = timeline(parent.thread_id, own_ns)
    replay = parent.replay
    if replay is not None and own_ns in replay.targets:
        return to(
            replay.input if own_ns == replay.target else None, replay.targets[own_ns]
        )
    if replay is not None and replay.first_visit(ns):
        async for meta in checkpointer.summaries(
            where, before=replay.checkpoint_id, limit=1
        ):
            return to(input, meta.id)
        return to(input, fresh=await checkpointer.get(where) is not None)
    if step.resuming:
        head = await checkpointer.get(where)
        if head is not None:
            pending = {i.value["id"] for i in head.interrupts}
            answers = {
                iid: value
                for iid, value in step.answers(node).items()
                if iid in pending
            }
            return to(Command(resume=answers) if answers else None)
    return to(input)


def bind(graph: CompiledGraph, checkpointer: BaseCheckpointer | None) -> CompiledGraph:
    """``graph``, or a shallow copy of it that writes to ``checkpointer`` (which the
    parent has set up already)."""
    if checkpointer is graph.checkpointer:
        return graph
    bound = copy.copy(graph)
    bound.checkpointer = checkpointer
    bound._ready = True  # the parent set its checkpointer up
    if checkpointer is not None:
        checkpointer.allow_types(graph.schema.classes())
    return bound


class SubgraphNode:
    """A compiled graph added as a node: called with the parent's state (the keys
    its input schema has are its input), its output's keys the parent has are the
    node's update."""

    def __init__(self, graph: CompiledGraph, parent: StateGraph) -> None:
        self.graph = graph
        self._parent = parent
        self.__name__ = graph.name

    async def __call__(self, state: Any) -> Any:
        result = await self.graph.ainvoke(state)
        channels = self._parent.schema.channels
        if isinstance(result, dict) and self._parent.schema.kind != "root":
            return {k: v for k, v in result.items() if k in channels}
        return result


async def replay_into(
    checkpointer: BaseCheckpointer, cfg: RunConfig, input: Any
) -> tuple[dict[str, Any], ReplayBound]:
    """Time travel into a subgraph's checkpoint (a config with a namespace): the
    root graph replays from the checkpoint the subgraph ran from, and the
    subgraph (and each graph between) from its own, with ``input``.

    Returns:
        The root's config and the :class:`ReplayBound` of the run.

    Raises:
        CheckpointNotFound: no such checkpoint, or it records no parent.
    """
    assert cfg.thread_id is not None
    target = await checkpointer.get(cfg.thread_id, cfg.checkpoint_id)
    parents = target.metadata.get(PARENTS) if target is not None else None
    if target is None or not isinstance(parents, Mapping) or "" not in parents:
        raise CheckpointNotFound(
            f"No checkpoint {cfg.checkpoint_id or '(head)'} of subgraph timeline "
            f"{cfg.thread_id!r} that names the checkpoint of its parent"
        )
    root, ns = split_timeline(cfg.thread_id)
    targets = {str(k): str(v) for k, v in parents.items() if k}
    targets[ns] = target.id
    config = {
        **cfg.raw,
        "configurable": {"thread_id": root, "checkpoint_id": parents[""]},
    }
    return config, ReplayBound(parents[""], targets=targets, target=ns, input=input)


def owner(graph: CompiledGraph, thread_id: str) -> CompiledGraph | None:
    """The graph (``graph`` or one of its subgraph nodes', nested) whose timeline
    ``thread_id`` is, bound to ``graph``'s checkpointer; ``None`` when no subgraph
    node names it (a graph a node function invoked)."""
    _, ns = split_timeline(thread_id)
    found = graph
    for part in ns.split(NS_SEP) if ns else ():
        name = part.split(NS_END, 1)[0]
        if name.isdigit():
            continue
        spec = found.nodes.get(name)
        if spec is None or spec.subgraph is None:
            return None
        found = spec.subgraph
    return bind(found, graph.checkpointer)


def timeline_configs(
    graph: CompiledGraph, snapshot: StateSnapshot, checkpoint: Checkpoint
) -> StateSnapshot:
    """``snapshot`` with each subgraph node's task's ``state`` the config of the
    subgraph's timeline, as LangGraph's snapshots and ``checkpoints`` chunks
    show it (``get_state(..., subgraphs=True)`` shows its state instead)."""
    step: StepScope | None = None
    tasks = []
    for task in snapshot.tasks:
        spec = graph.nodes.get(task.name)
        if spec is None or spec.subgraph is None:
            tasks.append(task)
            continue
        if step is None:
            step = _scope_of(graph, checkpoint)
        task_ns = step.task_ns(task.name)
        stateful = spec.subgraph.persistence is True
        where = timeline(step.run.thread_id, recast(task_ns) if stateful else task_ns)
        tasks.append(dataclasses.replace(task, state=make_config(where, None)))
    return dataclasses.replace(snapshot, tasks=tuple(tasks)) if step else snapshot


def _scope_of(graph: CompiledGraph, checkpoint: Checkpoint) -> StepScope:
    """The scope the step from ``checkpoint`` ran its tasks in (their namespaces)."""
    root, ns = split_timeline(checkpoint.thread_id)
    return StepScope(RunScope(graph.checkpointer, root, ns), checkpoint, False)


async def task_states(
    graph: CompiledGraph, snapshot: StateSnapshot, checkpoint: Checkpoint, deep: bool
) -> StateSnapshot:
    """``snapshot`` with each task's ``state``: with ``deep`` (``subgraphs=True``)
    the state of the subgraph it ran (if any), else the config of a subgraph
    node's timeline (:func:`timeline_configs`), as LangGraph."""
    if not deep:
        return timeline_configs(graph, snapshot, checkpoint)
    checkpointer = graph.checkpointer
    assert checkpointer is not None
    step = _scope_of(graph, checkpoint)
    root = step.run.thread_id
    tasks = []
    for task in snapshot.tasks:
        spec = graph.nodes.get(task.name)
        task_ns = step.task_ns(task.name)
        stateful = (
            spec is not None
            and spec.subgraph is not None
            and spec.subgraph.persistence is True
        )
        state: Any = None
        for candidate in (task_ns, recast(task_ns)):
            if stateful and candidate == task_ns:
                continue
            where = timeline(root, candidate)
            if await checkpointer.get(where) is not None:
                sub = owner(graph, where) or graph
                state = await sub.aget_state(make_config(where, None), subgraphs=True)
                break
        tasks.append(dataclasses.replace(task, state=state))
    return dataclasses.replace(snapshot, tasks=tuple(tasks))
