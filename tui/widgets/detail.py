"""The detail pane: the selected checkpoint in tabs (State, Writes, Metadata).

It renders what the app hands it; later features add tabs with
``DetailPane.tabs.add_pane(...)``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.widgets import Static, TabbedContent, TabPane

from timeloom.core.checkpoint import Checkpoint, CheckpointMeta, PendingWrite
from timeloom.tui.ops.plural import counted
from timeloom.tui.ops.safetext import json_text
from timeloom.tui.ops.subgraphs import breadcrumb, named_in
from timeloom.tui.widgets.checkpoint_tree import node_label
from timeloom.tui.widgets.formatting import (
    FORK_MARK,
    STATUS_ICONS,
    SUBGRAPH_MARK,
    format_size,
    format_timestamp,
    glyph,
    to_plain,
)
from timeloom.tui.widgets.labels import markup, markup_lines
from timeloom.tui.widgets.value_tree import ValueTree

TABS = ("state", "writes", "meta")
"""The ids of the tabs, in order (keys 1, 2, 3)."""


def _link(thread_id: str, checkpoint_id: str, text: str) -> str:
    # Action arguments are Python literals; repr() quotes ids safely.
    return (
        f"[@click=app.goto_checkpoint({thread_id!r},{checkpoint_id!r})]"
        f"{markup(text)}[/]"
    )


def _subgraph_link(timeline: str) -> str:
    # As _link: the timeline is a Python literal in the action, text in the label.
    return (
        f"[@click=app.into_subgraph({timeline!r})]"
        f"{markup(f'{SUBGRAPH_MARK} {breadcrumb(timeline)}')}[/]"
    )


class DetailPane(Vertical):
    """Tabs about one checkpoint; only the selected checkpoint's values are shown.

    Only the visible tab is drawn; the others are drawn when they are shown, so
    moving through a long history costs one tab's rendering per step.
    """

    DEFAULT_CSS = """
    DetailPane {
        height: 1fr;
    }
    """

    def __init__(
        self,
        *,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
        disabled: bool = False,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes, disabled=disabled)
        self.checkpoint: Checkpoint | None = None
        """The checkpoint shown (``None`` while nothing is, or it is loading)."""
        self.meta: CheckpointMeta | None = None
        """Its summary."""
        self._forks: Sequence[CheckpointMeta] = ()
        self._notice: str = ""
        self._drawn: set[str] = set()
        self._texts: dict[str, str] = {}

    def compose(self) -> ComposeResult:
        with TabbedContent(id="detail-tabs"):
            with TabPane("State", id="state"):
                yield Static("", id="state-header", classes="detail-header")
                yield ValueTree(id="state-tree")
            with TabPane("Writes", id="writes"):
                yield Static("", id="writes-header", classes="detail-header")
                yield ValueTree(id="writes-tree")
            with TabPane("Metadata", id="meta"), VerticalScroll(id="meta-scroll"):
                yield Static("", id="meta-body")

    @on(TabbedContent.TabActivated)
    def _tab_shown(self) -> None:
        self._draw()

    @property
    def tabs(self) -> TabbedContent:
        """The tabbed content, for switching and adding tabs."""
        return self.query_one("#detail-tabs", TabbedContent)

    def show_nothing(self, text: str = "No checkpoint selected.") -> None:
        """Show an empty pane with a hint."""
        self.checkpoint, self.meta, self._forks = None, None, ()
        self._notice = f"[$text-muted]{markup_lines(text)}[/]"
        self._redraw()

    def show_loading(self, meta: CheckpointMeta) -> None:
        """Show what the summary already tells while the values load."""
        self.checkpoint, self.meta, self._forks = None, meta, ()
        self._notice = f"[$text-muted]Loading step {markup(meta.step)} ({markup(node_label(meta))})…[/]"
        self._redraw()

    def show_checkpoint(
        self, checkpoint: Checkpoint, meta: CheckpointMeta | None
    ) -> None:
        """Show a loaded checkpoint.

        Args:
            checkpoint: the checkpoint with its values.
            meta: its summary, when known (for the stored size).
        """
        self.checkpoint, self.meta, self._forks = checkpoint, meta, ()
        self._notice = ""
        self._redraw()

    def show_forks(self, meta: CheckpointMeta, forks: Sequence[CheckpointMeta]) -> None:
        """Add the checkpoint's forks into other threads to the metadata tab."""
        self.meta, self._forks = meta, forks
        self._drawn.discard("meta")
        self._draw()

    def show_error(self, title: str, message: str) -> None:
        """Say that the selected checkpoint could not be shown (the app keeps going)."""
        self.checkpoint = None
        self._notice = f"[$error][b]{markup(title)}[/b]\n{markup_lines(message)}[/]"
        self._redraw()

    def _redraw(self) -> None:
        self._drawn.clear()
        self._draw()

    def _draw(self) -> None:
        tab = self.tabs.active
        if tab in self._drawn or tab not in TABS:
            return
        self._drawn.add(tab)
        checkpoint = self.checkpoint
        if tab == "meta":
            self._set("#meta-body", _metadata(self.meta, checkpoint, self._forks))
            return
        tree = self.query_one(f"#{tab}-tree", ValueTree)
        if checkpoint is None:
            self._set(f"#{tab}-header", self._notice)
            tree.clear()
        elif tab == "state":
            count = len(checkpoint.values)
            self._set(
                "#state-header",
                f"[b]step {markup(checkpoint.step)}[/b] · {counted(count, 'key')}"
                f" · next: {markup(', '.join(checkpoint.next) or '(done)')}",
            )
            tree.show_values(checkpoint.values)
        else:
            self._set("#writes-header", _writes_header(checkpoint))
            tree.show_values(_writes_values(checkpoint), expand_depth=3)

    def _set(self, selector: str, text: str) -> None:
        """Update a Static; lay the screen out again only if its height may change."""
        old = self._texts.get(selector)
        if old == text:
            return
        self._texts[selector] = text
        static = self.query_one(selector, Static)
        same_height = (
            old is not None
            and old.count("\n") == text.count("\n")
            and _widest(old) <= static.size.width
            and _widest(text) <= static.size.width
        )
        static.update(text, layout=not same_height)


def _widest(text: str) -> int:
    """The width of the widest line of the markup ``text`` as displayed."""
    return max(line.cell_length for line in Content.from_markup(text).split("\n"))


def _writes_header(checkpoint: Checkpoint) -> str:
    parts = [f"{counted(len(checkpoint.writes), 'node')} wrote in this step"]
    errors, interrupts = checkpoint.errors, checkpoint.interrupts
    pending = [w for w in checkpoint.pending_writes if w.kind == "update"]
    if pending:
        parts.append(counted(len(pending), "pending write"))
    text = " · ".join(parts)
    for error in errors:
        value = error.value if isinstance(error.value, Mapping) else {}
        text += (
            f"\n[$error]{STATUS_ICONS['failed']} {markup(error.node)} raised "
            f"{markup(str(value.get('type', 'an error')))}: "
            f"{markup(str(value.get('message', '')))}[/]"
        )
    for intr in interrupts:
        text += (
            f"\n[$warning]{STATUS_ICONS['paused']} {markup(intr.node)} is waiting "
            f"for an answer[/]"
        )
    return text


def _writes_values(checkpoint: Checkpoint) -> dict[str, Any]:
    out: dict[str, Any] = {name: update for name, update in checkpoint.writes.items()}
    groups: dict[str, list[PendingWrite]] = {}
    for write in checkpoint.pending_writes:
        groups.setdefault(write.kind, []).append(write)
    labels = {
        "update": "pending writes",
        "error": "errors",
        "interrupt": "interrupts",
        "resume": "resume values",
    }
    for kind, label in labels.items():
        if kind in groups:
            out[glyph(f"«{label}»", f"<{label}>")] = [
                {"node": w.node, **_as_dict(w.value)} for w in groups[kind]
            ]
    return out


def _as_dict(value: Any) -> dict[str, Any]:
    return dict(value) if isinstance(value, Mapping) else {"value": value}


_LONG_ROWS = frozenset({"checkpoint", "parent", "created", "forks", "subgraphs"})


def _metadata(
    meta: CheckpointMeta | None,
    checkpoint: Checkpoint | None,
    forks: Sequence[CheckpointMeta] | None,
) -> str:
    source = checkpoint if checkpoint is not None else meta
    if source is None:
        return ""
    rows: list[tuple[str, str]] = [
        ("checkpoint", markup(source.id)),
        ("thread", markup(source.thread_id)),
    ]
    if source.parent_id is None:
        rows.append(("parent", "[$text-muted](none: the first checkpoint)[/]"))
    else:
        parent_thread = source.parent_thread_id or source.thread_id
        where = "" if parent_thread == source.thread_id else f"  in {parent_thread}"
        rows.append(
            ("parent", _link(parent_thread, source.parent_id, source.parent_id + where))
        )
    rows += [
        ("step", markup(source.step)),
        ("source", markup(source.source)),
        ("created", format_timestamp(source.created_at)),
        ("next", markup(", ".join(source.next)) or "[$text-muted](done)[/]"),
    ]
    if meta is not None:
        rows.append(("nodes", markup(", ".join(meta.nodes)) or "—"))
        rows.append(("size", format_size(meta.size)))
    if forks:
        links = "\n".join(
            _link(f.thread_id, f.id, f"{FORK_MARK} {f.thread_id} ({f.source})")
            for f in forks
        )
        rows.append(("forks", links))
    ran = named_in(source.metadata, source.thread_id)
    if ran:  # what i goes into; a click goes too
        rows.append(("subgraphs", "\n".join(_subgraph_link(t) for t in ran)))
    width = max(len(k) for k, _ in rows) + 2
    lines = []
    for key, value in rows:
        if key in _LONG_ROWS:  # ids and timestamps get a line of their own
            lines.append(f"[b]{key}[/b]\n{value}")
        else:
            pad = "\n" + " " * width
            lines.append(f"[b]{key.ljust(width)}[/b]{value.replace(chr(10), pad)}")
    metadata = source.metadata
    lines.append("")
    lines.append("[b]metadata[/b]" + ("" if metadata else "  [$text-muted](empty)[/]"))
    for key, value in metadata.items():
        # JSON, as the State tab and the editor write values (not Python's repr).
        shown = json_text(to_plain(value), indent=None)
        lines.append(f"  {markup(str(key))}: {markup(shown)}")
    return "\n".join(lines)
