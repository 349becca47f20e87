"""A dialog for an action that failed: the app keeps running behind it."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from timeloom.tui.widgets.labels import markup_lines


class ErrorModal(ModalScreen[None]):
    """Shows an error's title, a one-line header and the details.

    | Key | Action |
    | :- | :- |
    | escape / enter | Close. |
    | c / ctrl+c | Copy the details. |
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,enter", "dismiss", "Close"),
        Binding("c,ctrl+c", "copy", "Copy details"),
    ]

    def __init__(self, title: str, header: str, text: str = "") -> None:
        super().__init__()
        self.error_title = title
        self.header = header
        self.text = text

    def compose(self) -> ComposeResult:
        with Vertical(id="error-dialog") as dialog:
            dialog.border_title = self.error_title
            yield Static(markup_lines(self.header), id="error-header")
            if self.text:
                with VerticalScroll(id="error-scroll"):
                    yield Static(markup_lines(self.text), id="error-text")
            yield Button("Close", variant="error", id="error-close")

    def on_mount(self) -> None:
        self.query_one("#error-close", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss()

    def action_copy(self) -> None:
        """Copy the error to the clipboard."""
        self.app.copy_to_clipboard(f"{self.error_title}\n{self.header}\n{self.text}")
        self.notify("Error details copied")
