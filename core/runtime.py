"""``CompiledGraph``: a validated graph and its public API to run it.

``invoke``/``stream`` (and their async twins) route a run (to a subgraph's own
thread when it is invoked inside another graph's node, see
:mod:`timeloom.core.subgraphs`) and hand it to :func:`timeloom.core.run.run`:

1. An input is applied through the reducers and committed as the *input* checkpoint
   (step -1 for a new thread, the next step number otherwise; see
   :mod:`timeloom.core.run_start`).
2. Each super-step runs every node in ``next`` concurrently, applies their updates in
   the graph's node order, works out the next nodes, and commits exactly one
   checkpoint, atomically with moving the thread's head (:mod:`timeloom.core.run`).
3. A node that raises leaves the error and its successful siblings' updates as pending
   writes on the current checkpoint; ``interrupt()`` and static interrupts leave the
   interrupt there. Resuming re-runs only the nodes that did not succeed.

Reading and writing state outside a run (``get_state``, history, ``update_state``,
``fork``) is the :class:`~timeloom.core.state_access.StateAccess` half.
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import AsyncGenerator, AsyncIterator, Generator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Self

from timeloom.core.config import merge_configs
from timeloom.core.graph_walk import draw
from timeloom.core.printing import printed_modes, printing
from timeloom.core.routing import Router
from timeloom.core.run import Options, run
from timeloom.core.run_context import coerce_context
from timeloom.core.state import context_json_schema
from timeloom.core.state_access import StateAccess
from timeloom.core.streaming import (
    RunEvent,
    StepLog,
    StreamMode,
    StreamView,
    parse_modes,
    stream_chunks,
    triggers_of,
)
from timeloom.core.subgraphs import Caller, SubgraphStream, route
from timeloom.core.sync import iterate_sync, run_sync
from timeloom.core.writer import Durability, check_durability

if TYPE_CHECKING:
    from timeloom.core.checkpointer import BaseCheckpointer
    from timeloom.core.graph import NodeSpec, StateGraph


_INTERRUPTS = ("interrupt_before", "interrupt_after")


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
        debug: bool = False,
    ) -> None:
        self.builder = builder
        self.schema = builder.schema
        self._untracked = self.schema.untracked
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
        self.debug = debug
        """Every run prints its ``"updates"`` and ``"values"`` chunks."""
        self.config: dict[str, Any] | None = None
        """Bound by :meth:`with_config`: merged under every call's config."""
        self.channels = self.schema.channels
        """The state's keys, each with its annotation and reducer."""
        self._router = Router(
            list(self.nodes),
            builder.edges,
            builder.branches,
            self.schema,
            builder.waiting_edges,
            frozenset(name for name, spec in self.nodes.items() if spec.defer),
        )
        self._triggers = triggers_of(self.nodes, builder.waiting_edges)
        self._ready = False
        if self.checkpointer is not None:
            self.checkpointer.allow_types(self.schema.classes())

    def get_graph(
        self, config: Mapping[str, Any] | None = None, *, xray: int | bool = False
    ) -> Any:
        """The graph's nodes and edges, as LangGraph draws them: LangChain's
        ``Graph`` when ``langchain_core`` is installed, else a
        :class:`~timeloom.core.drawing.DrawableGraph` (``nodes``, ``edges``,
        ``to_json()``, ``draw_mermaid()``: the same results).

        Args:
            config: accepted for LangGraph's signature; the drawing does not
                depend on it.
            xray: draw subgraph nodes as their graphs (node ids
                ``subgraph:node``); a number draws that many levels deep.
        """
        drawing = draw(self, xray)
        try:
            return drawing.to_langchain()
        except ImportError:
            return drawing

    async def aget_graph(
        self, config: Mapping[str, Any] | None = None, *, xray: int | bool = False
    ) -> Any:
        """The async twin of :meth:`get_graph`."""
        return self.get_graph(config, xray=xray)

    def copy(self, update: Mapping[str, Any] | None = None) -> Self:
        """A copy of this graph, as LangGraph's ``copy``, with the settings in
        ``update`` replaced: ``checkpointer``, ``config``, ``name``,
        ``interrupt_before``, ``interrupt_after``.

        Raises:
            ValueError: ``update`` names something else (the nodes and edges of
                a compiled graph are fixed: change the ``StateGraph`` and compile).
        """
        settings = ("checkpointer", "config", "name", *_INTERRUPTS)
        unknown = sorted(set(update or {}) - set(settings))
        if unknown:
            raise ValueError(
                f"copy() cannot replace {', '.join(unknown)}; it replaces "
                f"{', '.join(settings)}"
            )
        clone = copy.copy(self)
        clone.nodes = dict(self.nodes)
        for key, value in (update or {}).items():
            if key == "checkpointer":
                clone.persistence = value if isinstance(value, bool) else None
                clone.checkpointer = None if isinstance(value, bool) else value
                clone._ready = False
                if clone.checkpointer is not None:
                    clone.checkpointer.allow_types(self.schema.classes())
            elif key in _INTERRUPTS:
                setattr(clone, key, frozenset(value or ()))
            else:
                setattr(clone, key, value)
        return clone

    def with_config(
        self, config: Mapping[str, Any] | None = None, **kwargs: Any
    ) -> Self:
        """A copy of this graph bound to ``config`` (and ``kwargs``: ``run_name=``,
        ``tags=``, ``configurable=``, ...), as LangGraph's: every call's config
        (``invoke``, ``stream``, ``get_state``, ``update_state``, ...) is merged
        over it (``configurable`` and ``metadata`` key by key, ``tags`` joined)."""
        return self.copy({"config": merge_configs(self.config, config, kwargs)})

    def get_context_jsonschema(self) -> dict[str, Any] | None:
        """The context schema (``StateGraph(state, context_schema)``) as JSON
        Schema, as LangGraph's (needs pydantic); ``None`` without one.

        Raises:
            ValueError: the context schema is not a pydantic model, ``TypedDict``
                or dataclass.
            ConfigError: pydantic is not installed.
        """
        return context_json_schema(self.builder.context_schema)

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
        print_mode: StreamMode | Sequence[StreamMode] = (),
        debug: bool | None = None,
        context: Any = None,
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
                step runs, batching what piles up (faster on a remote database);
                ``"exit"`` stores only the run's last checkpoint, when it ends.
                Either way what the run ends on is stored when this returns (see
                :mod:`timeloom.core.writer`).
            interrupt_before: for this run, pause before these nodes instead of
                those given to ``compile()``.
            interrupt_after: for this run, pause after these nodes instead of
                those given to ``compile()``.
            subgraphs: with another mode than ``"values"``, the list has the
                subgraphs' chunks too, as :meth:`stream` yields them.
            print_mode: stream modes whose chunks are printed to the console
                as the run goes (what is returned does not change).
            debug: print the ``"updates"`` and ``"values"`` chunks (so does
                ``compile(debug=True)``).
            context: what the nodes' ``runtime.context`` is for this run (a
                dict is made into a dataclass or pydantic ``context_schema``);
                a subgraph's nodes see its parent's.

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
        options = self._options(
            durability, True, interrupt_before, interrupt_after, context
        )
        printed = printed_modes(print_mode, bool(debug or self.debug))
        if stream_mode != "values" or printed:
            modes = parse_modes(stream_mode)
            chunks = self._stream(input, config, modes, options, subgraphs, printed)
            return _result(stream_mode, list(iterate_sync(chunks)))
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
        print_mode: StreamMode | Sequence[StreamMode] = (),
        debug: bool | None = None,
        context: Any = None,
    ) -> Any:
        """The async twin of :meth:`invoke`."""
        options = self._options(
            durability, False, interrupt_before, interrupt_after, context
        )
        printed = printed_modes(print_mode, bool(debug or self.debug))
        if stream_mode != "values" or printed:
            modes = parse_modes(stream_mode)
            chunks = self._stream(input, config, modes, options, subgraphs, printed)
            return _result(stream_mode, [chunk async for chunk in chunks])
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
        print_mode: StreamMode | Sequence[StreamMode] = (),
        debug: bool | None = None,
        context: Any = None,
    ) -> Generator[Any, None, None]:
        """Run like :meth:`invoke`, yielding as each step commits.

        Args:
            stream_mode: one of :data:`~timeloom.core.streaming.STREAM_MODES`
                (``"updates"``: ``{node: update}`` per node and step; ``"values"``:
                the state after the input and each step; ``"checkpoints"``,
                ``"tasks"``, ``"debug"``, ``"messages"``, ``"custom"``: see
                :mod:`timeloom.core.streaming`), or a list of them, which yields
                ``(mode, chunk)`` pairs. What a step's nodes stream is yielded
                as it happens (see :mod:`timeloom.core.streaming`).
            durability: as for :meth:`invoke`; with ``"async"`` a step is yielded
                before its checkpoint is stored.
            interrupt_before: as for :meth:`invoke`.
            interrupt_after: as for :meth:`invoke`.
            subgraphs: also yield the chunks of the subgraphs that run: every
                chunk as ``(namespace, chunk)`` (``(namespace, mode, chunk)``
                for a list of modes), the root's namespace ``()``, a
                subgraph's the tuple of its namespace's parts.
            print_mode: as for :meth:`invoke`.
            debug: as for :meth:`invoke`.
            context: as for :meth:`invoke`.
        """
        modes = parse_modes(stream_mode)
        options = self._options(
            durability, True, interrupt_before, interrupt_after, context
        )
        printed = printed_modes(print_mode, bool(debug or self.debug))
        chunks = self._stream(input, config, modes, options, subgraphs, printed)
        return iterate_sync(chunks)

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
        print_mode: StreamMode | Sequence[StreamMode] = (),
        debug: bool | None = None,
        context: Any = None,
    ) -> AsyncIterator[Any]:
        """The async twin of :meth:`stream`."""
        modes = parse_modes(stream_mode)
        options = self._options(
            durability, False, interrupt_before, interrupt_after, context
        )
        printed = printed_modes(print_mode, bool(debug or self.debug))
        return self._stream(input, config, modes, options, subgraphs, printed)

    def _options(
        self,
        durability: Durability,
        inline_sync: bool,
        interrupt_before: Sequence[str] | None,
        interrupt_after: Sequence[str] | None,
        context: Any,
    ) -> Options:
        return Options(
            check_durability(durability),
            inline_sync,
            self.interrupt_before
            if interrupt_before is None
            else frozenset(interrupt_before),
            self.interrupt_after
            if interrupt_after is None
            else frozenset(interrupt_after),
            caller=Caller.current(),
            context=coerce_context(self.builder.context_schema, context),
        )

    async def _invoke(
        self, input: Any, config: Mapping[str, Any] | None, options: Options
    ) -> Any:
        last: RunEvent | None = None
        async for event in await self._events(input, config, options):
            last = event  # run to its end: the generator finishes (or raises) itself
        assert last is not None
        now = last.now if last.now is not None else last.checkpoint.values
        result = self._output.output(now)
        if last.kind == "interrupt" and isinstance(result, dict):
            if last.asked:  # as in LangGraph, a static breakpoint asks nothing
                result["__interrupt__"] = list(last.asked)
        return result

    def _stream(
        self,
        input: Any,
        config: Mapping[str, Any] | None,
        modes: tuple[StreamMode, ...] | StreamMode,
        options: Options,
        subgraphs: bool = False,
        printed: tuple[StreamMode, ...] = (),
    ) -> AsyncIterator[Any]:
        """Yield the chunks of ``modes``: a tuple of modes yields ``(mode, chunk)``;
        those of the ``printed`` modes are printed (see :mod:`timeloom.core.printing`)."""
        if printed:
            asked = modes if isinstance(modes, tuple) else (modes,)
            every = tuple(dict.fromkeys((*asked, *printed)))
            chunks = self._stream(input, config, every, options, subgraphs)
            return printing(chunks, modes, printed, subgraphs)
        multi = isinstance(modes, tuple)
        wanted = frozenset(modes if isinstance(modes, tuple) else (modes,))
        log = StepLog(wanted, subgraphs=subgraphs)
        nested = SubgraphStream(tuple(log.wanted), log, multi) if subgraphs else None
        view = StreamView(
            self.schema,
            self.schema.every_value,
            self._recorded,
            stored=self.checkpointer is not None,
        )
        options = options._replace(log=log, subgraphs=nested)
        events = self._execute(input, config, options)
        drain = nested.drain if nested is not None else None
        return stream_chunks(events, modes, view, log, subgraphs=drain)

    async def _execute(
        self,
        input: Any,
        config: Mapping[str, Any] | None,
        options: Options,
    ) -> AsyncIterator[RunEvent]:
        async with contextlib.aclosing(
            await self._events(input, config, options)
        ) as run:
            async for event in run:
                yield event

    async def _events(
        self,
        input: Any,
        config: Mapping[str, Any] | None,
        options: Options,
    ) -> AsyncGenerator[RunEvent, None]:
        """Start the run ``input`` and ``config`` ask for: its events."""
        if self.config:
            config = merge_configs(self.config, config)
        how = await route(self, input, config, options.caller)
        log = how.log(options.log)  # a subgraph's streams under its namespace
        if options.caller is not None or log is not options.log:
            options = options._replace(caller=None, log=log)
        runs = await run(how.graph, how, options)
        return how.events(runs, log)


def _result(stream_mode: StreamMode, chunks: list[Any]) -> Any:
    """What ``invoke`` returns from its stream: the list of chunks, or for
    ``"values"`` the last (the state the run ended on)."""
    if stream_mode != "values":
        return chunks
    return chunks[-1] if chunks else None


__all__ = ["CompiledGraph", "StreamMode"]
