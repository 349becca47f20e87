"""Pilot tests of the diff, editor, branch and resume screens in a small host app."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from textual import on, work
from textual.app import App, ComposeResult
from textual.screen import Screen
from textual.widgets import Button, Input, Static, TextArea
from textual.worker import Worker, WorkerCancelled, WorkerFailed, WorkerState

from tests.tui.conftest import fork_root, settle, written_by
from timeloom.backends.memory import MemoryCheckpointer
from timeloom.core import Checkpoint, CompiledGraph, PendingWrite
from timeloom.core.errors import CheckpointNotFound
from timeloom.tui.ops import actions, resuming
from timeloom.tui.ops.editcheck import parse_edit
from timeloom.tui.ops.errors import describe_error
from timeloom.tui.ops.jsonedit import dumps
from timeloom.tui.ops.resuming import Answer, ResumeOutcome
from timeloom.tui.screens.branch import BranchRequest, BranchScreen
from timeloom.tui.screens.diff import ConfirmDiffScreen, DiffScreen
from timeloom.tui.screens.editor import (
    HIGHLIGHT_LIMIT,
    EditorScreen,
    EditRequest,
    JsonTextArea,
    highlighting_works,
    json_editor,
)
from timeloom.tui.screens.error import ErrorModal
from timeloom.tui.screens.resume import ResumeScreen
from timeloom.tui.widgets.diff_view import DiffView

SIZE = (100, 30)


class Host(App[None]):
    """Pushes one screen at mount and keeps what it was dismissed with."""

    def __init__(self, make: Callable[[], Screen[Any]]) -> None:
        super().__init__()
        self.make = make
        self.results: list[Any] = []

    def compose(self) -> ComposeResult:
        yield Static("host")

    def on_mount(self) -> None:
        self.push_screen(self.make(), self.results.append)


def paths(app: App[None]) -> list[str]:
    return [c.path_text for c in app.screen.query_one(DiffView).entries]


def summary(app: App[None]) -> str:
    return str(app.screen.query_one("#diff-summary", Static).render())


# -- diff ---------------------------------------------------------------------------------


async def test_diff_vs_parent(demo: tuple[MemoryCheckpointer, CompiledGraph]) -> None:
    checkpointer, _ = demo
    proposal = await written_by(checkpointer, "refund-3150", "propose_refund")
    base = await actions.load_diff_base(checkpointer, proposal, None)
    app = Host(lambda: DiffScreen(proposal, base))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, DiffScreen)
        assert app.screen.base is not None
        assert app.screen.base.id == proposal.parent_id
        assert paths(app) == ["messages[3]", "refund"]
        assert summary(app).startswith("1 changed · 1 item added")
        await pilot.press("escape")
        assert not isinstance(app.screen, DiffScreen)
        assert app.results == [None]


async def test_diff_vs_marked_checkpoint_in_another_thread(
    demo: tuple[MemoryCheckpointer, CompiledGraph],
) -> None:
    checkpointer, _ = demo
    proposal = await written_by(checkpointer, "refund-3150", "propose_refund")
    root = await fork_root(checkpointer)
    base = await actions.load_diff_base(checkpointer, root, proposal.id)
    app = Host(lambda: DiffScreen(root, base))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        view = app.screen.query_one(DiffView)
        amount = next(c for c in view.entries if c.path_text == "refund.amount")
        assert (amount.old, amount.new) == (Decimal("749.00"), Decimal("500.00"))
        assert paths(app) == ["refund.amount", "refund.reason"]
        assert "unchanged keys (u to show)" in summary(app)
        await pilot.press("u")
        assert "refund.currency" in paths(app)
        assert "messages" in paths(app)
        assert "(u to hide)" in summary(app)
        await pilot.press("s")  # swap: now from the fork root to the proposal
        await settle(pilot)
        amount = next(c for c in view.entries if c.path_text == "refund.amount")
        assert (amount.old, amount.new) == (Decimal("500.00"), Decimal("749.00"))


async def test_diff_base_not_found_says_so(
    demo: tuple[MemoryCheckpointer, CompiledGraph],
) -> None:
    checkpointer, _ = demo
    root = await fork_root(checkpointer)
    with pytest.raises(CheckpointNotFound, match="^No checkpoint nope$"):
        await actions.load_diff_base(checkpointer, root, "nope")


# -- edit ---------------------------------------------------------------------------------


def editor_status(app: App[None]) -> str:
    return str(app.screen.query_one("#editor-status", Static).render())


async def test_invalid_json_is_reported_and_nothing_saved(
    demo: tuple[MemoryCheckpointer, CompiledGraph],
) -> None:
    checkpointer, graph = demo
    paused = await checkpointer.get("refund-2077")
    assert paused is not None
    app = Host(
        lambda: EditorScreen(paused, schema=graph.schema, nodes=list(graph.nodes))
    )
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert editor_status(app) == "✓ Valid · no changes yet"
        area = app.screen.query_one(TextArea)
        area.load_text(area.text.replace('"currency": "EUR"', '"currency": EUR'))
        await pilot.pause(0.4)
        await settle(pilot)
        status = editor_status(app)
        assert status.startswith("✗ line ")
        assert "Expecting value" in status
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, EditorScreen)  # no preview, still editing
        assert app.results == []
        assert any(n.title == "Nothing was saved" for n in app._notifications)


async def test_unknown_key_and_wrong_type_are_specific(
    demo: tuple[MemoryCheckpointer, CompiledGraph],
) -> None:
    checkpointer, graph = demo
    paused = await checkpointer.get("refund-2077")
    assert paused is not None
    app = Host(lambda: EditorScreen(paused, schema=graph.schema))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        area = app.screen.query_one(TextArea)
        area.load_text(
            area.text.replace('"category"', '"categry"').replace(
                '"approved": null', '"approved": "yes"'
            )
        )
        await pilot.pause(0.4)
        await settle(pilot)
        status = editor_status(app)
        assert "✗ approved: expected bool | None, got str 'yes'" in status
        assert "✗ categry: unknown key; SupportState has messages" in status


async def test_edit_preview_then_save_writes_an_update(
    demo: tuple[MemoryCheckpointer, CompiledGraph],
) -> None:
    checkpointer, graph = demo
    proposal = await written_by(checkpointer, "refund-2077", "propose_refund")
    app = Host(
        lambda: EditorScreen(
            proposal,
            schema=graph.schema,
            nodes=list(graph.nodes),
            default_as_node=actions.default_as_node(graph, proposal),
        )
    )
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        area = app.screen.query_one(TextArea)
        area.load_text(area.text.replace('"194.50"', '"150.00"', 1))
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmDiffScreen)
        assert paths(app) == ["refund.amount"]
        await pilot.press("escape")  # back to the editor
        assert isinstance(app.screen, EditorScreen)
        await pilot.press("ctrl+s")
        await settle(pilot)
        await pilot.press("ctrl+s")  # save from the preview
        await settle(pilot)
        (request,) = app.results
    assert isinstance(request, EditRequest)
    assert request.as_node == "propose_refund"
    assert request.edit.changed == ("refund",)
    saved = await actions.save_edit(
        checkpointer, graph, proposal, request.edit, as_node=request.as_node
    )
    again = await checkpointer.get("refund-2077", saved.id)
    assert again is not None
    assert again.values["refund"]["amount"] == Decimal("150.00")
    assert again.source == "update"


async def test_save_pressed_while_a_slow_check_runs_still_previews(
    demo: tuple[MemoryCheckpointer, CompiledGraph], monkeypatch: pytest.MonkeyPatch
) -> None:
    """ctrl+s right after typing starts a check that saves; the as-you-type check
    due a moment later must not cancel it (on a loaded machine the save was lost:
    the editor said "Valid" and no preview ever came)."""
    from timeloom.tui.screens import editor as module

    checkpointer, graph = demo
    proposal = await written_by(checkpointer, "refund-2077", "propose_refund")

    def slow_parse(*args: Any, **kwargs: Any) -> Any:
        time.sleep(2 * module._CHECK_DELAY)  # longer than the typing pause
        return parse_edit(*args, **kwargs)

    app = Host(lambda: EditorScreen(proposal, schema=graph.schema))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        monkeypatch.setattr(module, "parse_edit", slow_parse)
        area = app.screen.query_one(TextArea)
        area.load_text(area.text.replace('"194.50"', '"150.00"', 1))
        await pilot.pause()  # the change is seen: an as-you-type check is due
        await pilot.press("ctrl+s")
        await pilot.pause(4 * module._CHECK_DELAY)
        await settle(pilot)
        assert isinstance(app.screen, ConfirmDiffScreen)


async def test_escape_cancels_the_editor(
    demo: tuple[MemoryCheckpointer, CompiledGraph],
) -> None:
    checkpointer, _ = demo
    paused = await checkpointer.get("refund-2077")
    assert paused is not None
    app = Host(lambda: EditorScreen(paused))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("escape")
        assert app.results == [None]


# -- branch ---------------------------------------------------------------------------------


async def test_branch_screen_suggests_and_checks_names(
    demo: tuple[MemoryCheckpointer, CompiledGraph],
) -> None:
    checkpointer, _ = demo
    paused = await checkpointer.get("refund-2077")
    assert paused is not None
    suggestion = await actions.suggest_branch_name(checkpointer, "refund-2077")
    taken = [t.thread_id for t in await checkpointer.threads()]
    app = Host(lambda: BranchScreen(paused, suggestion, taken=taken))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        field = app.screen.query_one(Input)
        assert field.value == "refund-2077-b"
        field.value = "refund-1042"
        await pilot.pause()
        problem = str(app.screen.query_one("#branch-problem", Static).render())
        assert problem == "A thread named 'refund-1042' already exists."
        assert app.screen.query_one("#branch-ok", Button).disabled
        await pilot.press("enter")
        assert app.results == []
        field.value = "what-if"
        await pilot.click("#branch-edit")
        field.focus()
        await pilot.press("enter")
        assert app.results == [BranchRequest("what-if", edit_first=True)]


# -- resume ---------------------------------------------------------------------------------


async def test_resume_screen_reads_answers(
    demo: tuple[MemoryCheckpointer, CompiledGraph],
) -> None:
    checkpointer, _ = demo
    paused = await checkpointer.get("refund-2077")
    assert paused is not None
    app = Host(lambda: ResumeScreen(paused, paused.interrupts))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        field = app.screen.query_one(Input)
        assert field.placeholder == "yes / no"
        await pilot.press(*"42")
        reads = str(app.screen.query_one("#resume-reads-as-0", Static).render())
        assert reads == "→ the number 42"
        field.value = ""
        await pilot.press(*"yes", "enter")
        assert app.results == [Answer("yes")]


async def test_resume_screen_escape_stays_paused(
    demo: tuple[MemoryCheckpointer, CompiledGraph],
) -> None:
    checkpointer, _ = demo
    paused = await checkpointer.get("refund-2077")
    assert paused is not None
    app = Host(lambda: ResumeScreen(paused, paused.interrupts))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("escape")
        assert app.results == [None]


class Runner(App[None]):
    """How the app wires resume: a worker that asks through the resume screen."""

    def __init__(self, checkpointer: MemoryCheckpointer, graph: CompiledGraph) -> None:
        super().__init__()
        self.checkpointer = checkpointer
        self.graph = graph
        self.committed: list[Checkpoint] = []
        self.outcome: ResumeOutcome | None = None

    @work(exclusive=True, group="write", exit_on_error=False)
    async def resume_from(self, checkpoint: Checkpoint) -> None:
        async def ask(
            cp: Checkpoint, interrupts: tuple[PendingWrite, ...]
        ) -> Answer | None:
            return await self.push_screen_wait(ResumeScreen(cp, interrupts))

        self.outcome = await resuming.resume(
            self.checkpointer,
            self.graph,
            checkpoint,
            ask=ask,
            on_checkpoint=self.committed.append,
        )


async def test_resume_run_asks_through_the_screen(
    demo: tuple[MemoryCheckpointer, CompiledGraph],
) -> None:
    checkpointer, graph = demo
    paused = await checkpointer.get("refund-2077")
    assert paused is not None
    app = Runner(checkpointer, graph)
    async with app.run_test(size=SIZE) as pilot:
        app.resume_from(paused)
        await pilot.pause()
        assert isinstance(app.screen, ResumeScreen)
        await pilot.press(*"yes", "enter")
        with contextlib.suppress(WorkerCancelled, WorkerFailed):
            await app.workers.wait_for_complete()
        assert app.outcome is not None
        assert app.outcome.status == "done"
        assert [list(c.writes) for c in app.committed] == [
            ["approve"],
            ["issue_refund"],
            ["notify"],
        ]


async def test_escape_twice_discards_a_changed_text(
    demo: tuple[MemoryCheckpointer, CompiledGraph],
) -> None:
    checkpointer, _ = demo
    paused = await checkpointer.get("refund-2077")
    assert paused is not None
    app = Host(lambda: EditorScreen(paused))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("space")
        await pilot.press("escape")
        assert app.results == []
        assert isinstance(app.screen, EditorScreen)
        await pilot.press("escape")
        assert app.results == [None]


class FailingRunner(Runner):
    """Routes a failed run to the error dialog, as the app's worker handler does."""

    @on(Worker.StateChanged)
    def _failed(self, event: Worker.StateChanged) -> None:
        if event.worker.group == "write" and event.state == WorkerState.ERROR:
            assert event.worker.error is not None
            self.push_screen(ErrorModal(*describe_error(event.worker.error)))


async def test_failing_node_shows_the_error_dialog(
    demo: tuple[MemoryCheckpointer, CompiledGraph],
) -> None:
    checkpointer, graph = demo
    failed = await checkpointer.get("refund-3150")
    assert failed is not None
    app = FailingRunner(checkpointer, graph)
    async with app.run_test(size=SIZE) as pilot:
        app.resume_from(failed)
        with contextlib.suppress(WorkerCancelled, WorkerFailed):
            await app.workers.wait_for_complete()
        await pilot.pause()
        assert isinstance(app.screen, ErrorModal)
        assert app.screen.error_title == "Node failed"
        assert app.screen.header.startswith("Node 'issue_refund' failed: PaymentError")
        assert "PaymentError" in app.screen.text


async def test_editor_on_some_keys(
    demo: tuple[MemoryCheckpointer, CompiledGraph],
) -> None:
    checkpointer, graph = demo
    paused = await checkpointer.get("refund-2077")
    assert paused is not None
    app = Host(lambda: EditorScreen(paused, schema=graph.schema, keys=["refund"]))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        area = app.screen.query_one(TextArea)
        assert area.text.startswith('{\n  "refund": {')
        assert "messages" not in area.text
        area.load_text(area.text.replace('"194.50"', '"1.00"', 1))
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert paths(app) == ["refund.amount"]
        await pilot.press("ctrl+s")
        await settle(pilot)
    (request,) = app.results
    assert request.edit.values["messages"] == paused.values["messages"]
    assert request.edit.values["refund"]["amount"] == Decimal("1.00")


def test_large_documents_skip_highlighting_and_bracket_matching() -> None:
    small = json_editor('{"a": 1}')
    assert small.language == ("json" if highlighting_works() else None)
    big_text = dumps({"items": ["x" * 100] * 3000})
    assert len(big_text) > HIGHLIGHT_LIMIT
    big = json_editor(big_text)
    assert isinstance(big, JsonTextArea)
    assert big.large
    assert big.language is None
    assert big.find_matching_bracket("{", (0, 0)) is None
    assert small.find_matching_bracket("{", (0, 0)) == (0, 7)
