"""``get_graph()``: a graph's nodes and edges as data, and as a Mermaid diagram."""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from timeloom.core.constants import END, START
from timeloom.core.interrupts import Command

if TYPE_CHECKING:
    from timeloom.core.graph import StateGraph


@dataclass(frozen=True, slots=True)
class Edge:
    """An edge of the drawing: ``conditional`` for routers and ``Command(goto=...)``
    targets; ``data`` is the router's return value when it differs from the target."""

    source: str
    target: str
    conditional: bool = False
    data: str | None = None


@dataclass(frozen=True, slots=True)
class DrawableGraph:
    """What :meth:`CompiledGraph.get_graph` returns, as LangGraph's ``Graph``."""

    nodes: dict[str, str]
    """Node id to label, ``__start__`` first and ``__end__`` last."""
    edges: list[Edge]

    def draw_mermaid(self, *, with_styles: bool = True) -> str:
        """The graph as a Mermaid flowchart (the same shape as LangGraph's).

        Args:
            with_styles: with the front matter, the node shapes and the class
                definitions; without, only ``graph TD;`` and the edges (as
                LangGraph's, for comparing structure).
        """
        lines = ["graph TD;"]
        if with_styles:
            lines[:0] = ["---", "config:", "  flowchart:", "    curve: linear", "---"]
        for node, label in self.nodes.items() if with_styles else ():
            if node == START:
                lines.append(f"\t{node}([<p>{label}</p>]):::first")
            elif node == END:
                lines.append(f"\t{node}([<p>{label}</p>]):::last")
            else:
                lines.append(f"\t{node}({label})")
        for edge in self.edges:
            if not edge.conditional:
                lines.append(f"\t{edge.source} --> {edge.target};")
            elif edge.data is None:
                lines.append(f"\t{edge.source} -.-> {edge.target};")
            else:
                label = f"&nbsp;{edge.data}&nbsp;"
                lines.append(f"\t{edge.source} -. {label} .-> {edge.target};")
        if with_styles:
            lines += [
                "\tclassDef default fill:#f2f0ff,line-height:1.2",
                "\tclassDef first fill-opacity:0",
                "\tclassDef last fill:#bfb6fc",
            ]
        return "\n".join(lines) + "\n"


def drawable(builder: StateGraph) -> DrawableGraph:
    """The drawing of ``builder``: its edges, its routers' possible targets (from the
    path map, else the router's ``Literal`` return type, else every node), and the
    targets a node's ``-> Command[Literal[...]]`` annotation names."""
    edges: set[Edge] = {Edge(start, end) for start, end in builder.edges}
    # As LangGraph draws a waiting edge: an edge from each of its starts.
    edges.update(
        Edge(start, end) for starts, end in builder.waiting_edges for start in starts
    )
    everywhere = [*builder.nodes, END]
    for branch in builder.branches:
        if branch.path_map is not None:
            for key, target in branch.path_map.items():
                data = None if key == target else str(key)
                edges.add(Edge(branch.source, target, True, data))
            continue
        for target in _literal_targets(branch.path, command=False) or everywhere:
            edges.add(Edge(branch.source, target, True))
    for name, spec in builder.nodes.items():
        for target in _literal_targets(spec.fn, command=True):
            edges.add(Edge(name, target, True))
        for target, label in spec.destinations.items():
            edges.add(Edge(name, target, True, label))
    order = {name: i for i, name in enumerate([START, *everywhere])}
    return DrawableGraph(
        nodes={name: name for name in order},
        edges=sorted(
            edges, key=lambda e: (order.get(e.source, 0), e.target, e.data or "")
        ),
    )


def _literal_targets(fn: Callable[..., Any], *, command: bool) -> list[str]:
    """The names in ``fn``'s return annotation: ``Literal[...]`` (a router) or
    ``Command[Literal[...]]`` (a node)."""
    try:
        hint = typing.get_type_hints(fn).get("return")
    except Exception:  # an unresolvable annotation draws nothing
        hint = inspect.signature(fn).return_annotation if callable(fn) else None
    if command:
        if typing.get_origin(hint) is not Command:
            return []
        (hint,) = typing.get_args(hint) or (None,)
    if typing.get_origin(hint) is not typing.Literal:
        return []
    return [str(arg) for arg in typing.get_args(hint)]
