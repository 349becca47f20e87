"""The runner of LangGraph databases: the user's own graph and LangGraph's own saver.

Writing to a LangGraph database goes only through LangGraph, so the database stays
exactly what LangGraph itself would have written and the user's app keeps working
on it: an edit is ``aupdate_state``, a resume is ``astream(None | Command(resume=...))``
(``durability="sync"``: each step is committed before it is shown), and a branch
copies checkpoints with the saver's ``aput``/``aput_writes``
(:func:`timeloom.backends.langgraph.copy.acopy_thread`).

These load checkpoints with LangGraph's own deserializer (it is the user's graph on
the user's database; ``LANGGRAPH_STRICT_MSGPACK`` limits what it revives, and the
CLI turns it on unless the user set it). What the app shows is still read by
Timeloom's reader, which never executes stored data.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from typing import Any, Final

from timeloom.backends.langgraph import (
    LangGraphPostgres,
    LangGraphReader,
    LangGraphSqlite,
)
from timeloom.backends.langgraph.copy import acopy_thread
from timeloom.backends.langgraph.mapping import NS_KEY
from timeloom.backends.langgraph.rows import NS_SEP
from timeloom.core.checkpoint import Checkpoint
from timeloom.core.errors import NodeFailure, attach_node_failure
from timeloom.tui.ops.actions import (
    ActionRefused,
    WriteAction,
    read_back,
    require_root,
)
from timeloom.tui.ops.editcheck import ParsedEdit, reducer_update
from timeloom.tui.ops.graphref import GraphLoadError, import_target
from timeloom.tui.ops.jsonedit import JsonEditError
from timeloom.tui.ops.resuming import Answer, AskFn, ProgressFn, ResumeOutcome, drive
from timeloom.tui.ops.runners.base import BranchOptions, Runner
from timeloom.tui.ops.runners.langgraph_revive import revive

STRICT_ENV: Final = "LANGGRAPH_STRICT_MSGPACK"
"""LangGraph's switch for its strict deserializer (safe types and the graph's own
state types only)."""


def langgraph_refusal(url: str, *, read_only: bool, action: WriteAction) -> str:
    """Why a LangGraph database opened without a graph (or with ``-r``) refuses
    ``action``."""
    if read_only:
        return f"{url} is open read-only (-r): nothing is written to it."
    # The same words serve the app and the write commands: name both ways.
    return (
        "LangGraph databases are written only through your own graph: add --graph "
        f"my_agent.py:graph (or package.module:graph) to timeloom open {url} or to "
        f"timeloom {action}, to {action} with it."
    )


def is_langgraph_graph(value: Any) -> bool:
    """Whether ``value`` is a LangGraph ``StateGraph`` or compiled graph."""
    try:
        from langgraph.graph import StateGraph
        from langgraph.pregel import Pregel
    except ImportError:  # pragma: no cover - LangGraph databases need LangGraph here
        return False
    return isinstance(value, StateGraph | Pregel)


def load_langgraph(ref: str) -> Any:
    """Import the LangGraph graph ``ref`` names (not yet bound to a saver).

    Raises:
        GraphLoadError: it cannot be imported, or is not a LangGraph graph.
    """
    try:
        import langgraph  # noqa: F401
    except ImportError as exc:
        raise GraphLoadError(
            "--graph on a LangGraph database needs LangGraph installed "
            "(pip install langgraph)"
        ) from exc
    target = import_target(ref, is_langgraph_graph)
    if not is_langgraph_graph(target):
        raise GraphLoadError(
            f"{ref} is a {type(target).__qualname__}, not a LangGraph graph: point "
            f"--graph at a StateGraph or at the result of builder.compile()"
        )
    return target


def strict_msgpack() -> bool | None:
    """Whether LangGraph's strict deserializer is on (None: this LangGraph has none)."""
    try:
        from langgraph.checkpoint.serde import _msgpack
    except ImportError:
        return None
    return bool(getattr(_msgpack, "STRICT_MSGPACK_ENABLED", False))


@contextlib.asynccontextmanager
async def _open_saver(reader: LangGraphReader) -> AsyncIterator[Any]:
    """LangGraph's own async saver on the database ``reader`` reads."""
    if isinstance(reader, LangGraphPostgres):
        try:
            from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
        except ImportError as exc:
            raise GraphLoadError(
                "Writing to a LangGraph Postgres database needs "
                "langgraph-checkpoint-postgres"
            ) from exc
        async with AsyncPostgresSaver.from_conn_string(reader.dsn) as saver:
            yield saver
        return
    try:
        from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver
    except ImportError as exc:
        raise GraphLoadError(
            "Writing to a LangGraph SQLite database needs langgraph-checkpoint-sqlite"
        ) from exc
    assert isinstance(reader, LangGraphSqlite)
    async with AsyncSqliteSaver.from_conn_string(str(reader.path)) as saver:
        yield saver


def _bind(graph: Any, saver: Any) -> Any:
    """The user's graph compiled with ``saver``, keeping its interrupts and name."""
    if hasattr(graph, "compile"):  # a StateGraph builder
        return graph.compile(checkpointer=saver)
    bound = graph.copy({"checkpointer": saver})
    # copy() rebuilds the graph through its constructor, which drops the strict-mode
    # allowlist compile() made from the state schema: without it, strict mode would
    # refuse the graph's own state types.
    allowlist = getattr(graph, "_serde_allowlist", None)
    if allowlist is not None:
        bound._serde_allowlist = allowlist
    return bound


def task_path(path: Any) -> str:
    """LangGraph's stored ``task_path`` text for a task's ``path`` tuple."""
    if isinstance(path, tuple | list):
        return "~" + ", ".join(task_path(p) for p in path)
    if isinstance(path, int):
        return f"{path:010d}"
    return str(path)


class LangGraphRunner(Runner):
    """Edits, branches and resumes a LangGraph database with the user's graph."""

    supports_ancestry = True

    def __init__(
        self,
        reader: LangGraphReader,
        graph: Any | None,
        *,
        read_only: bool = False,
    ) -> None:
        """Args:
        reader: Timeloom's reader of the database (what the app shows).
        graph: the user's LangGraph graph (a builder or compiled); None: the
            database stays read-only and the refusal says how to enable writing.
        read_only: ``-r`` was given: nothing is written, graph or not.
        """
        self.reader = reader
        self.user_graph = None if read_only else graph
        self.read_only = read_only
        self._stack = contextlib.AsyncExitStack()
        self._graph: Any | None = None
        if self.user_graph is not None:
            strict = strict_msgpack()
            mode = {True: "on", False: f"off (set {STRICT_ENV}=true)", None: "n/a"}
            self.notice = (
                "Edit, branch and resume run your graph with LangGraph's own saver "
                "and deserializer on this database (strict msgpack: "
                f"{mode[strict]}); what is shown is read by Timeloom's safe reader."
            )

    # -- what the app asks -------------------------------------------------------------

    def refusal(self, action: WriteAction) -> str | None:
        if self.user_graph is None:
            return langgraph_refusal(
                self.reader.url, read_only=self.read_only, action=action
            )
        return None

    @property
    def nodes(self) -> Sequence[str]:
        graph = self.user_graph
        if graph is None:
            return []
        return [n for n in graph.nodes if not n.startswith("__")]

    def default_as_node(self, checkpoint: Checkpoint) -> str | None:
        nodes = set(self.nodes)
        writers = [name for name in checkpoint.writes if name in nodes]
        return writers[0] if len(writers) == 1 else None

    def reducer_keys(self) -> Sequence[str]:
        if self.user_graph is None:
            return []
        return [k for k in self._channels() if self._reducer(k) is not None]

    async def thread_exists(self, thread_id: str) -> bool:
        return await self.reader.get_thread(thread_id) is not None

    # -- the graph and its saver ---------------------------------------------------------

    async def bound(self) -> Any:
        """The user's graph bound to LangGraph's saver on this database."""
        self.require("resume")
        if self._graph is None:
            saver = await self._stack.enter_async_context(_open_saver(self.reader))
            self._graph = _bind(self.user_graph, saver)
        return self._graph

    async def aclose(self) -> None:
        self._graph = None
        await self._stack.aclose()

    def _channels(self) -> Mapping[str, Any]:
        graph = self.user_graph
        channels = getattr(graph, "channels", None)
        return channels if isinstance(channels, Mapping) else {}

    def _reducer(self, key: str) -> Callable[[Any, Any], Any] | None:
        channel = self._channels().get(key)
        if channel is None:
            return None
        if hasattr(channel, "operator"):  # a builder's BinaryOperatorAggregate
            return channel.operator  # type: ignore[no-any-return]
        return None

    @staticmethod
    def config(checkpoint: Checkpoint) -> dict[str, Any]:
        """LangGraph's config of a checkpoint (its thread, namespace and id)."""
        ns = checkpoint.metadata.get(NS_KEY) or ""
        thread_id = checkpoint.thread_id
        if ns and thread_id.endswith(f"{NS_SEP}{ns}"):
            thread_id = thread_id[: -len(ns) - 1]
        return {
            "configurable": {
                "thread_id": thread_id,
                "checkpoint_ns": ns,
                "checkpoint_id": checkpoint.id,
            }
        }

    async def _read(self, config: Mapping[str, Any]) -> Checkpoint:
        configurable = config["configurable"]
        timeline = configurable["thread_id"]
        if configurable.get("checkpoint_ns"):
            timeline = f"{timeline}{NS_SEP}{configurable['checkpoint_ns']}"
        return await read_back(
            self.reader,
            {
                "configurable": {
                    "thread_id": timeline,
                    "checkpoint_id": configurable["checkpoint_id"],
                }
            },
        )

    async def _update(
        self, graph: Any, config: dict[str, Any], edit: ParsedEdit, shown: Checkpoint
    ) -> dict[str, Any]:
        """The ``update_state`` values for an edit of ``shown`` (read by Timeloom),
        in LangGraph's own objects (read by LangGraph)."""
        if edit.removed:
            raise ActionRefused(
                f"An update cannot delete keys ({', '.join(edit.removed)}); set them "
                f"to null instead.",
                title="Cannot save the edit",
            )
        real = (await graph.aget_state(config)).values
        new = {
            key: revive(edit.values[key], shown.values.get(key), real.get(key), key)
            for key in edit.changed
        }
        try:
            return reducer_update(real, new, edit.changed, self._reducer)
        except JsonEditError as exc:
            raise ActionRefused(
                "; ".join(exc.problems), title="Cannot save the edit"
            ) from exc

    # -- the actions ---------------------------------------------------------------------

    async def edit(
        self, checkpoint: Checkpoint, edit: ParsedEdit, *, as_node: str | None = None
    ) -> Checkpoint:
        self.require("edit")
        if not edit.changed and not edit.removed:
            raise ActionRefused("The edit changes nothing; nothing was written.")
        graph = await self.bound()
        config = self.config(checkpoint)
        update = await self._update(graph, config, edit, checkpoint)
        written = await graph.aupdate_state(config, update, as_node=as_node)
        return await self._read(written)

    async def branch(
        self, checkpoint: Checkpoint, new_thread_id: str, options: BranchOptions
    ) -> Checkpoint:
        self.require("branch")
        config = self.config(checkpoint)
        where = config["configurable"]
        require_root(
            checkpoint.thread_id, where["thread_id"], where.get("checkpoint_ns", "")
        )
        await self.check_new_thread(new_thread_id)
        graph = await self.bound()
        update = None
        if options.edit is not None and (options.edit.changed or options.edit.removed):
            update = await self._update(graph, config, options.edit, checkpoint)
        state = await graph.aget_state(config)
        paths = {task.id: task_path(task.path) for task in state.tasks}
        if options.ancestry:  # the copied ancestors' writes name their nodes too
            where = config["configurable"]
            timeline = {
                "configurable": {
                    "thread_id": where["thread_id"],
                    "checkpoint_ns": where.get("checkpoint_ns", ""),
                }
            }
            async for past in graph.aget_state_history(timeline):
                paths.update({task.id: task_path(task.path) for task in past.tasks})
        copied = await acopy_thread(
            graph.checkpointer,
            config,
            new_thread_id,
            ancestry=options.ancestry,
            task_paths=paths,
        )
        if update is not None:
            copied = await graph.aupdate_state(copied, update, as_node=options.as_node)
        return await self._read(copied)

    async def resume(
        self,
        checkpoint: Checkpoint,
        *,
        ask: AskFn | None = None,
        on_checkpoint: ProgressFn | None = None,
        answer: Answer | None = None,
    ) -> ResumeOutcome:
        self.require("resume")
        graph = await self.bound()

        async def run(run_input: Any, current: Checkpoint) -> AsyncIterator[str]:
            if run_input is not None:
                from langgraph.types import Command

                run_input = Command(resume=run_input.resume)
            config = await self._run_config(current)
            ns = config["configurable"]["checkpoint_ns"]
            last = current.id
            # LangGraph announces a checkpoint before its saver has committed it
            # (the put runs behind the stream), so announced ids wait here until
            # they read back, in order; once the run is over, every put is done.
            announced: list[str] = []
            try:
                async for event in graph.astream(
                    run_input, config, stream_mode="checkpoints", durability="sync"
                ):
                    where = event["config"]["configurable"]
                    if where.get("checkpoint_ns", "") != ns:
                        continue
                    if where["checkpoint_id"] != current.id:
                        announced.append(where["checkpoint_id"])
                    for cid in await self._committed(current, announced, over=False):
                        last = cid
                        yield cid
            except Exception as exc:  # the user's node raised: name it
                for cid in await self._committed(current, announced, over=True):
                    last = cid
                await self._name_failure(current.thread_id, last, exc)
                raise
            for cid in await self._committed(current, announced, over=True):
                yield cid

        return await drive(
            self.reader,
            checkpoint,
            run,
            ask=ask,
            on_checkpoint=on_checkpoint,
            answer=answer,
        )

    async def _run_config(self, checkpoint: Checkpoint) -> dict[str, Any]:
        """Where to run from: the thread (LangGraph's plain resume) when
        ``checkpoint`` is its head; the checkpoint itself (LangGraph's time travel:
        a fork checkpoint, then a new branch) when it is older."""
        config = self.config(checkpoint)
        info = await self.reader.get_thread(checkpoint.thread_id)
        if info is not None and info.head_id == checkpoint.id:
            del config["configurable"]["checkpoint_id"]
        return config

    async def _committed(
        self, current: Checkpoint, announced: list[str], *, over: bool
    ) -> list[str]:
        """Take from the front of ``announced`` the checkpoints that are stored.

        While the run goes on, the first one not yet stored stops the scan (its
        put may still be under way, and the order is kept); once it is ``over``,
        one that is not stored never will be (LangGraph announces the fork
        checkpoint of a time-travel run even when its first step fails and nothing
        is saved) and is dropped.
        """
        committed: list[str] = []
        while announced:
            if await self.reader.get(current.thread_id, announced[0]) is not None:
                committed.append(announced.pop(0))
            elif over:
                announced.pop(0)
            else:
                break
        return committed

    async def _name_failure(
        self, thread_id: str, checkpoint_id: str, exc: Exception
    ) -> None:
        """Mark ``exc`` with the node that raised it, when that was recorded (as
        Timeloom's runtime does: see :func:`~timeloom.core.errors.node_failure`)."""
        failed = await self.reader.get(thread_id, checkpoint_id)
        if failed is not None and failed.errors:
            where = NodeFailure(failed.errors[0].node, thread_id, checkpoint_id)
            attach_node_failure(exc, where)


__all__ = [
    "LangGraphRunner",
    "is_langgraph_graph",
    "langgraph_refusal",
    "load_langgraph",
    "strict_msgpack",
]
