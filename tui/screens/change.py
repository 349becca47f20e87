"""One change of a diff, whole: the line diff of a long string and the full values
before and after (the list of changes shows only their start)."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Footer, Static

from timeloom.tui.ops.diffing import Change
from timeloom.tui.ops.safetext import json_text, safe, safe_lines
from timeloom.tui.widgets.formatting import to_plain


def full_text(value: Any) -> str:
    """A value whole: a string as its text, anything else as indented JSON."""
    if isinstance(value, str):
        return value
    return json_text(to_plain(value))


class ChangeScreen(ModalScreen[None]):
    """The whole of one change: what a diff's row could only begin to show.

    | Key | Action |
    | :- | :- |
    | escape / enter | Back to the diff. |
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,enter,q", "dismiss", "Back"),
    ]

    DEFAULT_CSS = """
    ChangeScreen {
        align: center middle;
        background: $background 60%;
    }
    ChangeScreen #change-dialog {
        width: 95%;
        height: 90%;
        border: round $primary;
        border-title-color: $text-primary;
        background: $surface;
    }
    ChangeScreen .change-heading {
        text-style: bold;
        margin-top: 1;
    }
    """

    def __init__(self, change: Change) -> None:
        super().__init__()
        self.change = change

    def compose(self) -> ComposeResult:
        change = self.change
        with Vertical(id="change-dialog") as dialog:
            dialog.border_title = safe(f"{change.path_text or 'state'} ({change.kind})")
            with VerticalScroll(id="change-scroll"):
                if change.lines:
                    yield Static("Line diff", classes="change-heading")
                    yield Static(_line_diff(change.lines), id="change-lines")
                if change.has_old:
                    yield Static("Before", classes="change-heading")
                    yield Static(
                        Text(safe_lines(full_text(change.old))), id="change-old"
                    )
                if change.has_new:
                    yield Static("After", classes="change-heading")
                    yield Static(
                        Text(safe_lines(full_text(change.new))), id="change-new"
                    )
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#change-scroll").focus()


def _line_diff(lines: tuple[str, ...]) -> Text:
    text = Text()
    for line in lines:
        style = (
            "green"
            if line.startswith("+")
            else "red"
            if line.startswith("-")
            else "cyan"
            if line.startswith("@@")
            else "dim"
        )
        text.append(safe(line) + "\n", style=style)
    return text
