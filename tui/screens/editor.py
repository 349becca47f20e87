"""Edit a checkpoint's values as JSON, checked as you type, previewed before saving."""

from __future__ import annotations

import dataclasses
import importlib.metadata
from collections.abc import Sequence
from dataclasses import dataclass
from time import monotonic
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.message import Message
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Footer, Label, Select, Static, TextArea
from textual.widgets.text_area import LanguageDoesNotExist
from textual.worker import get_current_worker

from timeloom.core.checkpoint import Checkpoint
from timeloom.core.state import StateSchema
from timeloom.tui.ops.editcheck import ParsedEdit, graph_update, parse_edit
from timeloom.tui.ops.jsonedit import JsonEditError, dumps
from timeloom.tui.screens.diff import ConfirmDiffScreen, describe
from timeloom.tui.widgets.labels import markup_lines

INFER: str = "(inferred)"
"""The as-node choice that lets the runtime decide (the node that wrote the
checkpoint)."""
_CHECK_DELAY = 0.3
"""Seconds of quiet typing before the text is checked."""
_SHOWN_PROBLEMS = 3
HIGHLIGHT_LIMIT = 200_000
"""Characters above which the JSON is not highlighted: re-highlighting a 1 MB
document takes about a second per keystroke in Textual 8's TextArea."""
_DISCARD_WINDOW = 3.0
"""Seconds within which a second escape discards a changed text."""


@dataclass(frozen=True, slots=True)
class EditRequest:
    """What the editor returns when the user saves: the checked edit and its writer."""

    edit: ParsedEdit
    as_node: str | None
    """Whose update this is; None lets the runtime infer it."""
    text: str = ""
    """The text as the user wrote it (to open the editor again on it if writing
    fails)."""


class JsonTextArea(TextArea):
    """A TextArea that stops matching brackets in large documents.

    TextArea looks for the bracket matching the one under the cursor on every
    move, scanning up to the other end of the document: from the root ``{`` of a
    1 MB state that is a second per keystroke.
    """

    large: bool = False
    """Set for documents above :data:`HIGHLIGHT_LIMIT` characters."""

    def find_matching_bracket(
        self, bracket: str, search_from: tuple[int, int]
    ) -> tuple[int, int] | None:
        if self.large:
            return None
        return super().find_matching_bracket(bracket, search_from)


def json_editor(text: str, *, id: str | None = None) -> TextArea:
    """A code-editor TextArea for JSON, highlighted where tree-sitter is installed
    and the text is small enough for highlighting to keep up with typing."""
    if len(text) > HIGHLIGHT_LIMIT:
        area = JsonTextArea.code_editor(text, theme="css", id=id)
        assert isinstance(area, JsonTextArea)
        area.large = True
        return area
    if highlighting_works():
        try:
            return JsonTextArea.code_editor(text, language="json", theme="css", id=id)
        except LanguageDoesNotExist:  # tree-sitter without its JSON grammar
            pass
    return JsonTextArea.code_editor(text, theme="css", id=id)


def highlighting_works() -> bool:
    """Whether JSON highlighting can be turned on safely.

    Textual 8.2 crashes the interpreter (a segfault in the grammar binding) with
    tree-sitter 0.26, which ``textual[syntax]`` does not exclude: highlight only
    with the 0.25 series, and edit plain text otherwise.
    """
    try:
        version = importlib.metadata.version("tree-sitter")
    except importlib.metadata.PackageNotFoundError:
        return False
    parts = tuple(int(p) for p in version.split(".")[:2] if p.isdigit())
    return parts == (0, 25)


class EditorScreen(Screen[EditRequest | None]):
    """The values of a checkpoint as type-aware JSON (see :mod:`timeloom.tui.ops.jsonedit`).

    The status line says whether the text is valid as you type: the JSON error with
    its line and column, an unknown key, a value of the wrong type for the graph's
    schema, a change the graph's reducers cannot write. Saving shows the diff of the edit first; confirming dismisses the screen
    with an :class:`EditRequest` (the caller writes it). Nothing is written before.

    | Key | Action |
    | :- | :- |
    | ctrl+s | Check, preview the diff, then save. |
    | ctrl+r | Revert to the checkpoint's values. |
    | escape | Cancel (nothing is written); twice when the text was changed. |
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "save", "Preview & save", priority=True),
        Binding("ctrl+r", "revert", "Revert"),
        # A priority binding: the text area would otherwise take escape.
        Binding("escape", "cancel", "Cancel", priority=True),
    ]

    DEFAULT_CSS = """
    EditorScreen #editor-title {
        height: auto;
        padding: 0 1;
        background: $panel;
    }
    EditorScreen #editor-text {
        height: 1fr;
    }
    EditorScreen #editor-status {
        height: auto;
        max-height: 4;
        padding: 0 1;
    }
    EditorScreen #editor-status.-ok {
        color: $text-success;
    }
    EditorScreen #editor-status.-error {
        color: $text-error;
    }
    EditorScreen #editor-writer {
        height: auto;
        padding: 0 1;
    }
    EditorScreen #editor-writer Label {
        padding: 1 1 0 0;
    }
    EditorScreen #editor-as-node {
        width: 40;
    }
    """

    @dataclass
    class Checked(Message):
        """The text was checked (in a worker)."""

        text: str
        edit: ParsedEdit | None
        problems: list[str]
        then_save: bool
        position: tuple[int, int] | None = None
        """Where a JSON syntax error is (line, column from 1)."""

    def __init__(
        self,
        checkpoint: Checkpoint,
        *,
        schema: StateSchema | None = None,
        nodes: Sequence[str] = (),
        default_as_node: str | None = None,
        title: str | None = None,
        confirm: str = "Save",
        keys: Sequence[str] | None = None,
        text: str | None = None,
        reducers: Sequence[str] = (),
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        """Edit ``checkpoint``'s values.

        Args:
            checkpoint: the checkpoint whose values are edited.
            schema: the graph's state schema (keys and types are checked against
                it); None without a graph (only the current keys are allowed).
            nodes: the graph's nodes, to choose whose update the edit is; empty
                without a graph.
            default_as_node: the node chosen at first (None: inferred).
            title: the line above the editor.
            confirm: the label of the preview's confirm button.
            keys: edit only these top-level keys (a part of a large state); the
                others keep their values.
            text: the text to start from (an edit that could not be written),
                instead of the checkpoint's values.
            reducers: the keys a reducer combines (said before saving: an edit of
                them appends, or replaces items by id, rather than replacing).
        """
        super().__init__(name=name, id=id, classes=classes)
        self.checkpoint = checkpoint
        self.schema = schema
        self.nodes = tuple(nodes)
        self.default_as_node = default_as_node
        self.reducers = tuple(reducers)
        part = f" ({', '.join(keys)})" if keys else ""
        self.title_text = title or f"Edit{part} {describe(checkpoint)}"
        self.confirm = confirm
        self.keys = tuple(keys) if keys is not None else None
        shown = (
            checkpoint.values
            if self.keys is None
            else {k: checkpoint.values[k] for k in self.keys if k in checkpoint.values}
        )
        self.original_text = dumps(shown)
        self.start_text = self.original_text if text is None else text
        self._timer: Timer | None = None
        self._checked: EditorScreen.Checked | None = None
        self._escaped_at = -_DISCARD_WINDOW

    def compose(self) -> ComposeResult:
        note = "Saving writes a new checkpoint; this one is kept."
        if self.reducers:
            note += (
                f" Combined by a reducer, not replaced: {', '.join(self.reducers)}"
                " (appending items works; other changes are checked as you type)."
            )
        if len(self.original_text) > HIGHLIGHT_LIMIT:
            size = len(self.original_text) // 1000
            note += f" Large state ({size} KB): no syntax highlighting."
        yield Static(markup_lines(f"{self.title_text}\n{note}"), id="editor-title")
        yield json_editor(self.start_text, id="editor-text")
        yield Static("", id="editor-status")
        if self.nodes:
            with Horizontal(id="editor-writer"):
                yield Label("Write as node")
                yield Select(
                    [(INFER, INFER), *((n, n) for n in self.nodes)],
                    value=self.default_as_node or INFER,
                    allow_blank=False,
                    id="editor-as-node",
                )
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(TextArea).focus()
        self._check_now(then_save=False)

    @on(TextArea.Changed, "#editor-text")
    def _changed(self) -> None:
        self._status("Checking…", None)
        if self._timer is not None:
            self._timer.stop()
        self._timer = self.set_timer(_CHECK_DELAY, lambda: self._check_now(False))

    @on(Checked)
    def _checked_text(self, event: Checked) -> None:
        event.stop()
        if event.text != self.query_one(TextArea).text:
            return  # the user typed on meanwhile: a newer check is on its way
        self._checked = event
        if event.problems:
            shown = event.problems[:_SHOWN_PROBLEMS]
            more = len(event.problems) - len(shown)
            lines = [f"✗ {p}" for p in shown]
            if more:
                lines.append(f"  … and {more} more")
            self._status("\n".join(lines), False)
            if event.then_save:
                self.notify(
                    event.problems[0],
                    title="Nothing was saved",
                    severity="error",
                )
                if event.position is not None:
                    area = self.query_one(TextArea)
                    line, column = event.position
                    area.move_cursor((line - 1, column - 1), center=True)
                    area.focus()
            return
        assert event.edit is not None
        changed = [*event.edit.changed, *event.edit.removed]
        summary = (
            f"✓ Valid · changes {', '.join(changed)}"
            if changed
            else "✓ Valid · no changes yet"
        )
        self._status(summary, True)
        if event.then_save:
            self._preview(event.edit)

    def action_save(self) -> None:
        """Check the text, then preview the diff and save."""
        if self._timer is not None:
            # The as-you-type check due for this text would cancel (exclusive
            # worker) the check that saves: this one covers it.
            self._timer.stop()
            self._timer = None
        checked = self._checked
        if checked is not None and checked.text == self.query_one(TextArea).text:
            self._checked_text(dataclasses.replace(checked, then_save=True))
        else:
            self._check_now(then_save=True)

    def action_revert(self) -> None:
        """Put the checkpoint's values back."""
        self.query_one(TextArea).load_text(self.original_text)
        self._check_now(then_save=False)

    def action_cancel(self) -> None:
        """Close without saving (a changed text needs escape twice)."""
        changed = self.query_one(TextArea).text != self.original_text
        now = monotonic()
        if changed and now - self._escaped_at > _DISCARD_WINDOW:
            self._escaped_at = now
            self.notify("Press escape again to discard the edit.", title="Unsaved edit")
            return
        self.dismiss(None)

    @property
    def as_node(self) -> str | None:
        """The node chosen to write the update (None: inferred)."""
        if not self.nodes:
            return None
        value = self.query_one("#editor-as-node", Select).value
        return None if value == INFER or not isinstance(value, str) else value

    def _check_now(self, then_save: bool) -> None:
        self._check(self.query_one(TextArea).text, then_save)

    @work(thread=True, exclusive=True, group="decode", exit_on_error=False)
    def _check(self, text: str, then_save: bool) -> None:
        try:
            edit = parse_edit(text, self.checkpoint.values, self.schema, keys=self.keys)
            if self.schema is not None:  # saved through the graph's reducers
                graph_update(edit, self.checkpoint.values, self.schema)
        except JsonEditError as exc:
            result = self.Checked(text, None, exc.problems, then_save, exc.position)
        else:
            result = self.Checked(text, edit, [], then_save)
        if not get_current_worker().is_cancelled:
            self.post_message(result)

    def _preview(self, edit: ParsedEdit) -> None:
        if not edit.changed and not edit.removed and self.confirm == "Save":
            self.notify("The values are unchanged: there is nothing to save.")
            return
        as_node = self.as_node

        def done(confirmed: bool | None) -> None:
            if confirmed:
                self.dismiss(EditRequest(edit, as_node, self.query_one(TextArea).text))

        if not self.nodes:
            note = "Written as edited (no graph loaded)"
        else:
            writer = as_node or self.default_as_node or "the node that wrote it"
            note = f"As an update by {writer}"
        self.app.push_screen(
            ConfirmDiffScreen(
                self.checkpoint.values,
                edit.values,
                title=f"{self.confirm}: the diff of the edit",
                note=f"{note}, after {describe(self.checkpoint)}",
                confirm=self.confirm,
            ),
            done,
        )

    def _status(self, text: str, ok: bool | None) -> None:
        status = self.query_one("#editor-status", Static)
        status.update(Text(text))
        status.set_class(ok is True, "-ok")
        status.set_class(ok is False, "-error")
