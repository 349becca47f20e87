"""The diff screen (two checkpoints side by side in time), and the edit preview."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen, Screen
from textual.widgets import Button, Footer, Static

from timeloom.core.checkpoint import Checkpoint
from timeloom.tui.widgets.diff_view import DiffView
from timeloom.tui.widgets.labels import markup_lines


def describe(checkpoint: Checkpoint | None) -> str:
    """``thread @ step N (nodes) id`` for a screen title."""
    if checkpoint is None:
        return "(nothing: the first checkpoint)"
    nodes = ", ".join(checkpoint.writes) or checkpoint.source
    return f"{checkpoint.thread_id} @ step {checkpoint.step} ({nodes}) {checkpoint.id}"


class DiffScreen(Screen[None]):
    """What changed from a base checkpoint to another one.

    The caller gives both checkpoints (the base is usually the parent, also across
    a fork, or a marked checkpoint in any thread: see
    :func:`~timeloom.tui.ops.actions.load_diff_base`). The diff runs in the view's thread
    worker, so a diff of two large states never blocks the app; leaving the screen
    cancels it.

    | Key | Action |
    | :- | :- |
    | escape | Close. |
    | s | Swap the two sides. |
    | u | Show or hide the unchanged keys. |
    | enter | In the summary of a large state: the full diff of one key. |
    | backspace | Back to the summary of a large state. |
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close"),
        Binding("s", "swap", "Swap sides"),
    ]

    DEFAULT_CSS = """
    DiffScreen #diff-title {
        height: auto;
        padding: 0 1;
        background: $panel;
    }
    DiffScreen #diff-title .side-label {
        color: $text-muted;
    }
    """

    def __init__(
        self,
        new: Checkpoint,
        base: Checkpoint | None,
        *,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        """Compare ``base`` to ``new``.

        Args:
            new: the checkpoint to show the changes of.
            base: the checkpoint to compare with (None: the first checkpoint of a
                thread, compared with nothing).
        """
        super().__init__(name=name, id=id, classes=classes)
        self.new = new
        self.base = base

    def compose(self) -> ComposeResult:
        with Vertical(id="diff-title"):
            yield Static(id="diff-from")
            yield Static(id="diff-to")
        yield DiffView(id="diff-view")
        yield Footer()

    def on_mount(self) -> None:
        self._show_title()
        self._compare()

    def action_close(self) -> None:
        """Close the diff (cancels the diff if it is still running)."""
        self.dismiss()

    def action_swap(self) -> None:
        """Compare the other way round."""
        if self.base is None:
            self.notify("There is nothing to swap with.", severity="warning")
            return
        self.base, self.new = self.new, self.base
        self._show_title()
        self._compare()

    def _compare(self) -> None:
        old: Mapping[str, Any] = self.base.values if self.base is not None else {}
        self.query_one(DiffView).compare(old, self.new.values)

    def _show_title(self) -> None:
        self.query_one("#diff-from", Static).update(
            f"[$text-error]−[/] [dim]from[/] {markup_lines(describe(self.base))}"
        )
        self.query_one("#diff-to", Static).update(
            f"[$text-success]+[/] [dim]to  [/] {markup_lines(describe(self.new))}"
        )


class ConfirmDiffScreen(ModalScreen[bool]):
    """Shows the diff an edit would write and asks to save it (True) or go back.

    | Key | Action |
    | :- | :- |
    | ctrl+s | Save. |
    | escape | Back to the editor. |
    | u | Show or hide the unchanged keys. |
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "save", "Save"),
        Binding("escape", "back", "Back"),
        Binding("u", "toggle_unchanged", "Unchanged"),
    ]

    DEFAULT_CSS = """
    ConfirmDiffScreen {
        align: center middle;
    }
    ConfirmDiffScreen > #confirm-dialog {
        width: 90%;
        height: 80%;
        border: thick $primary;
        background: $surface;
        padding: 0 1;
    }
    ConfirmDiffScreen #confirm-note {
        height: auto;
        color: $text-muted;
    }
    ConfirmDiffScreen #confirm-buttons {
        height: auto;
        align-horizontal: right;
    }
    ConfirmDiffScreen #confirm-buttons Button {
        margin-left: 2;
    }
    """

    def __init__(
        self,
        old: Mapping[str, Any],
        new: Mapping[str, Any],
        *,
        title: str = "Save this edit?",
        note: str = "",
        confirm: str = "Save",
    ) -> None:
        super().__init__()
        self.old = old
        self.new = new
        self.dialog_title = title
        self.note = note
        self.confirm = confirm

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm-dialog") as dialog:
            dialog.border_title = self.dialog_title
            if self.note:
                yield Static(markup_lines(self.note), id="confirm-note")
            yield DiffView(id="confirm-diff")
            with Horizontal(id="confirm-buttons"):
                yield Button("Back", id="confirm-back")
                yield Button(self.confirm, variant="primary", id="confirm-save")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(DiffView).compare(self.old, self.new)
        self.query_one("#confirm-save", Button).focus()

    def action_toggle_unchanged(self) -> None:
        """Show or hide the unchanged keys."""
        self.query_one(DiffView).action_toggle_unchanged()

    @on(Button.Pressed, "#confirm-save")
    def action_save(self) -> None:
        """Save the edit."""
        self.dismiss(True)

    @on(Button.Pressed, "#confirm-back")
    def action_back(self) -> None:
        """Go back to the editor."""
        self.dismiss(False)
