"""Ask a human for the value that answers a paused run's interrupt."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, ClassVar

from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Footer, Input, Static

from timeloom.core.checkpoint import Checkpoint, PendingWrite
from timeloom.tui.ops.jsonedit import encode
from timeloom.tui.ops.resuming import Answer, parse_answer
from timeloom.tui.screens.diff import describe
from timeloom.tui.widgets.labels import markup_lines


def reads_as(text: str) -> str:
    """How an answer will be understood: ``the text "yes"``, ``the number 42``..."""
    value = parse_answer(text)
    if isinstance(value, str):
        return f"the text {json.dumps(value, ensure_ascii=False)}"
    if isinstance(value, bool):
        return f"the boolean {json.dumps(value)}"
    if isinstance(value, int | float):
        return f"the number {value}"
    if value is None:
        return "null"
    kind = "object" if isinstance(value, dict) else "array"
    return f"a JSON {kind}"


_PAYLOAD_ROWS = 12
"""Rows of a question's payload shown at most (it scrolls)."""
_AROUND_PAYLOADS = 20
"""Rows the dialog needs besides its payloads: borders, padding, the title line,
each question's heading, answer field and reading, the buttons, the footer."""


class ResumeScreen(ModalScreen[Answer | None]):
    """Shows each pending interrupt's payload and asks for the resume value.

    The answer is read as JSON when it parses (``42``, ``true``, ``{"ok": 1}``) and
    as text otherwise (``yes``). With several interrupts pending, each gets its own
    answer and the result maps interrupt ids to values, as ``Command(resume=...)``
    expects.

    | Key | Action |
    | :- | :- |
    | enter | Resume with the answer(s). |
    | escape | Don't answer: the run stays paused. |
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Stay paused"),
    ]

    DEFAULT_CSS = """
    ResumeScreen {
        align: center middle;
    }
    ResumeScreen > #resume-dialog {
        width: 80%;
        max-width: 100;
        height: auto;
        max-height: 90%;
        border: thick $primary;
        background: $surface;
        padding: 1 2;
    }
    ResumeScreen #resume-from {
        color: $text-muted;
    }
    ResumeScreen .resume-node {
        margin-top: 1;
        text-style: bold;
    }
    ResumeScreen .resume-payload {
        height: auto;
        max-height: 12;
        background: $boost;
        padding: 0 1;
    }
    ResumeScreen .resume-reads-as {
        color: $text-muted;
        height: 1;
    }
    ResumeScreen #resume-buttons {
        height: auto;
        align-horizontal: right;
        margin-top: 1;
    }
    ResumeScreen #resume-buttons Button {
        margin-left: 2;
    }
    """

    def __init__(
        self, checkpoint: Checkpoint, interrupts: Sequence[PendingWrite]
    ) -> None:
        """Ask for the answers to ``interrupts``, pending on ``checkpoint``."""
        super().__init__()
        self.checkpoint = checkpoint
        self.interrupts = tuple(interrupts)

    def compose(self) -> ComposeResult:
        with Vertical(id="resume-dialog") as dialog:
            dialog.border_title = "The run is waiting for an answer"
            yield Static(
                markup_lines(f"At {describe(self.checkpoint)}"), id="resume-from"
            )
            for index, write in enumerate(self.interrupts):
                payload = write.value.get("value")
                yield Static(markup_lines(f"{write.node} asks:"), classes="resume-node")
                with VerticalScroll(classes="resume-payload"):
                    yield Static(markup_lines(_pretty(payload)))
                yield Input(
                    placeholder=_placeholder(payload),
                    id=f"resume-answer-{index}",
                    classes="resume-answer",
                )
                yield Static(
                    "", id=f"resume-reads-as-{index}", classes="resume-reads-as"
                )
            with Horizontal(id="resume-buttons"):
                yield Button("Stay paused", id="resume-cancel")
                yield Button("Resume", variant="primary", id="resume-ok")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#resume-answer-0", Input).focus()

    def on_resize(self, event: events.Resize) -> None:
        # On a short terminal (24 rows) the questions' payloads shrink, so that the
        # answer fields and the buttons stay on screen.
        room = event.size.height - _AROUND_PAYLOADS * len(self.interrupts)
        for payload in self.query(".resume-payload"):
            payload.styles.max_height = max(3, min(_PAYLOAD_ROWS, room))

    @on(Input.Changed, ".resume-answer")
    def _answer_changed(self, event: Input.Changed) -> None:
        assert event.input.id is not None
        index = event.input.id.rsplit("-", 1)[1]
        text = f"→ {reads_as(event.value)}" if event.value else ""
        self.query_one(f"#resume-reads-as-{index}", Static).update(markup_lines(text))

    @on(Input.Submitted, ".resume-answer")
    @on(Button.Pressed, "#resume-ok")
    def _submit(self) -> None:
        inputs = list(self.query(".resume-answer").results(Input))
        for field in inputs:
            if not field.value:
                field.focus()
                self.notify("Type an answer first (or escape to stay paused).")
                return
        values = [parse_answer(field.value) for field in inputs]
        if len(values) == 1:
            self.dismiss(Answer(values[0]))
            return
        ids = [w.value["id"] for w in self.interrupts]
        self.dismiss(Answer(dict(zip(ids, values, strict=True))))

    @on(Button.Pressed, "#resume-cancel")
    def action_cancel(self) -> None:
        """Leave the run paused."""
        self.dismiss(None)


def _pretty(payload: Any) -> str:
    try:
        return json.dumps(encode(payload), indent=2, ensure_ascii=False)
    except TypeError:
        return repr(payload)


def _placeholder(payload: Any) -> str:
    answers = payload.get("answers") if isinstance(payload, dict) else None
    if isinstance(answers, list) and answers:
        return " / ".join(str(a) for a in answers)
    return 'an answer: text, or JSON such as 42, true, {"ok": 1}'
