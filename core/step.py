"""Running one super-step: call every due node concurrently and collect the outcome.

Nothing here touches storage: the runtime decides what to commit from the
:class:`StepOutcome`.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import dataclasses
import functools
import uuid
from collections.abc import Awaitable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from timeloom.core.checkpoint import Checkpoint, PendingWrite
from timeloom.core.constants import NODE_FINISHED
from timeloom.core.error_records import error_record
from timeloom.core.errors import InvalidUpdateError, ParentCommand
from timeloom.core.graph import NodeSpec
from timeloom.core.interrupts import (
    Command,
    GraphInterrupt,
    TaskScratch,
    enter_task,
)
from timeloom.core.retry import retry_delay
from timeloom.core.run_context import Runtime
from timeloom.core.sends import Send, Task
from timeloom.core.state import (
    ROOT,
    StateSchema,
    grouped_writes,
    is_pairs,
    plain_overwrites,
)
from timeloom.core.streaming import StepLog
from timeloom.core.subgraphs import StepScope

_NONE: Mapping[str, Any] = {}

_INTERRUPT_NS = uuid.UUID("6f1c1d2e-8f0a-4c59-9d0e-2b7a3c5e4f10")


def interrupt_id(checkpoint_id: str, node: str, index: int | str) -> str:
    """A stable id for the ``index``-th interrupt of task ``node`` (its key) from a
    checkpoint."""
    return uuid.uuid5(_INTERRUPT_NS, f"{checkpoint_id}:{node}:{index}").hex


@dataclass(slots=True)
class StepOutcome:
    """What the nodes of one super-step did."""

    updates: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    """Every successful task's update (reused ones included) by task key, in the
    step's order."""
    gotos: list[str | Send] = field(default_factory=list)
    """Nodes and sends named by ``Command(goto=...)`` return values."""
    ran: list[str] = field(default_factory=list)
    """The keys of the tasks run (not reused) this time, in the step's order."""
    stopped: dict[str, list[PendingWrite]] = field(default_factory=dict)
    """The error or interrupts of each task that did not succeed, by key."""
    errors: list[tuple[str, Exception]] = field(default_factory=list)
    interrupted: bool = False
    returned_none: set[str] = field(default_factory=set)
    """Tasks that returned ``None`` (streamed as ``None``, as in LangGraph)."""

    @property
    def complete(self) -> bool:
        """Whether every node succeeded, so the step can be committed."""
        return not self.errors and not self.interrupted

    @property
    def new_writes(self) -> list[PendingWrite]:
        """What to record on the checkpoint when the step does not complete: for
        each task run this time, in order, its update, or its error or interrupts
        (built only then: a step that completes records nothing)."""
        updates: dict[str, list[dict[str, Any]]] = {}
        for key, update in self.updates:
            updates.setdefault(key, []).append(update)
        writes: list[PendingWrite] = []
        for key in self.ran:
            stopped = self.stopped.get(key)
            if stopped is not None:
                writes.extend(stopped)
            else:
                writes.extend(PendingWrite(key, "update", u) for u in updates[key])
        return writes


def resume_values(checkpoint: Checkpoint) -> dict[str, list[Any]]:
    """The resume values given for each task's interrupts on ``checkpoint``, by
    index (by task key)."""
    index_of = {
        w.value["id"]: (w.node, w.value.get("index", 0))
        for w in checkpoint.pending_writes
        if w.kind == "interrupt" and "ns" not in w.value  # not a subgraph's
    }
    by_node: dict[str, dict[int, Any]] = {}
    for write in checkpoint.pending_writes:
        if write.kind == "resume" and write.value["id"] in index_of:
            node, index = index_of[write.value["id"]]
            by_node.setdefault(node, {})[index] = write.value["value"]
    result: dict[str, list[Any]] = {}
    for node, answers in by_node.items():
        ordered: list[Any] = []
        while len(ordered) in answers:
            ordered.append(answers[len(ordered)])
        result[node] = ordered
    return result


async def run_step(
    checkpoint: Checkpoint,
    tasks: Sequence[Task],
    schema: StateSchema,
    config: Mapping[str, Any],
    *,
    inline_sync: bool,
    log: StepLog,
    scope: StepScope | None = None,
) -> StepOutcome:
    """Run ``tasks`` from ``checkpoint`` concurrently.

    Tasks that already succeeded from this checkpoint (an ``update`` pending write
    left by an earlier, failed attempt) are not run again: their update is reused.

    Args:
        checkpoint: the checkpoint the step starts from.
        tasks: the due tasks, in the step's fixed order (see
            :func:`~timeloom.core.sends.tasks_of`).
        schema: the state schema (validates each node's update).
        config: passed to nodes that take a ``config`` argument.
        inline_sync: call a lone sync node on this thread (the sync API) instead of
            in a worker thread (the async API, which must not block its loop).
        log: where the nodes' config, stream writer and chat model tokens come
            from and go, and where each records that it finished (streaming).
        scope: what graphs invoked in the nodes run in (as subgraphs).

    Raises:
        ParentCommand: a node returned ``Command(graph=Command.PARENT)``: the
            step is abandoned and the command goes to the graph running this one.
    """
    reused: dict[str, list[dict[str, Any]]] = {}
    resumes: dict[str, list[Any]] = {}
    if checkpoint.pending_writes:  # an earlier attempt of this step stopped
        for w in checkpoint.pending_writes:
            if w.kind == "update":
                reused.setdefault(w.node, []).append(w.value)
        resumes = resume_values(checkpoint)
    to_run = [t for t in tasks if t.key not in reused] if reused else tasks
    for t in tasks if reused else ():
        if t.key in reused:
            log.cached(t.key, reused[t.key])
    inline = inline_sync and len(to_run) == 1
    hears_tasks = log.hears_tasks
    custom = "custom" in log.wanted
    calls: list[Awaitable[Any]] = []
    for t in to_run:
        call = (_call_retried if t.spec.retry_policy is not None else _call)(
            t.spec,
            t.send.arg
            if t.send is not None
            else schema.node_input(checkpoint.values, t.spec.input_schema),
            inline,
            TaskScratch(
                resumes.get(t.key, ()),
                stream=log.writer(t.key) if custom else None,
                config_of=functools.partial(log.node_config, t, config),
                scope=scope,
                node=t.key,
            ),
        )
        calls.append(_logged(log, t, schema, call) if hears_tasks else call)
    if len(calls) == 1:
        try:
            results: list[Any] = [await calls[0]]
        except Exception as exc:
            results = [exc]
    else:
        results = await asyncio.gather(*calls, return_exceptions=True)
    fresh = dict(zip((t.key for t in to_run), results, strict=True))
    finished = (config.get("configurable") or _NONE).get(NODE_FINISHED)

    outcome = StepOutcome(ran=[t.key for t in to_run])
    for task in tasks:
        key = task.key
        if key in reused:
            outcome.updates.extend((key, u) for u in reused[key])
            continue
        result = fresh[key]
        if isinstance(result, _NOT_AN_UPDATE):  # one check for the usual dict
            if isinstance(result, ParentCommand):  # from a graph the node invoked
                result = dataclasses.replace(result.command, graph=None)
            elif isinstance(result, Command) and result.graph == Command.PARENT:
                raise ParentCommand(result)
            elif isinstance(result, GraphInterrupt):
                outcome.interrupted = True
                outcome.stopped[key] = _asked(checkpoint.id, key, result)
                continue
            elif isinstance(result, BaseException) and not isinstance(
                result, Exception
            ):
                raise result  # cancellation and exits are not node failures
        try:
            if isinstance(result, Exception):
                raise result
            updates, gotos = _normalize(task.name, result, schema)
        except Exception as exc:
            outcome.errors.append((task.name, exc))
            outcome.stopped[key] = [PendingWrite(key, "error", error_record(exc))]
            continue
        if finished is not None:
            finished(task.name)
        if result is None:
            outcome.returned_none.add(key)
        for update in updates:
            outcome.updates.append((key, update))
        if gotos:
            outcome.gotos.extend(gotos)
    # A step that completes records nothing; one that does not keeps only what a
    # resume needs (successful siblings) and what a person needs (errors, interrupts).
    return outcome


_NOT_AN_UPDATE = (BaseException, Command)
"""What a task's result is when it is not (only) a state update."""


def _asked(checkpoint_id: str, key: str, raised: GraphInterrupt) -> list[PendingWrite]:
    """The interrupt writes of task ``key``: its ``interrupt()``, or the
    questions of the subgraph it ran (which keep their ids)."""
    if raised.interrupts:
        return [
            PendingWrite(
                key,
                "interrupt",
                {"id": i.id, "value": i.value, "when": i.when, "ns": key},
            )
            for i in raised.interrupts
        ]
    value = {
        "id": interrupt_id(checkpoint_id, key, raised.index),
        "value": raised.value,
        "when": "during",
        "index": raised.index,
    }
    return [PendingWrite(key, "interrupt", value)]


async def _logged(
    log: StepLog, task: Task, schema: StateSchema, call: Awaitable[Any]
) -> Any:
    """Await a task's call; record on ``log`` when it returned or raised, with
    its updates if it succeeded (its chunks are streamed while the step runs)."""
    try:
        result = await call
    except BaseException:
        log.finished(task.key, None)
        raise
    updates: list[dict[str, Any]] | None = None
    if not (isinstance(result, Command) and result.graph == Command.PARENT):
        with contextlib.suppress(Exception):  # the step's outcome records it
            updates = _normalize(task.name, result, schema)[0]
    log.finished(task.key, updates)
    return result


async def _call_retried(
    spec: NodeSpec, state: Any, inline: bool, scratch: TaskScratch
) -> Any:
    """Call the node; while it raises what its retry policy retries, wait and call
    it again (an interrupt is never retried)."""
    attempt = 1
    while True:
        try:  # each attempt starts afresh: no interrupt() or subgraph call counted
            return await _call(spec, state, inline, dataclasses.replace(scratch))
        except (GraphInterrupt, ParentCommand):
            raise
        except Exception as exc:
            delay = retry_delay(spec.retry_policy, exc, attempt)
            if delay is None:
                raise
            attempt += 1
            await asyncio.sleep(delay)


async def _call(spec: NodeSpec, state: Any, inline: bool, scratch: TaskScratch) -> Any:
    # As LangGraph: by keyword (a decorated node may take only **kwargs), and a
    # ``writer`` gets the stream writer, or one that drops.
    kwargs: dict[str, Any] = {"config": scratch.config} if spec.takes_config else {}
    if spec.takes_writer:
        kwargs["writer"] = scratch.stream or _dropped
    if spec.takes_runtime:
        kwargs["runtime"] = Runtime(
            scratch.scope.run.context if scratch.scope is not None else None,
            stream_writer=scratch.stream or _dropped,
        )
    fn = functools.partial(spec.fn, **kwargs) if kwargs else spec.fn
    if spec.is_async or inline:
        leave = enter_task(scratch)
        try:
            result = fn(state)
            if spec.is_async:
                result = await result
        finally:
            leave()
    else:
        context = contextvars.copy_context()
        context.run(enter_task, scratch)
        loop = asyncio.get_running_loop()
        result = await loop.run_in_executor(None, context.run, fn, state)
    if scratch.pushed:  # push_message() wrote before the node returned
        returned = result if isinstance(result, list) else [result]
        return [Command(update=scratch.pushed), *returned]
    return result


def _dropped(chunk: Any) -> None:
    """The ``writer`` of a node in a run that does not stream ``"custom"``."""


def _normalize(
    node: str, result: Any, schema: StateSchema
) -> tuple[list[dict[str, Any]], tuple[str | Send, ...]]:
    """A node's return value as its updates (at least one, maybe empty: it ran)
    and the nodes its ``Command``s go to.

    A node returns a partial update (a dict, or an instance of the state's
    dataclass or model), ``None``, a ``Command``, or a list of these; for a state of
    one value, the value itself. A ``Command``'s update may be ``(key, value)``
    pairs, which may write a key several times.
    """
    if type(result) is dict and schema.kind != "root":  # the common case, first
        return [plain_overwrites(result)], ()
    items = result if isinstance(result, list) else [result]
    if schema.kind == "root" and not any(isinstance(i, Command) for i in items):
        items = [result]
    pairs: list[tuple[str, Any]] = []
    gotos: list[str | Send] = []
    for item in items:
        value = item
        if isinstance(value, Command):
            gotos.extend(value.goto_nodes)
            value = value.update
            if schema.kind != "root" and is_pairs(value):
                pairs.extend(value)
                continue
        if value is None:
            continue
        if schema.kind == "root":
            pairs.append((ROOT, value))
            continue
        pairs.extend(_as_update(node, value).items())
    return grouped_writes(pairs), tuple(gotos)


def _as_update(node: str, value: Any) -> dict[str, Any]:
    if isinstance(value, Mapping):
        return dict(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    if hasattr(value, "model_fields_set"):
        # A pydantic model: as LangGraph reads one, every field but those left None
        # by default.
        fields = type(value).model_fields
        return {
            k: v
            for k in fields
            if (v := getattr(value, k)) is not None
            or k in value.model_fields_set
            or fields[k].default is not None
        }
    raise InvalidUpdateError(
        f"Node {node!r} returned {type(value).__name__} {value!r:.80}; a node "
        f"must return a dict of state updates, None, a Command, or a list of them"
    )
