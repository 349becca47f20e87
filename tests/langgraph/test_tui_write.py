"""The TUI (driven by Pilot) writing to LangGraph databases through the user's graph:
fix a failed run, answer an interrupt, branch into a new thread; on SQLite and on
Postgres. And a LangGraph database opened without ``--graph`` or with ``-r`` is left
exactly as it was."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Checkbox, Input, TextArea

from tests.langgraph import lgdb
from tests.langgraph.test_write import cfg, langgraph_saver
from tests.tui.conftest import SIZE, wait_for_workers, wait_until
from timeloom.backends.langgraph import LangGraphReader, open_langgraph
from timeloom.tui.app import TimeloomApp
from timeloom.tui.ops.jsonedit import dumps
from timeloom.tui.ops.runners import open_runner
from timeloom.tui.ops.runners.langgraph import STRICT_ENV, LangGraphRunner
from timeloom.tui.screens.branch import BranchScreen
from timeloom.tui.screens.diff import ConfirmDiffScreen
from timeloom.tui.screens.editor import EditorScreen
from timeloom.tui.screens.error import ErrorModal
from timeloom.tui.screens.resume import ResumeScreen

LONG = 30.0
"""Seconds to wait for a run or a dialog (generous: CI machines can be loaded)."""


@pytest.fixture(autouse=True)
def no_cursor_blink(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Input, "cursor_blink", False)


@pytest.fixture
async def reader(writable: str) -> AsyncIterator[LangGraphReader]:
    found = open_langgraph(writable)
    yield found
    await found.aclose()


async def open_at(pilot: Pilot[None], app: TimeloomApp, thread_id: str) -> None:
    """Open a thread; its head is selected and the tree has the focus."""
    await wait_for_workers(pilot)
    app.open_thread(thread_id)
    await wait_for_workers(pilot)
    app.checkpoint_tree.focus()
    await wait_for_workers(pilot)
    assert app.selected_meta is not None
    assert app.selected_meta.thread_id == thread_id


def idle(app: TimeloomApp) -> bool:
    return not app.run_active and app.detail.checkpoint is not None


async def test_fix_a_failed_run_edit_then_resume(
    writable: str, reader: LangGraphReader
) -> None:
    app = TimeloomApp(reader, runner=LangGraphRunner(reader, lgdb.chat_builder()))
    async with app.run_test(size=SIZE) as pilot:
        await open_at(pilot, app, "fail-1")
        assert not app.query_one("#readonly-badge").display
        await pilot.press("r")  # the node fails again: its error is shown
        assert await wait_until(
            pilot,
            lambda: (
                isinstance(app.screen, ErrorModal)
                and bool(app.screen.query("#error-header"))
            ),
            seconds=LONG,
        )
        assert "respond" in str(app.screen.query_one("#error-header").render())
        await pilot.press("escape")
        await pilot.press("e")
        assert await wait_until(
            pilot,
            lambda: (
                isinstance(app.screen, EditorScreen)
                and bool(app.screen.query(TextArea))
            ),
            seconds=LONG,
        )
        head = app.detail.checkpoint
        assert head is not None
        note = str(app.screen.query_one("#editor-title").render())
        assert "Combined by a reducer, not replaced: messages, log" in note
        area = app.screen.query_one(TextArea)
        area.text = dumps({**head.values, "fail": False})
        await pilot.pause()
        await pilot.press("ctrl+s")
        assert await wait_until(
            pilot,
            lambda: isinstance(app.screen, ConfirmDiffScreen),
            seconds=LONG,
        )
        await pilot.press("ctrl+s")
        assert await wait_until(
            pilot,
            lambda: (
                app.selected_meta is not None and app.selected_meta.source == "update"
            ),
            seconds=LONG,
        )
        await wait_for_workers(pilot)
        await pilot.press("r")
        assert await wait_until(
            pilot,
            lambda: (
                idle(app)
                and app.thread_info is not None
                and app.thread_info.status == "done"
            ),
            seconds=LONG,
        )
    with langgraph_saver(writable) as saver:
        state = lgdb.chat_graph(saver).get_state(cfg("fail-1"))
    assert state.next == ()
    assert state.values["messages"][-1].content == "done"


async def test_answer_an_interrupt(writable: str, reader: LangGraphReader) -> None:
    app = TimeloomApp(reader, runner=LangGraphRunner(reader, lgdb.scenario_builder()))
    async with app.run_test(size=SIZE) as pilot:
        await open_at(pilot, app, "paused-1")
        await pilot.press("r")
        assert await wait_until(
            pilot, lambda: isinstance(app.screen, ResumeScreen), seconds=LONG
        )
        await pilot.press(*"no", "enter")
        assert await wait_until(
            pilot,
            lambda: app.thread_info is not None and app.thread_info.status == "done",
            seconds=LONG,
        )
    with langgraph_saver(writable) as saver:
        state = lgdb.scenario_graph(saver).get_state(cfg("paused-1"))
    assert state.values["approved"] == "no (checked deep down)"


async def test_branch_into_a_new_thread_then_resume_it(
    writable: str, reader: LangGraphReader
) -> None:
    app = TimeloomApp(reader, runner=LangGraphRunner(reader, lgdb.scenario_builder()))
    async with app.run_test(size=SIZE) as pilot:
        await open_at(pilot, app, "paused-1")
        origin = app.selected_meta
        assert origin is not None
        await pilot.press("b")
        assert await wait_until(
            pilot,
            lambda: (
                isinstance(app.screen, BranchScreen) and bool(app.screen.query(Input))
            ),
            seconds=LONG,
        )
        assert app.screen.query_one("#branch-ancestry", Checkbox)  # offered
        app.screen.query_one("#branch-name", Input).value = "paused-1-b"
        await pilot.press("enter")
        assert await wait_until(
            pilot, lambda: app.selected_thread == "paused-1-b", seconds=LONG
        )
        await wait_for_workers(pilot)
        root = app.selected_meta
        assert root is not None
        assert (root.parent_thread_id, root.parent_id) == ("paused-1", origin.id)
        await pilot.press("r")
        assert await wait_until(
            pilot, lambda: isinstance(app.screen, ResumeScreen), seconds=LONG
        )
        await pilot.press(*"maybe", "enter")
        assert await wait_until(
            pilot,
            lambda: (
                not app.run_active
                and app.thread_info is not None
                and app.thread_info.thread_id == "paused-1-b"
                and app.thread_info.status == "done"
            ),
            seconds=LONG,
        )
        await wait_for_workers(pilot)
        # The origin's tree links to the branch.
        app.open_thread("paused-1", select=origin.id)
        await wait_for_workers(pilot)
        assert await wait_until(
            pilot,
            lambda: (
                [m.thread_id for m in app.checkpoint_tree.forks_of(origin.id) or []]
                == ["paused-1-b"]
            ),
            seconds=LONG,
        )
    with langgraph_saver(writable) as saver:
        graph = lgdb.scenario_graph(saver)
        assert graph.get_state(cfg("paused-1-b")).values["approved"] == (
            "maybe (checked deep down)"
        )
        assert graph.get_state(cfg("paused-1")).next == ("approve",)


# -- nothing written without --graph, or with -r -------------------------------------


def stored(path: Path) -> dict[str, str]:
    """The bytes of the database: its file and, when it holds any, its -wal (the
    -shm file is SQLite's shared-memory index, which any reader may create)."""
    out = {}
    for suffix in ("", "-wal"):
        part = Path(f"{path}{suffix}")
        if part.exists() and part.stat().st_size > 0:
            out[suffix] = hashlib.sha256(part.read_bytes()).hexdigest()
    return out


@pytest.mark.parametrize(
    ("graph_ref", "read_only"),
    [(None, False), ("tests.langgraph.lgdb:chat_builder", True)],
    ids=["no-graph", "read-only-with-graph"],
)
async def test_the_database_is_unchanged(
    scenario_db: Path,
    graph_ref: str | None,
    read_only: bool,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(STRICT_ENV, raising=False)
    before = stored(scenario_db)
    reader = open_langgraph(str(scenario_db))
    runner = open_runner(reader, graph_ref, read_only=read_only)
    app = TimeloomApp(reader, runner=runner)
    async with app.run_test(size=SIZE) as pilot:
        await open_at(pilot, app, "fail-1")
        assert app.query_one("#readonly-badge").display
        notes: list[Any] = []
        for key in ("e", "b", "r"):
            await pilot.press(key)
            await pilot.pause()
            notes.extend(n.message for n in app._notifications)
        assert not isinstance(app.screen, EditorScreen | BranchScreen | ResumeScreen)
        expected = "read-only (-r)" if read_only else "--graph"
        assert any(expected in str(n) for n in notes)
    assert stored(scenario_db) == before
