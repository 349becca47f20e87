"""``StateGraph``: declare nodes and edges, then ``compile()`` into a runnable graph.

The surface is LangGraph's, so its examples run with only the imports changed::

    graph = StateGraph(State)
    graph.add_node("step1", step_one)
    graph.add_edge(START, "step1")
    graph.add_conditional_edges("step1", route)
    app = graph.compile(checkpointer=SqliteCheckpointer("checkpoints.db"))
"""

from __future__ import annotations

import dataclasses
import inspect
import re
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Self

from timeloom.core.checkpointer import BaseCheckpointer
from timeloom.core.constants import END, START
from timeloom.core.errors import ConfigError, GraphValidationError
from timeloom.core.graph_walk import destinations_of
from timeloom.core.interrupts import StreamWriter
from timeloom.core.namespaces import NS_END, NS_SEP
from timeloom.core.runnables import (
    RunnableLike,
    is_runnable,
    runnable_name,
    runnable_node,
)
from timeloom.core.state import Channel, StateSchema

if TYPE_CHECKING:
    from timeloom.core.runtime import CompiledGraph

NodeFn = Callable[..., Any]
"""A node: ``fn(state)`` or ``fn(state, config)``, sync or async, returning a partial
update dict, ``None`` or a :class:`~timeloom.core.interrupts.Command`."""


@dataclass(frozen=True, slots=True)
class NodeSpec:
    """A node as the runtime needs it."""

    name: str
    fn: NodeFn
    is_async: bool
    takes_config: bool
    takes_writer: bool = False
    """Declares a ``writer`` parameter: given the stream writer, as LangGraph."""
    takes_runtime: bool = False
    """Declares a ``runtime`` parameter: given a
    :class:`~timeloom.core.run_context.Runtime`, as LangGraph."""
    metadata: Mapping[str, Any] = field(default_factory=dict)
    input_schema: StateSchema | None = None
    """The keys the node reads, when it declares its own (else the state's)."""
    retry_policy: Any = None
    """A :class:`~timeloom.core.retry.RetryPolicy` (or LangGraph's), or a list."""
    destinations: Mapping[str, str | None] = field(default_factory=dict)
    """Where its ``Command(goto=...)`` may go, with the edge's label (drawing)."""
    subgraph: CompiledGraph | None = None
    """The compiled graph this node runs (``add_node(name, compiled_graph)``)."""
    defer: bool = False
    """Runs only when no other node is due (``add_node(..., defer=True)``)."""
    runnable: Any = None
    """The LangChain runnable ``fn`` calls, when the node is one (drawing)."""

    def copy(self, update: Mapping[str, Any] | None = None) -> NodeSpec:
        """This node with the fields in ``update`` replaced (as LangGraph's
        ``PregelNode.copy``)."""
        return dataclasses.replace(self, **(update or {}))


@dataclass(frozen=True, slots=True)
class Branch:
    """A conditional edge: ``path(state)`` names the next node(s)."""

    source: str
    path: Callable[..., Any]
    path_map: Mapping[Hashable, str] | None
    input_schema: StateSchema | None = None
    """The keys the router reads, when it annotates its own schema."""


class StateGraph:
    """A graph whose nodes read and update a shared, typed state."""

    def __init__(
        self,
        state_schema: Any,
        config_schema: Any = None,
        *,
        input_schema: Any = None,
        output_schema: Any = None,
        context_schema: Any = None,
        input: Any = None,
        output: Any = None,
    ) -> None:
        """Create an empty graph.

        Args:
            state_schema: a ``TypedDict``, dataclass or pydantic model.
                ``Annotated[T, reducer]`` fields combine updates with the reducer;
                others are overwritten. Any other type (``Annotated[list, add]``)
                makes a state of one value.
            config_schema: the older name of ``context_schema`` (LangGraph's
                second argument).
            input_schema: the keys an input may set (others are ignored); by
                default the state's. ``input`` is its older name.
            output_schema: the keys ``invoke`` returns; by default the state's.
                ``output`` is its older name.
            context_schema: what a run's context holds (a pydantic model,
                ``TypedDict`` or dataclass): only described, by
                ``get_context_jsonschema()``.
        """
        self.state_schema = StateSchema.from_type(state_schema)
        self.context_schema = (
            context_schema if context_schema is not None else config_schema
        )
        given_input = input_schema if input_schema is not None else input
        given_output = output_schema if output_schema is not None else output
        self.input_schema = (
            StateSchema.from_type(given_input)
            if given_input is not None
            else self.state_schema
        )
        self.output_schema = (
            StateSchema.from_type(given_output)
            if given_output is not None
            else self.state_schema
        )
        self.schema = self.state_schema.merged(self.input_schema, self.output_schema)
        """Every key of the graph: the state's, the input's and output's, and those
        of nodes' own input schemas."""
        self.nodes: dict[str, NodeSpec] = {}
        self.edges: list[tuple[str, str]] = []
        self.waiting_edges: list[tuple[tuple[str, ...], str]] = []
        """``add_edge([a, b], c)``: ``c`` runs once both ``a`` and ``b`` finished."""
        self.branches: list[Branch] = []

    @property
    def channels(self) -> Mapping[str, Channel]:
        """The state's keys (with those of nodes' own input schemas), each with
        its annotation and reducer, as LangGraph's ``StateGraph.channels``."""
        return self.schema.channels

    def add_node(
        self,
        node: str | NodeFn | RunnableLike | CompiledGraph,
        action: NodeFn | RunnableLike | CompiledGraph | None = None,
        *,
        metadata: Mapping[str, Any] | None = None,
        input_schema: Any = None,
        input: Any = None,
        retry_policy: Any = None,
        retry: Any = None,
        destinations: Mapping[str, str] | Sequence[str] | None = None,
        defer: bool = False,
    ) -> Self:
        """Add a node. ``add_node(fn)`` names it after the function.

        A node reads the state's keys, or those of its own schema: ``input_schema``
        (``input``, its older name) or the annotation of its first parameter. Keys
        of such a schema join the graph's (private keys nodes share).
        ``retry_policy`` (``retry``, its older name): a
        :class:`~timeloom.core.retry.RetryPolicy` or a list of them; the node runs
        again when it raises what the policy retries. ``destinations``: the nodes
        its ``Command(goto=...)`` may go to (a map gives each edge a label), for
        the drawing only, as in LangGraph. ``defer=True``: once due, the node
        waits until no other node is due (sends do not hold it back), then runs
        once, as LangGraph's deferred nodes do: the join of a map-reduce whose
        branches have different lengths.

        A compiled graph as the action is a subgraph (see
        :mod:`timeloom.core.subgraphs`): it gets the state's keys its input schema
        has, and the keys of its output the state has are the node's update.

        Raises:
            GraphValidationError: the name is taken or reserved, or no callable given.
        """
        from timeloom.core.runtime import CompiledGraph
        from timeloom.core.subgraphs import SubgraphNode

        if action is None:
            if isinstance(node, str):
                raise GraphValidationError(f"add_node({node!r}) needs a callable")
            action = node
            node = (
                action.name
                if isinstance(action, CompiledGraph)
                else runnable_name(action)
                if _langchain_runnable(action)
                else getattr(action, "__name__", type(action).__name__)
            )
        assert isinstance(node, str)
        runnable = None
        if _langchain_runnable(action):
            runnable, action = action, runnable_node(action)
        self._check_name(node)
        if isinstance(action, CompiledGraph):
            self.nodes[node] = NodeSpec(
                name=node,
                fn=SubgraphNode(action, self),
                is_async=True,
                takes_config=False,
                metadata=dict(metadata or {}),
                retry_policy=retry_policy if retry_policy is not None else retry,
                subgraph=action,
                destinations=_labelled(destinations),
                defer=defer,
            )
            return self
        if not callable(action):
            raise GraphValidationError(f"Node {node!r}: {action!r} is not callable")
        declared = input_schema if input_schema is not None else input
        own = (
            StateSchema.from_type(declared)
            if declared is not None
            else StateSchema.of_node_input(action, self.state_schema)
        )
        if own is not None:
            self.schema = self.schema.merged(own)
        self.nodes[node] = NodeSpec(
            name=node,
            fn=action,
            is_async=_is_async(action),
            takes_config=_takes(action, "config"),
            takes_writer=_takes_writer(action),
            takes_runtime=_takes(action, "runtime"),
            metadata=dict(metadata or {}),
            input_schema=own,
            retry_policy=retry_policy if retry_policy is not None else retry,
            destinations=_labelled(destinations),
            defer=defer,
            runnable=runnable,
        )
        return self

    def _check_name(self, node: str) -> None:
        """Refuse a name that is taken or reserved (as LangGraph does), or that
        one of a node's ``Send`` tasks is keyed by (see :mod:`timeloom.core.sends`).

        Raises:
            GraphValidationError: the name cannot be used.
        """
        if node in (START, END):
            raise GraphValidationError(
                f"{node!r} is reserved and cannot be a node name"
            )
        if node in self.nodes:
            raise GraphValidationError(f"A node named {node!r} already exists")
        for character in (NS_SEP, NS_END):  # they join subgraph namespaces
            if character in node:
                raise GraphValidationError(
                    f"{character!r} is a reserved character and is not allowed in "
                    f"the node names ({node!r})"
                )
        for existing in self.nodes:
            for target, key in ((existing, node), (node, existing)):
                if _send_key_of(target, key):
                    raise GraphValidationError(
                        f"Node names {target!r} and {key!r} cannot both be used: "
                        f"{key!r} is how Timeloom names a Send task to {target!r} "
                        f"in a step's pending writes; rename one of them",
                        title="Node name taken by a Send task",
                    )

    def add_edge(self, start_key: str | Sequence[str], end_key: str) -> Self:
        """Run ``end_key`` after ``start_key``.

        With a list of nodes as ``start_key`` the edge waits, as LangGraph's does:
        ``end_key`` runs once, in the step after the last of them finished (they
        may finish in different steps); then the edge waits for all of them again.
        A waiting edge to ``END`` is drawn and does nothing else (as LangGraph's).

        Raises:
            GraphValidationError: ``END`` as a start, ``START`` as the end, or an
                empty list of starts.
        """
        if not isinstance(start_key, str):
            sources = tuple(start_key)
            if not sources:
                raise GraphValidationError("A waiting edge needs at least one start")
            if END in sources:
                raise GraphValidationError("END cannot be the start of an edge")
            if end_key == START:
                raise GraphValidationError("START cannot be the end of an edge")
            self.waiting_edges.append((sources, end_key))
            return self
        if start_key == END:
            raise GraphValidationError("END cannot be the start of an edge")
        if end_key == START:
            raise GraphValidationError("START cannot be the end of an edge")
        self.edges.append((start_key, end_key))
        return self

    def add_conditional_edges(
        self,
        source: str,
        path: Callable[..., Any],
        path_map: Mapping[Hashable, str] | Sequence[str] | None = None,
    ) -> Self:
        """After ``source``, call ``path(state)`` (sync or async) to choose the next node(s).

        Args:
            source: the node (or ``START``) the edge leaves from.
            path: returns a node name, a list of names, or ``END``.
            path_map: maps ``path``'s return values to node names (a list maps each
                name to itself). Lets ``compile()`` check reachability.
        """
        if source == END:
            raise GraphValidationError("END cannot be the start of an edge")
        # As LangGraph refuses two routers of one name from one node.
        name = _router_name(path)
        if any(
            b.source == source and _router_name(b.path) == name for b in self.branches
        ):
            raise GraphValidationError(  # LangGraph's words, then ours
                f"Branch with name `{name}` already exists for node `{source}`; "
                f"give one of the routers another name (a lambda is "
                f"{'condition'!r}), or let one router return both choices"
            )
        mapping: Mapping[Hashable, str] | None
        if path_map is None or isinstance(path_map, Mapping):
            mapping = path_map
        else:
            mapping = {name: name for name in path_map}
        own = StateSchema.of_node_input(path, self.state_schema)
        if own is not None:
            self.schema = self.schema.merged(own)
        self.branches.append(Branch(source, path, mapping, own))
        return self

    def add_sequence(self, nodes: Sequence[NodeFn | tuple[str, NodeFn]]) -> Self:
        """Add ``nodes`` (functions, or ``(name, function)`` pairs) and an edge from
        each to the next.

        Raises:
            GraphValidationError: an empty sequence, or a name taken or reserved.
        """
        if not nodes:
            raise GraphValidationError("add_sequence() needs at least one node")
        names = []
        for item in nodes:
            if isinstance(item, tuple):
                self.add_node(item[0], item[1])
                names.append(item[0])
            else:
                before = set(self.nodes)
                self.add_node(item)
                names.extend(set(self.nodes) - before)
        for start, end in zip(names, names[1:], strict=False):
            self.add_edge(start, end)
        return self

    def set_entry_point(self, key: str) -> Self:
        """Same as ``add_edge(START, key)``."""
        return self.add_edge(START, key)

    def set_conditional_entry_point(
        self,
        path: Callable[..., Any],
        path_map: Mapping[Hashable, str] | Sequence[str] | None = None,
    ) -> Self:
        """Same as ``add_conditional_edges(START, path, path_map)``."""
        return self.add_conditional_edges(START, path, path_map)

    def set_finish_point(self, key: str) -> Self:
        """Same as ``add_edge(key, END)``."""
        return self.add_edge(key, END)

    def compile(
        self,
        checkpointer: BaseCheckpointer | bool | None = None,
        *,
        interrupt_before: Sequence[str] | str | None = None,
        interrupt_after: Sequence[str] | str | None = None,
        name: str = "graph",
        store: Any = None,
        debug: bool = False,
    ) -> CompiledGraph:
        """Check the graph and return a runnable one.

        Args:
            checkpointer: where to write a checkpoint after every step; needed for
                threads, interrupts, resume and time travel. For a subgraph:
                ``None`` inherits its parent's, ``True`` keeps its own history
                per thread, ``False`` stores nothing.
            interrupt_before: pause before these nodes run (``"*"``: all).
            interrupt_after: pause after these nodes ran (``"*"``: all).
            name: shown in errors and stored in checkpoint metadata.
            store: LangGraph's long-term memory store: not supported (a clear
                error rather than a store nodes would silently not get).
            debug: every run prints its ``"updates"`` and ``"values"`` chunks
                to the console, as LangGraph's.

        Raises:
            GraphValidationError: an edge naming an unknown node, or no entry
                point.
            ConfigError: a ``store`` was given.
            TypeError: ``checkpointer`` is not a checkpointer, a bool or ``None``
                (as LangGraph checks it).
        """
        from timeloom.core.runtime import CompiledGraph

        if not isinstance(checkpointer, BaseCheckpointer | bool | None):
            raise TypeError(
                "Invalid checkpointer provided. Expected a Timeloom checkpointer "
                "(MemoryCheckpointer, SqliteCheckpointer, PostgresCheckpointer), "
                f"True, False or None; received {type(checkpointer).__qualname__}."
            )
        if store is not None:
            raise ConfigError(
                "compile(store=...) is not supported: Timeloom keeps a thread's "
                "checkpoints, not LangGraph's cross-thread memory store; keep such "
                "data in your own store and read it in the nodes",
                title="No store support",
            )

        before = self._interrupt_nodes(interrupt_before, "interrupt_before")
        after = self._interrupt_nodes(interrupt_after, "interrupt_after")
        self._validate()
        return CompiledGraph(
            self,
            checkpointer,
            interrupt_before=before,
            interrupt_after=after,
            name=name,
            debug=debug,
        )

    # -- validation ----------------------------------------------------------------

    def _interrupt_nodes(
        self, names: Sequence[str] | str | None, arg: str
    ) -> frozenset[str]:
        if names is None:
            return frozenset()
        if names == "*":
            return frozenset(self.nodes)
        listed = [names] if isinstance(names, str) else list(names)
        unknown = [n for n in listed if n not in self.nodes]
        if unknown:
            raise GraphValidationError(
                f"{arg} names unknown node(s) {', '.join(map(repr, unknown))}; "
                f"nodes: {', '.join(self.nodes)}"
            )
        return frozenset(listed)

    def _validate(self) -> None:
        if not self.nodes:
            raise GraphValidationError("The graph has no nodes; add_node() first")
        known = set(self.nodes)
        flat = [(s, end) for starts, end in self.waiting_edges for s in starts]
        for start, end in (*self.edges, *flat):
            for key, side in ((start, "starting"), (end, "ending")):
                if key not in known and key not in (START, END):
                    raise GraphValidationError(  # LangGraph's words, then ours
                        f"Found edge {side} at unknown node {key!r} (edge "
                        f"{start!r} -> {end!r}); nodes: {', '.join(self.nodes)}"
                    )
        for name, spec in self.nodes.items():  # where its Command(goto=) may go
            for target in destinations_of(spec):
                if target not in known and target != END:
                    raise GraphValidationError(  # LangGraph's words, then ours
                        f"Found edge ending at unknown node `{target}` (node "
                        f"{name!r} names it as a destination of its Command); "
                        f"nodes: {', '.join(self.nodes)}"
                    )
        for branch in self.branches:
            if branch.source not in known and branch.source != START:
                raise GraphValidationError(
                    f"Conditional edge from unknown node {branch.source!r}"
                )
            for target in (branch.path_map or {}).values():
                if target not in known and target != END:
                    raise GraphValidationError(
                        f"The path map of the conditional edge from {branch.source!r} "
                        f"names unknown node {target!r}"
                    )
        sources = {s for s, _ in (*self.edges, *flat)} | {
            b.source for b in self.branches
        }
        if START not in sources:
            raise GraphValidationError(
                "The graph has no entry point; add_edge(START, 'first_node')"
            )
        # As in LangGraph, a node with no outgoing edge ends its branch, and a node
        # no edge leads to is allowed: a Command(goto=...) may reach it at run time.


_SEND_KEY = re.compile(r"(.*)#[0-9]+")
"""A send task's key: its node, ``#`` and its index (see :mod:`timeloom.core.sends`)."""


def _send_key_of(node: str, name: str) -> bool:
    """Whether ``name`` is the key of one of ``node``'s send tasks."""
    match = _SEND_KEY.fullmatch(name)
    return match is not None and match[1] == node


def _router_name(path: Callable[..., Any]) -> str:
    """A router's name as LangGraph gives it: its function's, ``"condition"``
    for a lambda or a callable object."""
    name = getattr(path, "__name__", None)
    return "condition" if name in (None, "<lambda>") else str(name)


def _is_async(fn: Callable[..., Any]) -> bool:
    call = getattr(fn, "__call__", None)  # noqa: B004 - callable objects
    return inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(call)


def _labelled(
    destinations: Mapping[str, str] | Sequence[str] | None,
) -> dict[str, str | None]:
    """``add_node(destinations=...)`` as target -> label (``None``: no label)."""
    if isinstance(destinations, Mapping):
        return dict(destinations)
    return dict.fromkeys(destinations or ())


def _langchain_runnable(action: object) -> bool:
    """A LangChain runnable (not a graph of ours, which is a node of its own kind)."""
    from timeloom.core.runtime import CompiledGraph

    return is_runnable(action) and not isinstance(action, CompiledGraph)


def _takes_writer(fn: Callable[..., Any]) -> bool:
    """Whether ``fn`` declares a ``writer`` parameter LangGraph would give the
    stream writer: unannotated, or annotated ``StreamWriter``."""
    try:
        param = inspect.signature(fn).parameters.get("writer")
    except (TypeError, ValueError):
        return False
    if param is None:
        return False
    # StreamWriter is Callable[[Any], None], equal to LangGraph's alias.
    return param.annotation in (inspect.Parameter.empty, "StreamWriter", StreamWriter)


def _takes(fn: Callable[..., Any], parameter: str) -> bool:
    try:
        return parameter in inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False
