"""The nodes and edges ``get_graph()`` draws, found as LangGraph finds them.

LangGraph does not draw the edges as declared: it walks the graph without running
any node, step by step, each node writing every edge it has (a router or a
``Command[Literal[...]]`` node its possible targets, once), and draws an edge from
each writer to each node its writes start; a node started by no write of the step
before (a deferred node) gets a conditional edge from each node of that step. A
router with no path map and no ``Literal`` return type is not followed; nodes that
lead nowhere get an edge to ``__end__``, and so does the last step's node (a
conditional one) when the walk never reached ``__end__``. Timeloom walks the same
way, so a drawing has the same edges in the same order as LangGraph's.

``xray`` draws subgraph nodes as their own graphs, their node ids prefixed
``parent:``, as LangGraph's ``get_graph(xray=...)``.
"""

from __future__ import annotations

import inspect
import typing
from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple

from timeloom.core.constants import END, START
from timeloom.core.drawing import DrawableGraph, Edge, Node
from timeloom.core.interrupts import Command

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from timeloom.core.graph import NodeSpec
    from timeloom.core.runtime import CompiledGraph

WALK_LIMIT = 250
"""Steps the walk takes at most (LangGraph's): a loop is walked until then."""


class _Write(NamedTuple):
    """A node's write in the walk: to ``channel``, ``conditional`` (a router's or
    a ``Command``'s), with the edge's label."""

    channel: str
    conditional: bool
    label: str | None


@dataclass
class _Channel:
    """What starts a node: an edge into it (``to:node``) or a waiting edge
    (``join:a+b:node``, complete once all its starts wrote)."""

    starts: frozenset[str] | None  # a waiting edge's; None for an edge
    deferred: bool
    written: set[str] = field(default_factory=set)
    finished: bool = False

    def complete(self) -> bool:
        return self.written >= self.starts if self.starts else bool(self.written)

    def ready(self) -> bool:
        return self.complete() and (self.finished or not self.deferred)

    def write(self, writers: set[str]) -> bool:
        """Record a step's writers; whether that changed the channel."""
        if self.starts is None:
            self.finished = False  # a deferred node waits for the end again
            self.written = set(writers)
            return True
        changed = not writers <= self.written
        self.written |= writers
        return changed


def draw(graph: CompiledGraph, xray: int | bool = False) -> DrawableGraph:
    """``graph``'s drawing; ``xray`` (``True``, or how many levels) draws its
    subgraph nodes' graphs inside it."""
    names = [START, *graph.nodes]
    edges, last_step = _walk(graph)
    drawing = DrawableGraph()
    for name in names:
        spec = graph.nodes.get(name)
        metadata = dict(spec.metadata) if spec else {}
        if spec and spec.defer:
            metadata["defer"] = True
        before, after = name in graph.interrupt_before, name in graph.interrupt_after
        if before or after:
            metadata["__interrupt"] = ",".join(
                when for when, on in (("before", before), ("after", after)) if on
            )
        tools = getattr(spec and spec.runnable, "tools_by_name", None)
        if isinstance(tools, dict) and tools:
            metadata["__tools"] = list(tools)
        data = None if spec is None else spec.subgraph or spec.runnable or spec.fn
        drawing.nodes[name] = Node(name, name, data, metadata or None)

    def add(source: str, target: str, label: str | None, conditional: bool) -> None:
        if any(e.source == source and e.target == target for e in drawing.edges):
            return  # the first of two edges between the same nodes is drawn
        if target == END and END not in drawing.nodes:
            drawing.nodes[END] = Node(END, END, None, None)
        data = label if label != target else None
        drawing.edges.append(Edge(source, target, data, conditional))

    for source, target, conditional, label in sorted(
        edges, key=lambda e: (e[0], e[1], e[2], e[3] is not None, e[3] or "")
    ):
        add(source, target, label, conditional)
    leading_nowhere = {t for _, t, _, _ in edges if t != END} - {
        s for s, _, _, _ in edges
    }
    for source in sorted(leading_nowhere):
        add(source, END, None, False)
    if not leading_nowhere and len(last_step) == 1:
        if not any(t == END for _, t, _, _ in edges):
            add(last_step[0], END, None, True)
    if xray:
        deeper = xray if isinstance(xray, bool) or xray <= 0 else xray - 1
        for name, spec in graph.nodes.items():
            inner = _subgraph(spec)
            # As LangGraph: a subgraph that stores nothing is not drawn inside.
            if inner is not None and inner.persistence is not False:
                _expand(drawing, name, draw(inner, deeper))
    return drawing


def _subgraph(spec: NodeSpec) -> CompiledGraph | None:
    """The graph a node runs: a subgraph node's, or the first compiled graph a
    node function names (a global or a variable of its closure), as LangGraph
    finds the graph a function invokes."""
    from timeloom.core.runtime import CompiledGraph

    if spec.subgraph is not None or spec.runnable is not None:
        return spec.subgraph
    try:
        named = inspect.getclosurevars(spec.fn)
    except (TypeError, ValueError):  # a callable object, a builtin
        return None
    for value in {**named.globals, **named.nonlocals}.values():
        if isinstance(value, CompiledGraph):
            return value
    return None


def _expand(drawing: DrawableGraph, name: str, inner: DrawableGraph) -> None:
    """Draw node ``name`` as the graph ``inner``, its ids prefixed ``name:``."""
    if len(inner.nodes) <= 1 or not (inner.first_node() and inner.last_node()):
        return
    inner.trim_first_node()
    inner.trim_last_node()
    del drawing.nodes[name]
    first, last = drawing.extend(inner, prefix=name)
    assert first is not None  # both checked before trimming
    assert last is not None
    drawing.edges = [
        e.copy(
            source=last.id if e.source == name else None,
            target=first.id if e.target == name else None,
        )
        for e in drawing.edges
    ]


def _walk(
    graph: CompiledGraph,
) -> tuple[set[tuple[str, str, bool, str | None]], list[str]]:
    """The edges the walk finds, and the nodes of its last step."""
    builder = graph.builder
    channels: dict[str, _Channel] = {}
    triggers: dict[str, list[str]] = defaultdict(list)
    plain: dict[str, list[str]] = defaultdict(list)  # node: channels it writes
    for name, spec in graph.nodes.items():
        channels[f"to:{name}"] = _Channel(None, spec.defer)
        triggers[name].append(f"to:{name}")
    for start, end in builder.edges:
        if end != END:
            plain[start].append(f"to:{end}")
    for starts, end in builder.waiting_edges:
        if end == END:  # LangGraph makes no channel for it: it starts nothing
            continue
        key = f"join:{'+'.join(starts)}:{end}"
        channels[key] = _Channel(frozenset(starts), graph.nodes[end].defer)
        triggers[end].append(key)
        for start in starts:
            plain[start].append(key)
    once = _conditional_writes(graph)

    edges: set[tuple[str, str, bool, str | None]] = set()
    sources: dict[str, set[_Write]] = {}
    declared: dict[str, set[_Write]] = defaultdict(set)
    step: dict[str, set[_Write]] = {}
    tasks = [START]
    for _ in range(-1, WALK_LIMIT):
        if not tasks:
            break
        written: dict[str, list[str]] = {}
        labels: dict[tuple[str, str], str | None] = {}
        for task in tasks:
            written[task] = list(plain[task])
            for target, label in once.pop(task, ()):
                if target == END:
                    edges.add((task, END, True, label))
                    continue
                labels[task, f"to:{target}"] = label
                declared[task].add(_Write(f"to:{target}", True, label))
                written[task].append(f"to:{target}")
        step = {
            task: {
                _Write(c, (task, c) in labels, labels.get((task, c))) for c in writes
            }
            | declared[task]
            for task, writes in written.items()
        }
        sources.update(step)
        into: dict[str, set[tuple[str, bool, str | None]]] = defaultdict(set)
        for source, writes in sources.items():
            for write in writes:
                into[write.channel].add((source, write.conditional, write.label))
        started = _advance(channels, tasks, triggers, written)
        tasks = [name for name in graph.nodes if started & set(triggers[name])]
        for task in tasks:
            from_this_step = False
            for trigger in sorted(triggers[task]):
                for source, conditional, label in into[trigger]:
                    edges.add((source, task, conditional, label))
                    if _Write(trigger, conditional, label) in step.get(source, ()):
                        from_this_step = True
                    else:  # an older write starts a node once
                        sources[source].discard(_Write(trigger, conditional, label))
            if not from_this_step:
                edges.update((source, task, True, None) for source in step)
    return edges, list(step)


def _advance(
    channels: dict[str, _Channel],
    tasks: Iterable[str],
    triggers: dict[str, list[str]],
    written: dict[str, list[str]],
) -> set[str]:
    """Apply a step's writes; return the channels that start a node next."""
    for task in tasks:  # what started a task is used up
        for key in triggers.get(task, ()):
            if channels[key].ready():
                channels[key].written.clear()
                channels[key].finished = False
    new: dict[str, set[str]] = defaultdict(set)
    for task, keys in written.items():
        for key in keys:
            new[key].add(task)
    started = set()
    for key, channel in channels.items():
        if key in new:
            if channel.write(new[key]) and channel.ready():
                started.add(key)
        elif channel.starts is None and not channel.deferred:
            channel.written.clear()  # an edge starts its node the next step only
    if not started:  # nothing is due: the deferred nodes' turn
        for key, channel in channels.items():
            if channel.deferred and not channel.finished and channel.complete():
                channel.finished = True
                started.add(key)
    return started


def _conditional_writes(
    graph: CompiledGraph,
) -> dict[str, list[tuple[str, str | None]]]:
    """Each node's conditional targets with their labels: its routers' (path
    map, else ``Literal`` return type) and its ``Command`` destinations."""
    found: dict[str, list[tuple[str, str | None]]] = defaultdict(list)
    for name, spec in graph.nodes.items():
        found[name] += list(destinations_of(spec).items())
    for branch in graph.builder.branches:
        ends = branch.path_map
        if ends is None:
            ends = {name: name for name in _literal(branch.path)}
        found[branch.source] += [(target, str(key)) for key, target in ends.items()]
    return found


def destinations_of(spec: NodeSpec) -> dict[str, str | None]:
    """Where a node's ``Command(goto=...)`` may go: ``destinations=``, else its
    ``-> Command[Literal[...]]`` return annotation."""
    if spec.destinations or spec.subgraph is not None or spec.runnable is not None:
        return dict(spec.destinations)
    hint = _return_hint(spec.fn)
    if typing.get_origin(hint) in (typing.Union, getattr(typing, "UnionType", None)):
        hint = next(
            (a for a in typing.get_args(hint) if typing.get_origin(a) is Command),
            None,
        )
    if typing.get_origin(hint) is not Command or not typing.get_args(hint):
        return {}
    return dict.fromkeys(_literal_args(typing.get_args(hint)[0]))


def _literal(fn: Callable[..., Any]) -> list[str]:
    """The names a router's ``-> Literal[...]`` return annotation lists."""
    return _literal_args(_return_hint(fn))


def _literal_args(hint: Any) -> list[str]:
    if typing.get_origin(hint) is not typing.Literal:
        return []
    return [str(arg) for arg in typing.get_args(hint)]


def _return_hint(fn: Callable[..., Any]) -> Any:
    for target in (getattr(fn, "__call__", None), fn):  # noqa: B004 - callables
        try:
            if hint := typing.get_type_hints(target).get("return"):
                return hint
        except Exception:  # an unresolvable annotation declares nothing
            continue
    return None
