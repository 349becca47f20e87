"""What ``get_graph()`` returns without ``langchain_core``: a graph's nodes and
edges as data, with LangChain's ``Graph`` API (``nodes``, ``edges``, ``to_json()``,
``draw_mermaid()``, ``first_node()``, ...) and the same results.

With ``langchain_core`` installed, :meth:`DrawableGraph.to_langchain` gives the
same drawing as LangChain's own ``Graph``, which ``get_graph()`` returns then (as
LangGraph's does: ``draw_ascii()``, ``draw_png()``, ``draw_mermaid_png()`` work).
How the nodes and edges are found is :mod:`timeloom.core.graph_walk`; the Mermaid
text is :mod:`timeloom.core.mermaid`.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, NamedTuple


class Node(NamedTuple):
    """A node of the drawing, as LangChain's ``Node``."""

    id: str
    name: str
    """The node's own name (an expanded subgraph's node keeps its unprefixed one)."""
    data: Any
    """What the node runs (its function, runnable or compiled graph); ``None`` for
    ``__start__`` and ``__end__``."""
    metadata: dict[str, Any] | None


class Edge(NamedTuple):
    """An edge of the drawing, as LangChain's ``Edge`` (equal to one with the same
    fields): ``conditional`` for routers and ``Command(goto=...)`` targets; ``data``
    is the edge's label (a router's key that differs from the target)."""

    source: str
    target: str
    data: str | None = None
    conditional: bool = False

    def copy(self, *, source: str | None = None, target: str | None = None) -> Edge:
        """This edge with another source and/or target."""
        return self._replace(source=source or self.source, target=target or self.target)


@dataclass
class DrawableGraph:
    """A graph's nodes and edges (LangChain's ``Graph`` without ``langchain_core``)."""

    nodes: dict[str, Node] = field(default_factory=dict)
    """Node id to node, in the graph's order (``__end__`` where first reached)."""
    edges: list[Edge] = field(default_factory=list)

    def to_json(self, *, with_schemas: bool = False) -> dict[str, list[dict[str, Any]]]:
        """The graph as LangChain's ``Graph.to_json()`` gives it: ``nodes`` (``id``,
        and ``type``/``data`` describing what the node runs) and ``edges``
        (``source``, ``target``, ``data`` when labelled, ``conditional`` when so).

        Args:
            with_schemas: describe a pydantic model's node by its JSON Schema.
        """
        edges: list[dict[str, Any]] = []
        for edge in self.edges:
            entry: dict[str, Any] = {"source": edge.source, "target": edge.target}
            if edge.data is not None:
                entry["data"] = edge.data
            if edge.conditional:
                entry["conditional"] = True
            edges.append(entry)
        nodes = [
            {"id": node.id, **_describe(node, with_schemas)}
            for node in self.nodes.values()
        ]
        return {"nodes": nodes, "edges": edges}

    def first_node(self, exclude: Iterable[str] = ()) -> Node | None:
        """The one node no edge leads to (``None`` if there are none or several)."""
        skip = set(exclude)
        targets = {e.target for e in self.edges if e.source not in skip}
        found = [n for n in self.nodes.values() if n.id not in skip | targets]
        return found[0] if len(found) == 1 else None

    def last_node(self, exclude: Iterable[str] = ()) -> Node | None:
        """The one node no edge leaves (``None`` if there are none or several)."""
        skip = set(exclude)
        sources = {e.source for e in self.edges if e.target not in skip}
        found = [n for n in self.nodes.values() if n.id not in skip | sources]
        return found[0] if len(found) == 1 else None

    def trim_first_node(self) -> None:
        """Drop the first node when it has one edge out and another node would
        then be first (``__start__`` of a subgraph drawn inside its parent)."""
        first = self.first_node()
        if (
            first
            and self.first_node(exclude=[first.id])
            and len({e for e in self.edges if e.source == first.id}) == 1
        ):
            self._remove(first.id)

    def trim_last_node(self) -> None:
        """Drop the last node when it has one edge in and another node would
        then be last."""
        last = self.last_node()
        if (
            last
            and self.last_node(exclude=[last.id])
            and len({e for e in self.edges if e.target == last.id}) == 1
        ):
            self._remove(last.id)

    def extend(
        self, graph: DrawableGraph, *, prefix: str = ""
    ) -> tuple[Node | None, Node | None]:
        """Add ``graph``'s nodes and edges, their ids prefixed ``prefix:``.

        Returns:
            ``graph``'s first and last nodes, with their new ids.
        """

        def prefixed(node_id: str) -> str:
            return f"{prefix}:{node_id}" if prefix else node_id

        for node in graph.nodes.values():
            self.nodes[prefixed(node.id)] = node._replace(id=prefixed(node.id))
        self.edges += [
            e.copy(source=prefixed(e.source), target=prefixed(e.target))
            for e in graph.edges
        ]
        first, last = graph.first_node(), graph.last_node()
        return (
            first._replace(id=prefixed(first.id)) if first else None,
            last._replace(id=prefixed(last.id)) if last else None,
        )

    def draw_mermaid(
        self,
        *,
        with_styles: bool = True,
        curve_style: Any = "linear",
        node_colors: Any = None,
        wrap_label_n_words: int = 9,
        frontmatter_config: dict[str, Any] | None = None,
    ) -> str:
        """The graph as a Mermaid flowchart, as LangChain's ``draw_mermaid`` draws it.

        Args:
            with_styles: with the front matter, the node shapes and the class
                definitions; without, only ``graph TD;`` and the edges.
            curve_style: the edges' curve (a name, or LangChain's ``CurveStyle``).
            node_colors: the ``default``/``first``/``last`` classes' styles (an
                object with those attributes, as LangChain's ``NodeStyles``).
            wrap_label_n_words: break edge labels every this many words.
            frontmatter_config: Mermaid configuration to add to the front matter.
        """
        from timeloom.core.mermaid import draw_mermaid

        return draw_mermaid(
            self,
            with_styles=with_styles,
            curve=str(getattr(curve_style, "value", curve_style)),
            node_colors=node_colors,
            wrap_label_n_words=wrap_label_n_words,
            frontmatter_config=frontmatter_config or {},
        )

    def to_langchain(self) -> Any:
        """This drawing as LangChain's ``Graph`` (needs ``langchain_core``)."""
        from langchain_core.runnables import graph as lc

        return lc.Graph(
            nodes={key: lc.Node(*node) for key, node in self.nodes.items()},
            edges=[lc.Edge(*edge) for edge in self.edges],
        )

    def _remove(self, node_id: str) -> None:
        del self.nodes[node_id]
        self.edges = [e for e in self.edges if node_id not in (e.source, e.target)]


def _describe(node: Node, with_schemas: bool) -> dict[str, Any]:
    """A node's ``type`` and ``data`` in ``to_json()``, by LangChain's rules for
    what can be a node without it: a pydantic model is a schema, anything else (a
    function, a Timeloom graph) ``unknown``."""
    described: dict[str, Any] = {}
    if inspect.isclass(node.data) and hasattr(node.data, "model_json_schema"):
        schema = node.data.model_json_schema() if with_schemas else node.id
        described = {"type": "schema", "data": schema}
    elif node.data is not None:
        described = {"type": "unknown", "data": node.id}
    if node.metadata is not None:
        described["metadata"] = node.metadata
    return described
