"""A :class:`~timeloom.core.drawing.DrawableGraph` as Mermaid flowchart text, the
same text LangChain's ``Graph.draw_mermaid`` writes for the same graph: the front
matter, the nodes (``__start__`` and ``__end__`` as stadiums when they are the one
first and last node), the edges, a ``subgraph`` block for each expanded subgraph
(node ids ``parent:child``), and the node classes.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from timeloom.core.drawing import DrawableGraph, Edge, Node

_SAFE_ID = frozenset(string.ascii_letters + string.digits + "_-")
_MARKDOWN = ("*", "_", "`")
"""A label starting and ending with one of these is wrapped in ``<p>`` so Mermaid
does not read it as Markdown (``__start__`` would be bold)."""
_LABEL_ESCAPES = {
    "[": "#91;",
    "]": "#93;",
    "(": "#40;",
    ")": "#41;",
    "{": "#123;",
    "}": "#125;",
    '"': "#quot;",
    "<": "#60;",
    ">": "#62;",
    "|": "#124;",
}
_CLASSES = (
    ("default", "fill:#f2f0ff,line-height:1.2"),
    ("first", "fill-opacity:0"),
    ("last", "fill:#bfb6fc"),
)


def draw_mermaid(
    graph: DrawableGraph,
    *,
    with_styles: bool,
    curve: str,
    node_colors: Any,
    wrap_label_n_words: int,
    frontmatter_config: Mapping[str, Any],
) -> str:
    """The Mermaid text of ``graph`` (see :meth:`DrawableGraph.draw_mermaid`).

    Raises:
        ValueError: two subgraph blocks would have the same name.
    """
    first, last = graph.first_node(), graph.last_node()
    shapes = {"": "{0}({1})"}
    if first is not None:
        shapes[first.id] = "{0}([{1}]):::first"
    if last is not None:
        shapes[last.id] = "{0}([{1}]):::last"

    def node_line(node: Node) -> str:
        name = node.name.split(":")[-1]
        label = (
            f"<p>{name}</p>"
            if name.startswith(_MARKDOWN) and name.endswith(_MARKDOWN)
            else name
        )
        if notes := _metadata_lines(node.metadata or {}):
            label += "<hr/><small><em>" + "\n".join(notes) + "</em></small>"
        return "\t" + shapes.get(node.id, shapes[""]).format(_safe_id(node.id), label)

    top: list[Node] = []
    inside: dict[str, list[Node]] = {}  # a subgraph's prefix: its nodes
    for node in graph.nodes.values():
        if ":" in node.id:
            inside.setdefault(node.id.rsplit(":", 1)[0], []).append(node)
        else:
            top.append(node)
    groups: dict[str, list[Edge]] = {}  # edges by the parts their ends share
    for edge in graph.edges:
        pairs = zip(edge.source.split(":"), edge.target.split(":"), strict=False)
        groups.setdefault(":".join(s for s, t in pairs if s == t), []).append(edge)

    lines = ["graph TD;"]
    if with_styles:
        config = dict(frontmatter_config)
        given = dict(config.get("config") or {})
        flowchart = {**(given.get("flowchart") or {}), "curve": curve}
        config["config"] = {**given, "flowchart": flowchart}
        lines[:0] = ["---", *_yaml(config), "---"]
        lines += [node_line(node) for node in top]
    blocks: set[str] = set()

    def block(edges: list[Edge], prefix: str) -> None:
        self_loop = len(edges) == 1 and edges[0].source == edges[0].target
        wrapped = bool(prefix) and not self_loop
        if wrapped:
            name = prefix.rsplit(":", 1)[-1]
            if name in blocks:
                raise ValueError(
                    f"Found duplicate subgraph '{name}': two subgraph nodes share "
                    "this name; give them unique names to draw them"
                )
            blocks.add(name)
            lines.append(f"\tsubgraph {name}")
            if with_styles:
                lines.extend(node_line(node) for node in inside.get(prefix, ()))
        lines.extend(_edge_line(edge, wrap_label_n_words) for edge in edges)
        for nested, nested_edges in groups.items():
            rest = nested[len(prefix) + 1 :]
            if nested.startswith(prefix + ":") and rest and ":" not in rest:
                block(nested_edges, nested)
        if wrapped:
            lines.append("\tend")

    block(groups.get("", []), "")
    for prefix, edges in groups.items():
        if prefix and ":" not in prefix:
            block(edges, prefix)
            blocks.add(prefix)
    if with_styles:
        for prefix, nodes in inside.items():
            if ":" not in prefix and prefix not in blocks:
                lines.append(f"\tsubgraph {prefix}")
                lines.extend(node_line(node) for node in nodes)
                lines.append("\tend")
        for name, style in _CLASSES:
            lines.append(f"\tclassDef {name} {getattr(node_colors, name, style)}")
    return "\n".join(lines) + "\n"


def _edge_line(edge: Edge, wrap_words: int) -> str:
    source, target = _safe_id(edge.source), _safe_id(edge.target)
    if edge.data is None:
        arrow = " -.-> " if edge.conditional else " --> "
        return f"\t{source}{arrow}{target};"
    words = str(edge.data).split()
    label = (
        "&nbsp<br>&nbsp".join(
            " ".join(words[i : i + wrap_words])
            for i in range(0, len(words), wrap_words)
        )
        if len(words) > wrap_words
        else str(edge.data)
    )
    if edge.conditional:
        return f"\t{source} -. &nbsp;{label}&nbsp; .-> {target};"
    return f"\t{source} -- &nbsp;{label}&nbsp; --> {target};"


def _safe_id(node_id: str) -> str:
    """A node id Mermaid accepts: other characters than letters, digits, ``_`` and
    ``-`` as a backslash and their code point in hex (``a:b`` is ``a\\3ab``)."""
    return "".join(c if c in _SAFE_ID else f"\\{ord(c):x}" for c in node_id)


def _metadata_lines(metadata: Mapping[str, Any]) -> list[str]:
    """``key = value`` for each scalar (or list of scalars) in a node's metadata."""
    scalars = (str, int, float, bool)
    lines = []
    for key, value in metadata.items():
        if isinstance(value, scalars):
            text = str(value)
        elif isinstance(value, list | tuple | set) and all(
            isinstance(item, scalars) for item in value
        ):
            items = [str(item) for item in value]
            text = ", ".join(sorted(items) if isinstance(value, set) else items)
        else:
            continue
        line = f"{key} = {text}".replace("#", "#35;")
        for char, entity in _LABEL_ESCAPES.items():
            line = line.replace(char, entity)
        lines.append(line)
    return lines


_PLAIN = re.compile(r"[A-Za-z][\w .-]*")
_YAML_WORDS = frozenset(("true", "false", "yes", "no", "on", "off", "null"))


def _yaml(value: Mapping[str, Any], indent: str = "") -> list[str]:
    """The front matter's YAML: keys sorted and block style, as LangChain's (which
    uses PyYAML)."""
    lines = []
    for key in sorted(value):
        item = value[key]
        if isinstance(item, Mapping):
            lines += [f"{indent}{_yaml_text(key)}:", *_yaml(item, indent + "  ")]
        elif isinstance(item, bool):
            lines.append(f"{indent}{_yaml_text(key)}: {str(item).lower()}")
        elif isinstance(item, str):
            lines.append(f"{indent}{_yaml_text(key)}: {_yaml_text(item)}")
        else:
            lines.append(f"{indent}{_yaml_text(key)}: {item}")
    return lines


def _yaml_text(text: str) -> str:
    """A string as YAML: as it is when it is a plain word, else single-quoted."""
    if _PLAIN.fullmatch(text) and text.lower() not in _YAML_WORDS:
        return text
    return "'" + text.replace("'", "''") + "'"
