"""SVG snapshots of the diff and editor screens over frozen checkpoints.

Update deliberately: ``pytest tests/snapshots/test_screen_snapshots.py
--snapshot-update``, then look at every changed picture before committing. The
editor's JSON highlighting needs tree-sitter 0.25 and tree-sitter-json installed.
"""

from __future__ import annotations

import contextlib
import dataclasses
import uuid
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from textual.app import App, ComposeResult
from textual.pilot import Pilot
from textual.screen import Screen
from textual.widgets import Static, TextArea
from textual.worker import WorkerCancelled, WorkerFailed

from timeloom.backends.serde import Serializer
from timeloom.core.checkpoint import Checkpoint
from timeloom.tui.screens.diff import DiffScreen
from timeloom.tui.screens.editor import EditorScreen

SnapCompare = Callable[..., bool]
SIZE = (100, 30)
WHEN = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)


@pytest.fixture(autouse=True)
def no_text_area_blink(monkeypatch: pytest.MonkeyPatch) -> None:
    """A blinking cursor would make two runs of the same screen differ."""
    monkeypatch.setattr(TextArea, "cursor_blink", False)


@dataclasses.dataclass
class Receipt:
    number: str
    amount: Decimal


def _inert_receipt() -> Any:
    # Written by a process that knows Receipt, read by one that does not.
    stored = Serializer([Receipt]).dumps(Receipt("R-1", Decimal("500.00")))
    return Serializer().loads(stored)


def _checkpoint(
    n: int, step: int, values: Mapping[str, Any], writes: Mapping[str, Any]
) -> Checkpoint:
    return Checkpoint(
        id=str(uuid.UUID(int=0x019A43B0_0000_7000_8000_000000000000 + n)),
        thread_id="refund-3150",
        parent_id=None,
        parent_thread_id=None,
        step=step,
        source="loop",
        created_at=WHEN,
        values=values,
        next=("approve",),
        writes=writes,
    )


BEFORE: dict[str, Any] = {
    "messages": [
        {"id": "m1", "role": "user", "content": "Please refund order 3150."},
        {"id": "m2", "role": "assistant", "content": "Found order 3150: Road bike."},
    ],
    "refund": {"amount": Decimal("749.00"), "currency": "EUR", "reason": "delivered"},
    "notes": "Customer called twice.\nPrefers a bank transfer.\nVIP since 2021.",
    "tags": {"bike", "refund"},
    "request_id": uuid.UUID("07227f99-b3b1-5a9b-afe3-9dc1c78abbd8"),
    "received_at": WHEN,
    "approved": None,
}
AFTER = {
    **BEFORE,
    "messages": [
        *BEFORE["messages"],
        {"id": "m3", "role": "assistant", "content": "I propose 500.00 EUR."},
    ],
    "refund": {"amount": Decimal("500.00"), "currency": "EUR", "reason": "partial"},
    "notes": "Customer called twice.\nPrefers PayPal.\nVIP since 2021.",
    "tags": {"bike", "refund", "partial"},
    "receipt": _inert_receipt(),
}
PARENT = _checkpoint(1, 1, BEFORE, {"lookup_order": {}})
CHILD = _checkpoint(2, 2, AFTER, {"propose_refund": {}})


class Host(App[None]):
    """A bare app that opens one screen."""

    def __init__(self, make: Callable[[], Screen[Any]]) -> None:
        super().__init__()
        self.make = make

    def compose(self) -> ComposeResult:
        yield Static("host")

    def on_mount(self) -> None:
        self.push_screen(self.make())


def _settled(
    *keys: str, edit: Callable[[str], str] | None = None
) -> Callable[[Pilot[None]], Awaitable[None]]:
    async def run_before(pilot: Pilot[None]) -> None:
        for _ in range(3):
            with contextlib.suppress(WorkerCancelled, WorkerFailed):
                await pilot.app.workers.wait_for_complete()
            await pilot.pause()
        if edit is not None:
            area = pilot.app.screen.query_one(TextArea)
            area.load_text(edit(area.text))
            area.move_cursor((0, 0))
        for key in keys:
            await pilot.press(key)
            for _ in range(2):
                with contextlib.suppress(WorkerCancelled, WorkerFailed):
                    await pilot.app.workers.wait_for_complete()
                await pilot.pause(0.35 if edit is not None else 0)

    return run_before


def test_diff_screen(snap_compare: SnapCompare) -> None:
    """The changes from the parent, by path: amounts, an id-matched message added,
    a line diff of the notes, set items, and the inert Receipt as its fields."""
    app = Host(lambda: DiffScreen(CHILD, PARENT))
    assert snap_compare(app, terminal_size=SIZE, run_before=_settled())


def test_diff_screen_with_unchanged(snap_compare: SnapCompare) -> None:
    """`u` lists the unchanged keys (dimmed) between the changes."""
    app = Host(lambda: DiffScreen(CHILD, PARENT))
    assert snap_compare(app, terminal_size=SIZE, run_before=_settled("u"))


def test_editor_screen(snap_compare: SnapCompare) -> None:
    """The values as type-aware JSON, the status line, and the as-node choice."""
    app = Host(
        lambda: EditorScreen(
            CHILD,
            nodes=["classify", "lookup_order", "propose_refund"],
            default_as_node="propose_refund",
        )
    )
    assert snap_compare(app, terminal_size=SIZE, run_before=_settled())


def test_editor_screen_with_an_error(snap_compare: SnapCompare) -> None:
    """A JSON error is named with its line and column."""
    app = Host(lambda: EditorScreen(CHILD))
    assert snap_compare(
        app,
        terminal_size=SIZE,
        run_before=_settled(
            "ctrl+s", edit=lambda text: text.replace('"EUR",', '"EUR"', 1)
        ),
    )


def test_edit_preview(snap_compare: SnapCompare) -> None:
    """Saving first shows the diff of the edit."""
    app = Host(lambda: EditorScreen(CHILD))
    assert snap_compare(
        app,
        terminal_size=SIZE,
        run_before=_settled(
            "ctrl+s", edit=lambda text: text.replace('"500.00"', '"450.00"', 1)
        ),
    )
