"""A collapsible tree of values: a checkpoint's state, or what nodes wrote.

Children are created when a node is first expanded, so a state with thousands of
messages costs one line until it is opened. Every kind of value has its own look
(component classes styled with theme variables): numbers, strings (long ones folded,
expandable line by line), bytes by size, datetimes, UUIDs, and the codec's inert
stand-ins for unknown classes, labelled with their type name.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from rich.style import Style
from rich.text import Text
from textual import on
from textual.binding import Binding, BindingType
from textual.widgets import Tree
from textual.widgets.tree import TreeNode

from timeloom.tui.ops.safetext import safe
from timeloom.tui.widgets.formatting import (
    FOLD_AT,
    children_of,
    copy_text,
    glyph,
    path_text,
    summarize,
    type_label,
)
from timeloom.tui.widgets.labels import label

MAX_CHILDREN = 500
"""Members shown per container; the rest are summarised in one line."""

CHUNK = 100
"""Characters per line when a long string is unfolded."""


@dataclass(frozen=True, slots=True)
class ValueNode:
    """What a tree node shows: a value at a path (or a line of a long string)."""

    path: tuple[str | int, ...]
    value: Any
    line: str | None = None
    """For the lines of an unfolded string: the text of this line."""


class ValueTree(Tree[ValueNode]):
    """A lazily expanded tree of values.

    | Key | Action |
    | :- | :- |
    | enter / space | Expand or collapse. |
    | ctrl+c | Copy the value under the cursor (JSON, or the text of a string). |
    | y | Copy its path (``messages[0].content``). |
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+c", "copy_value", "Copy value"),
        Binding("y", "copy_path", "Copy path"),
    ]

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "value-tree--key",
        "value-tree--string",
        "value-tree--number",
        "value-tree--bool",
        "value-tree--null",
        "value-tree--time",
        "value-tree--id",
        "value-tree--bytes",
        "value-tree--container",
        "value-tree--type",
    }

    DEFAULT_CSS = """
    ValueTree {
        height: 1fr;
    }
    """

    def __init__(
        self,
        label: str = "",
        *,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
        disabled: bool = False,
    ) -> None:
        super().__init__(label, name=name, id=id, classes=classes, disabled=disabled)
        self.show_root = False
        self.guide_depth = 3

    def _invalidate(self) -> None:
        # Tree lays the whole screen out again whenever nodes change; the tree's own
        # size is fixed by the layout, and a new line count or width reaches the
        # layout through ``virtual_size`` when the lines are rebuilt. So a repaint
        # is enough, which keeps stepping through checkpoints cheap.
        self._clear_line_cache()
        self._updates += 1
        self.root._reset()
        self.refresh()

    @on(Tree.NodeExpanded)
    def _fill(self, event: Tree.NodeExpanded[ValueNode]) -> None:
        event.stop()
        node = event.node
        if not node.children and node.data is not None:
            self._add_members(node, node.data)

    def render_label(
        self, node: TreeNode[ValueNode], base_style: Style, style: Style
    ) -> Text:
        if node.data is None:
            return super().render_label(node, base_style, style)
        text = self.label_of(node.data)
        text.stylize(style)
        prefix = (
            (self.ICON_NODE_EXPANDED if node.is_expanded else self.ICON_NODE)
            if node.allow_expand
            else "  "
        )
        # A value wider than the pane ends in "…" where it is cut: a cut id read
        # as a whole one (enter shows a long string whole, ctrl+c copies it).
        room = self.scrollable_content_region.width - self._indent(node) - 2
        if 0 < room < text.cell_len:
            text.truncate(room, overflow="ellipsis")
        return Text.assemble((prefix, base_style), text)

    def label_of(self, data: ValueNode) -> Text:
        """What a node shows, whole: its key, type and value (or its line of a
        long string); drawn cut to the pane's width."""
        text = Text()
        if data.line is not None:
            text.append(safe(data.line), self._style("string"))
        else:
            key = data.path[-1] if data.path else "state"
            text.append(safe(key), self._style("key"))
            text.append("  ")
            container = children_of(data.value) is not None
            type_name = type_label(data.value) if container else None
            if type_name:
                text.append(
                    glyph(f"‹{safe(type_name)}› ", f"<{safe(type_name)}> "),
                    self._style("type"),
                )
            kind, summary = summarize(data.value)
            text.append(safe(summary), self._style(kind))
        return text

    def _indent(self, node: TreeNode[ValueNode]) -> int:
        """The cells of guides drawn left of ``node``'s label (the root is hidden)."""
        depth = 0
        parent = node.parent
        while parent is not None and parent is not self.root:
            depth += 1
            parent = parent.parent
        return depth * self.guide_depth

    def _style(self, kind: str) -> Style:
        return self.get_component_rich_style(f"value-tree--{kind}", partial=True)

    # -- actions -------------------------------------------------------------------

    def action_copy_value(self) -> None:
        """Copy the value under the cursor."""
        data = self._cursor_data()
        if data is not None:
            self.app.copy_to_clipboard(copy_text(data.value))
            self.notify(path_text(data.path) or "state", title="Copied value")

    def action_copy_path(self) -> None:
        """Copy the path of the value under the cursor."""
        data = self._cursor_data()
        if data is not None:
            text = path_text(data.path)
            self.app.copy_to_clipboard(text)
            self.notify(text or "(the whole state)", title="Copied path")

    # -- public --------------------------------------------------------------------

    def show_values(self, values: Mapping[str, Any], *, expand_depth: int = 0) -> None:
        """Show a mapping's items as the top-level nodes.

        Args:
            values: what to show.
            expand_depth: expand containers this many levels deep (0: all closed).
        """
        self.clear()
        self.root.data = ValueNode((), dict(values))
        self._add_members(self.root, self.root.data)
        self._expand(self.root, expand_depth)
        self.move_cursor_to_line(0)

    def _expand(self, node: TreeNode[ValueNode], depth: int) -> None:
        if depth <= 0:
            return
        for child in node.children:
            data = child.data
            if (
                child.allow_expand
                and data is not None
                and not isinstance(data.value, str)
            ):
                if not child.children:
                    self._add_members(child, data)
                child.expand()
                self._expand(child, depth - 1)

    def _cursor_data(self) -> ValueNode | None:
        node = self.cursor_node
        return node.data if node is not None else None

    def _add_members(self, node: TreeNode[ValueNode], data: ValueNode) -> None:
        if data.line is not None:
            return
        value = data.value
        if isinstance(value, str):
            for text_line in value.splitlines() or [""]:
                for start in range(0, max(len(text_line), 1), CHUNK):
                    piece = text_line[start : start + CHUNK]
                    node.add_leaf(label(piece), ValueNode(data.path, value, line=piece))
            return
        members = children_of(value) or []
        for key, member in members[:MAX_CHILDREN]:
            child = ValueNode((*data.path, key), member)
            if _expandable(member):
                node.add(label(key), child)
            else:
                node.add_leaf(label(key), child)
        if len(members) > MAX_CHILDREN:
            rest = len(members) - MAX_CHILDREN
            node.add_leaf(
                f"… {rest:,} more", ValueNode(data.path, value, line=f"… {rest:,} more")
            )


def _expandable(value: Any) -> bool:
    if isinstance(value, str):
        return len(value) > FOLD_AT or "\n" in value
    members = children_of(value)
    return bool(members)
