"""Dialogs of the investigation tools: a query to search a thread with, the
provenance of a value (the checkpoints where it changed), and a thread's storage."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Footer, Input, OptionList, Static
from textual.widgets.option_list import Option

from timeloom.tui.investigate.blame import Provenance
from timeloom.tui.investigate.query import QueryError, compile_query
from timeloom.tui.ops.plural import counted
from timeloom.tui.ops.safetext import safe
from timeloom.tui.widgets.labels import label

QUERY_HELP = (
    "A JMESPath query over each checkpoint: values, metadata, step, source, nodes, "
    "next. E.g.  values.refund.amount > `500`   ·   "
    "values.messages[?contains(content, 'timeout')]   ·   nodes[0] == 'tool'"
)


class QueryScreen(ModalScreen[str | None]):
    """Ask for a JMESPath query; it is checked as you type.

    | Key | Action |
    | :- | :- |
    | enter | Search. |
    | escape | Cancel. |
    """

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    DEFAULT_CSS = """
    QueryScreen { align: center middle; }
    QueryScreen > #query-dialog {
        width: 90%; max-width: 90; height: auto; border: thick $primary;
        background: $surface; padding: 1 2;
    }
    QueryScreen #query-help { color: $text-muted; margin-bottom: 1; }
    QueryScreen #query-problem { color: $text-error; height: auto; }
    """

    def __init__(self, thread_id: str, query: str = "") -> None:
        super().__init__()
        self.thread_id = thread_id
        self.initial = query

    def compose(self) -> ComposeResult:
        with Vertical(id="query-dialog") as dialog:
            dialog.border_title = Text.assemble("Search ", label(self.thread_id))
            yield Static(QUERY_HELP, id="query-help", markup=False)
            yield Input(self.initial, placeholder="JMESPath query", id="query-input")
            yield Static("", id="query-problem", markup=False)
        yield Footer()

    @on(Input.Changed, "#query-input")
    def _check(self, event: Input.Changed) -> None:
        problem = ""
        if event.value.strip():
            try:
                compile_query(event.value)
            except QueryError as exc:
                problem = exc.msg
        self.query_one("#query-problem", Static).update(problem)

    @on(Input.Submitted, "#query-input")
    def _submit(self, event: Input.Submitted) -> None:
        try:
            compile_query(event.value)
        except QueryError as exc:
            self.query_one("#query-problem", Static).update(exc.msg)
            return
        self.dismiss(event.value)

    def action_cancel(self) -> None:
        """Close without searching."""
        self.dismiss(None)


class ProvenanceScreen(ModalScreen[str | None]):
    """The checkpoints where a value changed, oldest first; enter jumps to one.

    | Key | Action |
    | :- | :- |
    | enter | Go to the checkpoint. |
    | escape | Close. |
    """

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Close")]

    DEFAULT_CSS = """
    ProvenanceScreen { align: center middle; }
    ProvenanceScreen > #provenance-dialog {
        width: 90%; height: 70%; border: thick $primary; background: $surface;
        padding: 0 1;
    }
    ProvenanceScreen OptionList { height: 1fr; }
    ProvenanceScreen #provenance-summary { color: $text-muted; }
    """

    def __init__(self, path: str, changes: Sequence[Provenance], checked: int) -> None:
        super().__init__()
        self.path = path
        self.changes = list(changes)
        self.checked = checked

    def compose(self) -> ComposeResult:
        with Vertical(id="provenance-dialog") as dialog:
            dialog.border_title = Text.assemble("Who changed ", label(self.path))
            yield Static(
                f"{counted(len(self.changes), 'change')} along "
                f"{counted(self.checked, 'checkpoint')} "
                "of this branch, oldest first",
                id="provenance-summary",
                markup=False,
            )
            yield OptionList(
                *(
                    Option(self._line(change), id=change.meta.id)
                    for change in self.changes
                ),
                id="provenance-list",
            )
        yield Footer()

    @staticmethod
    def _line(change: Provenance) -> Text:
        meta = change.meta
        nodes = safe(", ".join(n for n in meta.nodes) or "-")
        return Text.assemble(
            (f"step {meta.step:>4}  ", "bold"),
            (f"{nodes:<16} ", ""),
            (f"{meta.source:<6}  ", "dim"),
            change.diff,
        )

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        """Close."""
        self.dismiss(None)


class StorageScreen(ModalScreen[None]):
    """What a thread costs in storage: per key, the bytes stored and shared (or
    re-stored, on LangGraph), and a sparkline of its growth over the checkpoints.

    | Key | Action |
    | :- | :- |
    | escape | Close. |
    """

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Close")]

    DEFAULT_CSS = """
    StorageScreen { align: center middle; }
    StorageScreen > #storage-dialog {
        width: 90%; height: auto; max-height: 80%; border: thick $primary;
        background: $surface; padding: 0 1;
    }
    StorageScreen #storage-report { height: auto; }
    """

    def __init__(self, thread_id: str, lines: Sequence[str]) -> None:
        super().__init__()
        self.thread_id = thread_id
        self.lines = list(lines)

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="storage-dialog") as dialog:
            dialog.border_title = Text.assemble("Storage of ", label(self.thread_id))
            yield Static(Text("\n".join(self.lines)), id="storage-report")
        yield Footer()

    def action_cancel(self) -> None:
        """Close."""
        self.dismiss(None)
