"""Choose which subgraph to go into, when a checkpoint ran several (parallel
subgraph nodes, or one node run as several tasks)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from timeloom.core.checkpoint import CheckpointMeta
from timeloom.tui.ops.subgraphs import short_name
from timeloom.tui.widgets.formatting import SUBGRAPH_MARK
from timeloom.tui.widgets.labels import label


class SubgraphPick(ModalScreen[str | None]):
    """Lists the subgraph timelines a checkpoint ran; dismisses with the chosen one.

    | Key | Action |
    | :- | :- |
    | up / down | Move. |
    | enter | Go into the subgraph. |
    | escape | Cancel. |
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel"),
    ]

    DEFAULT_CSS = """
    SubgraphPick {
        align: center middle;
        background: $background 60%;
    }
    SubgraphPick #subgraph-dialog {
        width: 64;
        max-width: 95%;
        height: auto;
        max-height: 80%;
        border: thick $primary;
        background: $surface;
        padding: 0 1;
    }
    SubgraphPick OptionList {
        height: auto;
        max-height: 16;
    }
    """

    def __init__(self, meta: CheckpointMeta, timelines: Sequence[str]) -> None:
        """Args:
        meta: the checkpoint that ran the subgraphs.
        timelines: their timeline ids (``"thread|ns"``), shown as their nodes and
            short task ids, never read as markup.
        """
        super().__init__()
        self.meta = meta
        self.timelines = list(timelines)

    def compose(self) -> ComposeResult:
        with Vertical(id="subgraph-dialog") as dialog:
            dialog.border_title = f"{SUBGRAPH_MARK} Go into which subgraph?"
            yield Static(
                label(
                    f"Step {self.meta.step} of {self.meta.thread_id} ran "
                    f"{len(self.timelines)} subgraphs."
                )
            )
            yield OptionList(
                *(
                    Option(Text.assemble(f"{SUBGRAPH_MARK} ", label(short_name(t))), t)
                    for t in self.timelines
                ),
                id="subgraph-options",
            )

    @on(OptionList.OptionSelected)
    def _picked(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        """Go nowhere."""
        self.dismiss(None)
