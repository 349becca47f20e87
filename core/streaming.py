"""Streaming a run: the stream modes, and what each event of a run shows in each.

The runtime yields :class:`RunEvent`\\ s (the input applied, a step committed, a
pause, a failed step, the end); the nodes of a step record into a
:class:`StepLog` what happens while they run (a task starting or finishing, a
``get_stream_writer()`` chunk, a chat model's token), in the order it happens.
:func:`stream_chunks` turns both into the chunks of the modes a caller asked for,
in LangGraph's order and shapes. A step that streams what happens inside it
yields as it goes: a finished task's chunks as it finishes (those of a task
that failed or was interrupted need the step's outcome: they come when the
step ends); with ``subgraphs=True`` subgraphs' chunks as they are made.
"""

from __future__ import annotations

import asyncio
import sys
from asyncio import FIRST_COMPLETED
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

from timeloom.core.checkpoint import Checkpoint
from timeloom.core.chunk_shapes import (
    debug_chunk,
    interrupt_shown,
    returned_messages,
    task_chunks,
    task_result,
)
from timeloom.core.errors import ConfigError
from timeloom.core.interrupts import Interrupt
from timeloom.core.sends import task_keys
from timeloom.core.snapshot import task_id
from timeloom.core.state import ROOT

if TYPE_CHECKING:
    from timeloom.core.sends import Task
    from timeloom.core.snapshot import StateSnapshot
    from timeloom.core.state import StateSchema

StreamMode = Literal[
    "values", "updates", "checkpoints", "tasks", "debug", "messages", "custom"
]
STREAM_MODES: tuple[StreamMode, ...] = (
    "values",
    "updates",
    "checkpoints",
    "tasks",
    "debug",
    "messages",
    "custom",
)
_IN_STEP: frozenset[StreamMode] = frozenset(
    {"updates", "tasks", "debug", "messages", "custom"}
)
"""The modes that show what happens inside a step (from its :class:`StepLog`)."""
_LIVE: frozenset[StreamMode] = frozenset({"tasks", "debug", "messages", "custom"})
"""The modes that show what nodes do while they run."""
_EMPTY: Mapping[str, Any] = MappingProxyType({})


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


class TaskInfo(NamedTuple):  # a tuple: made for every task that asks, cheaply
    """One task of a step, as the ``tasks`` and ``messages`` modes show it."""

    id: str
    key: str
    """Names the task in the step (see :mod:`timeloom.core.sends`)."""
    name: str
    """The node it runs."""
    input: Any
    triggers: tuple[str, ...]
    step: int
    """The number of the step it runs in (its checkpoint's step + 1)."""
    metadata: Mapping[str, Any]
    """``langgraph_node``, ``langgraph_step``, ...: what LangGraph puts in a
    node's ``config["metadata"]`` (and on its ``messages`` chunks)."""


def triggers_of(
    nodes: Iterable[str], waiting_edges: Iterable[tuple[tuple[str, ...], str]]
) -> dict[str, tuple[str, ...]]:
    """What LangGraph names as each node's triggers: ``branch:to:<node>``, and
    ``join:<a>+<b>:<node>`` for each waiting edge into it."""
    edges = list(waiting_edges)
    return {
        name: (
            f"branch:to:{name}",
            *(f"join:{'+'.join(starts)}:{end}" for starts, end in edges if end == name),
        )
        for name in nodes
    }


class StepTasks:
    """The tasks of the step that runs from ``checkpoint``, as streams and their
    nodes' config show them: LangGraph's task metadata, starting with what the
    run's config says of the run (``run_metadata``, made when first asked for),
    and their inputs."""

    __slots__ = ("checkpoint", "tasks", "schema", "triggers", "run_metadata", "_paths")

    def __init__(
        self,
        checkpoint: Checkpoint,
        tasks: Sequence[Task],
        schema: StateSchema,
        triggers: Mapping[str, tuple[str, ...]],
        run_metadata: Callable[[], Mapping[str, Any]],
    ) -> None:
        self.checkpoint = checkpoint
        self.tasks = tasks
        self.schema = schema
        self.triggers = triggers
        self.run_metadata = run_metadata
        self._paths: dict[str, tuple[Any, ...]] | None = None

    def metadata(
        self, task: Task, base: Mapping[str, Any]
    ) -> tuple[str, tuple[str, ...], dict[str, Any]]:
        """``task``'s id, triggers, and metadata (``langgraph_node``,
        ``langgraph_step``...) after the keys of ``base``."""
        checkpoint = self.checkpoint
        tid = task_id(checkpoint.id, task.key)
        if task.send is not None:  # as LangGraph names them: a send is a "push" task
            fired: tuple[str, ...] = ("__pregel_push",)
            path = self.path(task)
        else:
            fired = self.triggers[task.name]
            path = ("__pregel_pull", task.name)
        return (
            tid,
            fired,
            {
                **base,
                **self.run_metadata(),
                "langgraph_step": checkpoint.step + 1,
                "langgraph_node": task.name,
                "langgraph_triggers": fired,
                "langgraph_path": path,
                "langgraph_checkpoint_ns": f"{task.name}:{tid}",
            },
        )

    def path(self, task: Task) -> tuple[Any, ...]:
        """The path LangGraph gives the send ``task``."""
        if self._paths is None:
            self._paths = {key: path for key, _, path in task_keys(self.checkpoint)}
        return self._paths.get(task.key, ("__pregel_pull", task.name))

    def infos(self, wanted: frozenset[StreamMode]) -> dict[str, TaskInfo]:
        """Each task, by key, with its input if ``wanted`` modes show it."""
        shows_input = not wanted.isdisjoint(("tasks", "debug", "messages"))
        values = self.checkpoint.values
        step = self.checkpoint.step + 1
        infos = {}
        for task in self.tasks:
            tid, fired, metadata = self.metadata(task, _EMPTY)
            node_input = None
            if shows_input:
                node_input = (
                    task.send.arg
                    if task.send is not None
                    else self.schema.node_input(values, task.spec.input_schema)
                )
            infos[task.key] = TaskInfo(
                tid, task.key, task.name, node_input, fired, step, metadata
            )
        return infos


@dataclass(slots=True)
class StepLog:
    """What happens inside a run's steps, in order: the runtime and the running
    nodes append, :func:`stream_chunks` drains at each event.

    Entries are ``(kind, task key, payload)`` with kind ``"task"`` (started),
    ``"done"`` (returned or raised), ``"cached"`` (its update, from an earlier
    attempt of the step, is reused), ``"custom"`` or ``"messages"``. Nodes in
    worker threads append too: ``list.append`` is atomic.
    """

    wanted: frozenset[StreamMode] = frozenset()
    entries: list[tuple[str, str, Any]] = field(default_factory=list)
    step: StepTasks | None = None
    """The running step's tasks, described when first asked for: a run that
    streams no task and whose nodes read no config never pays for it."""
    described: dict[str, TaskInfo] | None = None
    streamed: set[Any] = field(default_factory=set)
    """The ids of the messages the run's stream has seen (in a task's input,
    from a chat model, returned by a node), in every namespace it streams: as
    LangGraph's, a message is streamed once."""
    wake: Callable[[], None] | None = None
    """Called (from any thread) when a node adds an entry while its step runs."""
    subgraphs: bool = False
    """The root of a stream with ``subgraphs=True``: subgraphs' chunks arrive
    while its steps run."""
    hears_tasks: bool = field(init=False)
    """Whether the run streams each task's start and end."""
    live: bool = field(init=False)
    """Whether the run streams what nodes do while they run (``custom``,
    ``messages``, ``tasks``, ``debug``): its steps then yield as they go."""

    def __post_init__(self) -> None:
        self.hears_tasks = bool(self.wanted & _IN_STEP)
        self.live = bool(self.wanted & _LIVE)

    @property
    def tasks(self) -> dict[str, TaskInfo]:
        """The running step's tasks, as LangGraph describes them, by task key."""
        if self.described is None:
            step = self.step
            self.described = {} if step is None else step.infos(self.wanted)
        return self.described

    async def running(self, step: asyncio.Future[Any]) -> AsyncIterator[None]:
        """Yield each time nodes of the running ``step`` add entries, until it
        ends (the caller then yields a ``progress`` event, so what the nodes
        streamed so far reaches the stream while the step still runs)."""
        loop = asyncio.get_running_loop()
        woken = asyncio.Event()

        def wake() -> None:
            loop.call_soon_threadsafe(woken.set)

        self.wake = wake
        try:
            while not step.done():
                waiter = asyncio.ensure_future(woken.wait())
                try:
                    await asyncio.wait({step, waiter}, return_when=FIRST_COMPLETED)
                finally:
                    waiter.cancel()
                woken.clear()
                if not step.done():
                    yield
        finally:
            self.wake = None

    def _add(self, entry: tuple[str, str, Any]) -> None:
        self.entries.append(entry)
        self.poke()

    def poke(self) -> None:
        """Wake the running step's stream (something was added to stream)."""
        wake = self.wake
        if wake is not None:
            wake()

    def begin(self, step: StepTasks) -> None:
        """A step starts ``step``'s tasks."""
        self.step, self.described = step, None
        if self.hears_tasks:
            self.entries.extend(("task", key, None) for key in self.tasks)

    def cached(self, key: str, updates: list[dict[str, Any]]) -> None:
        """Task ``key`` is not run: its ``updates`` from an earlier attempt are
        reused."""
        if "updates" in self.wanted:
            self._add(("cached", key, updates))

    def finished(self, key: str, updates: list[dict[str, Any]] | None) -> None:
        """Task ``key`` returned ``updates``, or (``None``) raised, was
        interrupted or went to the parent graph: its outcome is on the step's
        event. The messages it returned are streamed now, as LangGraph's, before
        its update is applied (which keeps the ids given them here)."""
        info = self.tasks.get(key) if updates and "messages" in self.wanted else None
        if info is not None:
            for chunk in returned_messages(self, info, updates or ()):
                self._add(("messages", key, chunk))
        self._add(("done", key, updates))

    def writer(self, key: str) -> Callable[[Any], None] | None:
        """What ``get_stream_writer()`` returns in task ``key`` (``None``: a
        writer that drops what it is given)."""
        if "custom" not in self.wanted:
            return None

        def write(chunk: Any) -> None:
            self._add(("custom", key, chunk))

        return write

    def node_config(self, task: Task, config: Mapping[str, Any]) -> dict[str, Any]:
        """The config ``task`` is called with (and ``get_config()`` returns):
        the run's, with LangGraph's task metadata, and with the callback that
        streams its chat models' tokens when the run streams ``messages``."""
        key = task.key
        node_config = dict(config)
        if self.step is not None:  # only this task's: not every TaskInfo
            node_config["metadata"] = self.step.metadata(
                task, config.get("metadata") or {}
            )[2]
        if "messages" in self.wanted and "langchain_core" in sys.modules:
            # Only if the program uses LangChain: there is nothing to hear otherwise.
            from timeloom.core.chat_stream import token_handler

            handler = token_handler(lambda chunk: self.message(key, chunk))
            callbacks = config.get("callbacks")
            node_config["callbacks"] = [
                *(callbacks if isinstance(callbacks, list) else []),
                handler,
            ]
        return node_config

    def message(self, key: str, chunk: tuple[Any, Mapping[str, Any]]) -> None:
        """A chat model called in task ``key`` streamed ``chunk``: a message
        and its metadata."""
        from timeloom.core.messages import message_id

        self.streamed.add(message_id(chunk[0]))
        self._add(("messages", key, chunk))


class RunEvent(NamedTuple):  # a tuple: made several times per step, cheaply
    """What a run did, for ``invoke`` and ``stream``: ``input`` (a checkpoint
    committed before any node ran: yielded as ``values`` only if ``values``),
    ``progress`` (nodes of the running step streamed something), ``step``,
    ``interrupt`` (the run pauses), ``error`` (a step failed: the run raises
    ``error`` next) or ``done``."""

    kind: Literal["input", "progress", "step", "interrupt", "error", "done"]
    checkpoint: Checkpoint
    updates: Sequence[tuple[str, Mapping[str, Any]]] = ()
    """What the step's tasks wrote (on a paused or failed step: those that
    succeeded)."""
    interrupts: tuple[Interrupt, ...] = ()
    values: bool = True
    quiet: frozenset[str] = frozenset()
    """Nodes of the step that returned ``None``."""
    errors: Sequence[tuple[str, Exception]] = ()
    error: Exception | None = None
    """What the run raises after a failed step."""
    now: Mapping[str, Any] | None = None
    """A pause in a step whose finished tasks wrote: the state with their
    updates applied (what ``invoke`` returns, as LangGraph)."""

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
    """The state values as a ``values`` chunk shows them (a root graph's:
    :meth:`~timeloom.core.state.StateSchema.every_value`; a subgraph's: its
    output schema's keys)."""
    snapshot: Callable[[Checkpoint], StateSnapshot]
    stored: bool = True
    """Whether the graph's checkpoints are stored (it has a checkpointer, or a
    subgraph inherits its parent's): only then does it stream them
    (``checkpoints``, ``debug``'s checkpoint chunks), as LangGraph's."""
    keys: frozenset[str] | None = None
    """A subgraph's output schema's keys: as LangGraph's, its input or step
    shows its state only if it wrote one of them, and its ``updates`` chunks
    show only them. ``None`` (a root graph's stream): every key."""

    def values(self, event: RunEvent) -> list[Any]:
        """The ``values`` chunks of ``event``."""
        if event.kind == "input" and not event.updates:  # not a new input
            return [self.output(event.checkpoint.values)] if event.values else []
        if event.kind in ("input", "step"):
            # As LangGraph: only an input or a step that wrote some key shows
            # the state (a resume shows the state it starts from).
            keys = self.keys
            wrote = any(
                update if keys is None else not keys.isdisjoint(update)
                for _, update in event.updates
            )
            return [self.output(event.checkpoint.values)] if wrote else []
        if event.kind == "interrupt":
            # As in LangGraph: a pause at interrupt() ends with the state and the
            # questions (a static breakpoint adds nothing).
            state = self.output(event.checkpoint.values)
            if event.asked and isinstance(state, dict):
                return [{**state, "__interrupt__": event.asked}]
        return []

    def checkpoint(self, checkpoint: Checkpoint) -> dict[str, Any]:
        """A ``checkpoints`` chunk: the checkpoint as LangGraph's payload."""
        snap = self.snapshot(checkpoint)
        tasks = []
        for task in snap.tasks:
            shown: dict[str, Any] = {"id": task.id, "name": task.name}
            if task.error is not None:
                shown["error"] = task.error
            else:
                if task.result:
                    shown["result"] = task.result
                shown["interrupts"] = tuple(interrupt_shown(i) for i in task.interrupts)
            shown["state"] = task.state
            tasks.append(shown)
        return {
            "config": snap.config,
            "parent_config": snap.parent_config,
            "values": self.output(checkpoint.values),
            "metadata": snap.metadata,
            "next": list(snap.next),
            "tasks": tasks,
        }

    def in_step(
        self, event: RunEvent, log: StepLog, entry: tuple[str, str, Any]
    ) -> list[tuple[StreamMode, Any]]:
        """The chunks of one entry of the step log, with ``event`` the step's
        outcome."""
        kind, key, payload = entry
        wanted = log.wanted
        info = log.tasks.get(key)
        if kind == "custom":
            return [("custom", payload)] if "custom" in wanted else []
        if kind == "messages":
            return [("messages", payload)]
        if info is None:
            return []
        if kind == "task":
            start = {
                "id": info.id,
                "name": info.name,
                "input": info.input,
                "triggers": info.triggers,
            }
            return task_chunks(wanted, info, "task", start)
        chunks: list[tuple[StreamMode, Any]] = []
        if kind == "cached" or event.kind == "progress":  # the entry has them
            mine = payload
        else:
            mine = [u for k, u in event.updates if k == key]
        keys = self.keys
        out = mine
        if keys is not None and mine:  # a subgraph's: its output keys only
            out = [o for u in mine if (o := {k: v for k, v in u.items() if k in keys})]
        if kind == "cached":  # as LangGraph marks a reused update
            written = (
                node_writes([(key, u) for u in out], self.schema)[key] if out else {}
            )
            return [("updates", {info.name: written, "__metadata__": {"cached": True}})]
        if mine and "updates" in wanted:
            written = (
                node_writes([(key, u) for u in out], self.schema)[key] if out else {}
            )
            shown = None if key in event.quiet or written == {} else written
            chunks.append(("updates", {info.name: shown}))
        error = next((e for n, e in event.errors if n in (key, info.name)), None)
        asked = [i for i in event.asked if i.node == key]
        result = {
            "id": info.id,
            "name": info.name,
            "error": error,
            "result": task_result(mine, self.schema),
            "interrupts": [interrupt_shown(i) for i in asked],
        }
        return chunks + task_chunks(wanted, info, "task_result", result)


async def stream_chunks(
    events: AsyncIterator[RunEvent],
    modes: tuple[StreamMode, ...] | StreamMode,
    view: StreamView,
    log: StepLog,
    nested: bool = False,
    subgraphs: Callable[[], list[Any]] | None = None,
) -> AsyncIterator[Any]:
    """Yield the chunks of ``modes`` for a run's ``events``: a tuple of modes
    yields ``(mode, chunk)``.

    Args:
        events: the run's events.
        modes: as :func:`parse_modes` returns them.
        view: how the graph shows its state.
        log: what the run's nodes do inside each step (drained here as each
            event arrives).
        nested: the run is a subgraph's: its pause is shown by the graph it
            runs in (only the questions it asked show under its namespace).
        subgraphs: ``stream(..., subgraphs=True)``: takes the subgraphs'
            chunks queued so far (yielded before each event's own, which come
            with the root's namespace ``()``).
    """
    wanted = log.wanted
    multi = isinstance(modes, tuple)

    def shape(mode: StreamMode, chunk: Any) -> Any:
        if subgraphs is not None:
            return ((), mode, chunk) if multi else ((), chunk)
        return (mode, chunk) if multi else chunk

    async for event in events:
        # Taken together, before yielding: the step runs on meanwhile, and a
        # subgraph's chunks come before the end of the task that ran it.
        queued = subgraphs() if subgraphs is not None else []
        entries = list(log.entries)
        # As LangGraph: the step's tasks start before the subgraphs they run
        # stream anything (their start is logged first).
        starts = _leading_starts(entries) if queued else 0
        if event.kind == "progress":
            # What happened so far, but the end of a task that did not succeed:
            # its chunks need the step's outcome (they come when the step ends).
            held = [e for e in entries if e[0] == "done" and e[2] is None]
            ready = [e for e in entries if e[0] != "done" or e[2] is not None]
            del log.entries[: len(entries)]  # nodes in threads may add more
            log.entries[0:0] = held
            for i, entry in enumerate(ready):
                if i == starts:
                    for item in queued:
                        yield item
                    queued = []
                for mode, chunk in view.in_step(event, log, entry):
                    yield shape(mode, chunk)
            for item in queued:
                yield item
            continue
        log.entries[:] = []
        for entry in entries[:starts]:
            for mode, chunk in view.in_step(event, log, entry):
                yield shape(mode, chunk)
        del entries[:starts]
        for item in queued:
            yield item
        chunks: list[tuple[StreamMode, Any]] = []
        # The tasks an interrupt stopped show their result after the pause's
        # chunks, as in LangGraph.
        stopped = {i.node for i in event.asked}
        later = [e for e in entries if e[0] == "done" and e[1] in stopped]
        for entry in entries:
            if entry not in later:
                chunks.extend(view.in_step(event, log, entry))
        paused: list[tuple[StreamMode, Any]] = []
        if event.kind == "interrupt" and "updates" in wanted:
            # As LangGraph: one chunk per task an interrupt() stopped (none
            # asked, at a breakpoint: one empty chunk, after the values, and
            # only the root's: a subgraph's pause is its parent's).
            by_task: dict[str, list[Interrupt]] = {}
            for asked in event.asked:
                by_task.setdefault(asked.node, []).append(asked)
            if by_task or not nested:
                paused = [
                    ("updates", {"__interrupt__": tuple(group)})
                    for group in by_task.values() or [[]]
                ]
        if event.asked:
            chunks.extend(paused)
        if "values" in wanted:
            chunks.extend(("values", c) for c in view.values(event))
            if event.now is not None and not nested:
                # As LangGraph: the state with the finished tasks' updates last.
                chunks.append(("values", view.output(event.now)))
        if not event.asked:
            chunks.extend(paused)
        for entry in later:
            chunks.extend(view.in_step(event, log, entry))
        if (
            event.kind in ("input", "step")
            and view.stored
            and wanted & {"checkpoints", "debug"}
        ):
            shown = view.checkpoint(event.checkpoint)
            if "checkpoints" in wanted:
                chunks.append(("checkpoints", shown))
            if "debug" in wanted:
                chunks.append(
                    ("debug", debug_chunk("checkpoint", event.checkpoint.step, shown))
                )
        for mode, chunk in chunks:
            yield shape(mode, chunk)
    if subgraphs is not None:
        for item in subgraphs():
            yield item


def _leading_starts(entries: Sequence[tuple[str, str, Any]]) -> int:
    """How many of a step log's ``entries`` are the step's tasks' starts (logged
    first, when the step begins)."""
    n = 0
    for kind, _, _ in entries:
        if kind != "task":
            break
        n += 1
    return n


def node_writes(
    updates: Sequence[tuple[str, Mapping[str, Any]]], schema: StateSchema | None = None
) -> dict[str, Any]:
    """What each node wrote in a step (a copy): its update, or the list of its
    updates when it returned several; with ``schema`` a state of one value's
    updates are given as the values."""
    if len(updates) == 1 and (schema is None or schema.kind != "root"):
        node, update = updates[0]  # the common case: one task wrote once
        return {node: dict(update)}
    root = schema is not None and schema.kind == "root"
    by_node: dict[str, list[Any]] = {}
    for node, update in updates:
        by_node.setdefault(node, []).append(update.get(ROOT) if root else dict(update))
    return {node: ups[0] if len(ups) == 1 else ups for node, ups in by_node.items()}
