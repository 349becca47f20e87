"""Pilot tests of what a new user tripped over: no work lost, statuses that tell the
truth, keys that say one thing."""

from __future__ import annotations

from textual.widgets import Static, TextArea

from tests.tui.conftest import SIZE, wait_until
from tests.tui.test_wiring import (
    Demo,
    count_all,
    demo,
    go,
    notices,
    wait_for_workers,
)
from timeloom.tui.app import TimeloomApp
from timeloom.tui.screens.diff import ConfirmDiffScreen
from timeloom.tui.screens.editor import EditorScreen

__all__ = ["demo"]  # the fixture, shared with the wiring tests


async def test_an_edit_the_reducer_refuses_is_said_before_saving(demo: Demo) -> None:
    checkpointer, graph = demo
    before = await count_all(checkpointer)
    info = await checkpointer.get_thread("refund-2077")
    assert info is not None
    app = TimeloomApp(checkpointer, graph=graph)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_workers(pilot)
        await go(pilot, "refund-2077", info.head_id)
        await pilot.press("e")
        await wait_for_workers(pilot)
        assert isinstance(app.screen, EditorScreen)
        area = app.screen.query_one(TextArea)
        # `messages` is combined by operator.add: changing an item cannot be written.
        edited = area.text.replace("Refund please?", "Refund now!", 1)
        assert edited != area.text
        area.load_text(edited)
        status = app.screen.query_one("#editor-status", Static)
        assert await wait_until(pilot, lambda: str(status.render()).startswith("✗"))
        assert "messages is combined by a reducer" in str(status.render())
        await pilot.press("ctrl+s")
        await wait_for_workers(pilot)
        assert isinstance(app.screen, EditorScreen)  # no preview, no save
        assert app.screen.query_one(TextArea).text == edited  # the text is kept
    assert await count_all(checkpointer) == before


async def test_a_save_that_fails_reopens_the_editor_on_the_users_text(
    demo: Demo,
) -> None:
    checkpointer, _ = demo
    before = await count_all(checkpointer)
    info = await checkpointer.get_thread("refund-2077")
    assert info is not None
    app = TimeloomApp(checkpointer)  # no graph: written directly, head checked
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_workers(pilot)
        await go(pilot, "refund-2077", info.head_id)
        await pilot.press("e")
        await wait_for_workers(pilot)
        area = app.screen.query_one(TextArea)
        edited = area.text.replace('"194.50"', '"150.00"', 1)
        area.load_text(edited)
        # Meanwhile the database stops taking writes (here: it is made read-only).
        checkpointer.read_only = True
        await pilot.press("ctrl+s")
        await wait_for_workers(pilot)
        assert isinstance(app.screen, ConfirmDiffScreen)
        await pilot.press("ctrl+s")
        assert await wait_until(
            pilot,
            lambda: (
                isinstance(app.screen, EditorScreen)
                and app.screen.query_one(TextArea).text == edited
            ),
        )
        assert "nothing was saved" in "\n".join(
            str(n.title) for n in app._notifications
        )
        assert "read-only" in notices(app)
    assert await count_all(checkpointer) == before
