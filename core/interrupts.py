"""Human-in-the-loop: ``interrupt()`` inside a node, ``Command(resume=...)`` to answer.

``interrupt(payload)`` pauses the run: the payload is recorded on the current
checkpoint and the caller gets control back. Invoking the graph again with
``Command(resume=value)`` re-runs the node from its start, and this time the same
``interrupt()`` call returns ``value``. A node may call ``interrupt()`` several
times; each call is matched to resume values by its position.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

from timeloom.core.checkpoint import Checkpoint, PendingWrite
from timeloom.core.errors import ResumeError, TimeloomError
from timeloom.core.sends import Send

if TYPE_CHECKING:
    from timeloom.core.subgraphs import StepScope


@dataclass(frozen=True, slots=True)
class Interrupt:
    """A pending interrupt: its payload and the id a resume value can name."""

    value: Any
    id: str
    node: str = field(default="", compare=False, repr=False)
    """The node that raised it (not compared nor shown: equal to and shown as
    LangGraph's, by value and id)."""
    when: str = field(default="during", compare=False, repr=False)
    """``"during"`` for ``interrupt()``, ``"before"``/``"after"`` for static ones."""


StreamWriter = Callable[[Any], None]
"""What :func:`get_stream_writer` returns, and what a node's ``writer`` parameter
annotated so (or not annotated) is given."""

_UNSET: Any = object()
N = TypeVar("N", bound=str)


@dataclass(frozen=True, slots=True)
class Command(Generic[N]):
    """An instruction to the graph, as input to ``invoke`` or as a node's return value.

    As input: ``Command(resume=value)`` answers the pending interrupt(s); a mapping
    ``{interrupt_id: value}`` answers several by id. ``update`` is applied as if the
    interrupted node's predecessor wrote it.

    As a node's return value: ``update`` is the node's state update and ``goto``
    names the node(s) to run next, in addition to the node's edges: names, or
    :class:`~timeloom.core.sends.Send` tasks with their own input. With
    ``graph=Command.PARENT`` (from a node of a subgraph) both apply to the graph
    that runs the subgraph, as if its subgraph node had returned them.
    """

    PARENT: ClassVar[str] = "__parent__"

    resume: Any = _UNSET
    update: Any = None
    """The state update: a dict (or the state's dataclass or model), or
    ``(key, value)`` pairs, which may write a key several times."""
    goto: str | Send | Sequence[str | Send] = field(default=())
    graph: str | None = None

    def __repr__(self) -> str:
        # As LangGraph's: only the fields given.
        given = {"update": self.update, "goto": self.goto, "graph": self.graph}
        if self.has_resume:
            given = {"resume": self.resume, **given}
        shown = ", ".join(f"{k}={v!r}" for k, v in given.items() if v)
        return f"Command({shown})"

    @property
    def has_resume(self) -> bool:
        """Whether a resume value was given (``None`` is a valid resume value)."""
        return self.resume is not _UNSET

    @property
    def goto_nodes(self) -> tuple[str | Send, ...]:
        """``goto`` as a tuple of node names and sends."""
        if isinstance(self.goto, str | Send):
            return (self.goto,)
        return tuple(self.goto)


class GraphInterrupt(Exception):
    """Raised by :func:`interrupt` to unwind the node; caught by the runtime.

    A subgraph that paused raises it with its pending ``interrupts`` (their ids
    kept, so an answer given to the parent reaches the subgraph's node).
    """

    def __init__(
        self, index: int, value: Any, interrupts: tuple[Interrupt, ...] = ()
    ) -> None:
        super().__init__(f"interrupt #{index}")
        self.index = index
        self.value = value
        self.interrupts = interrupts


@dataclass(slots=True)
class TaskScratch:
    """Per-task state :func:`interrupt` reads: the resume values given so far."""

    resume_values: Sequence[Any]
    calls: int = 0
    stream: Callable[[Any], None] | None = None
    """Where :func:`get_stream_writer` sends chunks (``stream_mode="custom"``)."""
    config_of: Callable[[], Mapping[str, Any]] | None = None
    """Makes the node's config (:attr:`config`) the first time it is asked for:
    most nodes never ask, and building it costs more than the node."""
    made_config: Mapping[str, Any] | None = None
    scope: StepScope | None = None
    """Where a graph invoked inside the task runs, as a subgraph."""
    node: str = ""
    """The task's node (with ``scope``: names the subgraph's namespace)."""
    subgraph_calls: int = 0
    """Graphs invoked in the task so far (the second gets namespace ``ns|1``...)."""
    pushed: list[tuple[str, Any]] | None = None
    """The ``(key, message)`` writes of the task's ``push_message()`` calls."""

    @property
    def config(self) -> Mapping[str, Any] | None:
        """The node's config (:func:`get_config`)."""
        if self.made_config is None and self.config_of is not None:
            self.made_config = self.config_of()
        return self.made_config


task_scratch: ContextVar[TaskScratch | None] = ContextVar("timeloom_task", default=None)


def enter_task(scratch: TaskScratch) -> Callable[[], None]:
    """Make ``scratch`` the running task's (in the current context); return what
    undoes it.

    When the program uses LangChain, the node's config is also made LangChain's
    current config, as LangGraph does, so a chat model or a runnable the node
    calls inherits its callbacks and metadata without being passed the config.
    """
    token = task_scratch.set(scratch)
    lc_config = sys.modules.get("langchain_core.runnables.config")
    lc_var = getattr(lc_config, "var_child_runnable_config", None)
    config = scratch.config if lc_var is not None else None
    if lc_var is None or config is None:  # the common case: no LangChain
        return functools.partial(task_scratch.reset, token)
    if isinstance(config.get("callbacks"), list):
        config = _with_callback_manager(config)
    lc_token = lc_var.set(config)  # the task's own: LangChain copies what it reads

    def leave() -> None:
        lc_var.reset(lc_token)
        task_scratch.reset(token)

    return leave


def _with_callback_manager(config: Mapping[str, Any]) -> dict[str, Any]:
    """The node's config as LangChain's current config: its list of callbacks
    in a callback manager, as LangGraph's. A model bound with ``with_config``
    and also passed the node's config merges the two (LangChain's
    ``merge_configs``), which joins lists but adds a manager's handlers once; with
    a list each token would be streamed twice."""
    from langchain_core.callbacks import CallbackManager

    callbacks = config["callbacks"]
    manager = CallbackManager(handlers=callbacks, inheritable_handlers=callbacks)
    return {**config, "callbacks": manager}


def interrupt(value: Any) -> Any:
    """Pause the run and hand ``value`` to the caller; return the resume value.

    The first time a node reaches this call, the run stops and ``value`` is recorded
    as the thread's pending interrupt. When the thread is resumed with
    ``Command(resume=answer)``, the node runs again from its start and this call
    returns ``answer``.

    Raises:
        TimeloomError: called outside a running node.
    """
    scratch = task_scratch.get()
    if scratch is None:
        raise TimeloomError(
            "interrupt() can only be called inside a node while a graph runs",
            title="interrupt() outside a graph",
        )
    index = scratch.calls
    scratch.calls += 1
    if index < len(scratch.resume_values):
        return scratch.resume_values[index]
    raise GraphInterrupt(index, value)


def get_stream_writer() -> Callable[[Any], None]:
    """The writer a node sends its own chunks to (``stream_mode="custom"``).

    Outside a stream with that mode the writer drops what it is given, as
    LangGraph's does, so a node can call it unconditionally.
    """
    scratch = task_scratch.get()
    if scratch is None or scratch.stream is None:
        return _drop
    return scratch.stream


def get_config() -> dict[str, Any]:
    """The config of the running node: the run's (``configurable``, ...) with
    LangGraph's task metadata (``metadata["langgraph_node"]``, ...).

    Raises:
        RuntimeError: called outside a running node (LangGraph's error).
    """
    scratch = task_scratch.get()
    if scratch is None or scratch.config is None:
        raise RuntimeError("Called get_config outside of a runnable context")
    return dict(scratch.config)


def _drop(chunk: Any) -> None:
    """The writer of a run that does not stream ``"custom"``: drops ``chunk``."""


def resume_writes(checkpoint: Checkpoint, resume: Any) -> list[PendingWrite]:
    """The ``resume`` pending writes of ``Command(resume=resume)`` on a paused
    checkpoint: one answer for its one ``interrupt()`` question, or answers by
    interrupt id (``{id: value}``).

    Raises:
        ResumeError: several questions pending and ``resume`` is not by id.
    """
    pending = [w for w in checkpoint.interrupts if w.value.get("when") == "during"]
    ids = {w.value["id"]: w for w in pending}
    if isinstance(resume, Mapping) and resume and set(resume) <= set(ids):
        answers = dict(resume)
    elif len(pending) == 1:
        answers = {pending[0].value["id"]: resume}
    elif not pending:
        answers = {}
    else:
        raise ResumeError(
            f"When there are multiple pending interrupts, you must specify the "
            f"interrupt id when resuming: {len(pending)} interrupts are pending "
            f"({', '.join(ids)}); resume with "
            f"Command(resume={{interrupt_id: value, ...}})",
            title="Several interrupts pending",
        )
    return [
        PendingWrite(ids[iid].node, "resume", {"id": iid, "value": value})
        for iid, value in answers.items()
    ]
