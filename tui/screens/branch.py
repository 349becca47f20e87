"""Ask for the name of a new thread to branch a checkpoint into."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Footer, Input, Static

from timeloom.core.checkpoint import Checkpoint
from timeloom.tui.ops.actions import check_thread_name
from timeloom.tui.screens.diff import describe
from timeloom.tui.widgets.labels import markup_lines


@dataclass(frozen=True, slots=True)
class BranchRequest:
    """The new thread's name, and whether to edit the values before branching."""

    thread_id: str
    edit_first: bool
    ancestry: bool = False
    """Copy the checkpoint's ancestors into the new thread too."""


class BranchScreen(ModalScreen[BranchRequest | None]):
    """Name the new thread (a free name is suggested) and branch.

    | Key | Action |
    | :- | :- |
    | enter | Branch. |
    | escape | Cancel. |
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel"),
    ]

    DEFAULT_CSS = """
    BranchScreen {
        align: center middle;
    }
    BranchScreen > #branch-dialog {
        width: 72;
        height: auto;
        border: thick $primary;
        background: $surface;
        padding: 1 2;
    }
    BranchScreen #branch-from {
        color: $text-muted;
        margin-bottom: 1;
    }
    BranchScreen #branch-problem {
        height: auto;
        color: $text-error;
    }
    BranchScreen #branch-buttons {
        height: auto;
        align-horizontal: right;
        margin-top: 1;
    }
    BranchScreen #branch-buttons Button {
        margin-left: 2;
    }
    """

    def __init__(
        self,
        checkpoint: Checkpoint,
        suggestion: str,
        *,
        taken: Collection[str] = (),
        can_edit: bool = True,
        offer_ancestry: bool = False,
    ) -> None:
        """Ask where to branch ``checkpoint``.

        Args:
            checkpoint: the checkpoint to branch from.
            suggestion: the name shown at first (see ``suggest_branch_name``).
            taken: thread names known to exist, refused as you type (the action
                checks the database again).
            can_edit: offer "edit the values first".
            offer_ancestry: offer "copy its history too" (LangGraph databases).
        """
        super().__init__()
        self.checkpoint = checkpoint
        self.suggestion = suggestion
        self.taken = set(taken)
        self.can_edit = can_edit
        self.offer_ancestry = offer_ancestry

    def compose(self) -> ComposeResult:
        with Vertical(id="branch-dialog") as dialog:
            dialog.border_title = "Branch into a new thread"
            yield Static(
                markup_lines(f"From {describe(self.checkpoint)}"), id="branch-from"
            )
            yield Input(
                self.suggestion,
                placeholder="the new thread's name",
                id="branch-name",
                select_on_focus=True,
            )
            yield Static("", id="branch-problem")
            if self.can_edit:
                yield Checkbox("Edit the values first", id="branch-edit")
            if self.offer_ancestry:
                yield Checkbox(
                    "Copy its history too (else the new thread starts here)",
                    id="branch-ancestry",
                )
            with Horizontal(id="branch-buttons"):
                yield Button("Cancel", id="branch-cancel")
                yield Button("Branch", variant="primary", id="branch-ok")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    @on(Input.Changed, "#branch-name")
    def _name_changed(self, event: Input.Changed) -> None:
        problem = self.problem(event.value)
        self.query_one("#branch-problem", Static).update(markup_lines(problem or ""))
        self.query_one("#branch-ok", Button).disabled = problem is not None

    @on(Input.Submitted, "#branch-name")
    @on(Button.Pressed, "#branch-ok")
    def _submit(self) -> None:
        name = self.query_one(Input).value
        problem = self.problem(name)
        if problem is not None:
            self.query_one("#branch-problem", Static).update(markup_lines(problem))
            return
        edit_first = self.can_edit and self.query_one("#branch-edit", Checkbox).value
        ancestry = (
            self.offer_ancestry and self.query_one("#branch-ancestry", Checkbox).value
        )
        self.dismiss(BranchRequest(name, edit_first, ancestry))

    @on(Button.Pressed, "#branch-cancel")
    def action_cancel(self) -> None:
        """Close without branching."""
        self.dismiss(None)

    def problem(self, name: str) -> str | None:
        """Why ``name`` cannot be used, or None."""
        problem = check_thread_name(name)
        if problem is None and name in self.taken:
            problem = f"A thread named {name!r} already exists."
        return problem
