"""Pilot tests of the investigation tools in the real app: search a thread (matches
marked in the tree, n / N to step through) and who changed a value, on a Timeloom
SQLite database and on a LangGraph database."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.pilot import Pilot

from tests.langgraph import lgdb
from tests.tui.conftest import SIZE, wait_for_workers, wait_until
from timeloom.backends.langgraph import open_langgraph
from timeloom.backends.memory import MemoryCheckpointer
from timeloom.backends.sqlite import SqliteCheckpointer
from timeloom.core.checkpointer import BaseCheckpointer
from timeloom.tui.app import TimeloomApp
from timeloom.tui.demo.build import build_demo
from timeloom.tui.investigate.du import thread_usage
from timeloom.tui.investigate.du_report import thread_report
from timeloom.tui.investigate.query import compile_query, document
from timeloom.tui.screens.investigate import (
    ProvenanceScreen,
    QueryScreen,
    StorageScreen,
)
from timeloom.tui.widgets.formatting import MATCH_MARK
from timeloom.tui.widgets.value_tree import ValueTree


@pytest.fixture
async def demo_db(tmp_path: Path) -> Path:
    path = tmp_path / "demo.db"
    async with SqliteCheckpointer(path) as cp:
        await build_demo(cp)
    return path


async def expected(cp: BaseCheckpointer, thread: str, query: str) -> list[str]:
    """The matching checkpoints, newest first, read one by one with get()."""
    compiled = compile_query(query)
    found = []
    async for meta in cp.summaries(thread):
        checkpoint = await cp.get(thread, meta.id)
        assert checkpoint is not None
        if compiled.holds(document(meta, checkpoint.values)):
            found.append(meta.id)
    return found


async def open_thread(pilot: Pilot[None], thread: str) -> TimeloomApp:
    app = pilot.app
    assert isinstance(app, TimeloomApp)
    await wait_for_workers(pilot)
    app.open_thread(thread)
    await wait_for_workers(pilot)
    assert await wait_until(pilot, lambda: app.detail.checkpoint is not None)
    return app


async def search(pilot: Pilot[None], app: TimeloomApp, query: str) -> None:
    await pilot.press("ctrl+f")
    assert await wait_until(pilot, lambda: isinstance(app.screen, QueryScreen))
    app.screen.query_one("#query-input").value = query  # type: ignore[attr-defined]
    await pilot.press("enter")
    await wait_for_workers(pilot)


def selected(app: TimeloomApp) -> str | None:
    meta = app.checkpoint_tree.highlighted()
    return meta.id if meta is not None else None


def tree_text(app: TimeloomApp) -> str:
    tree = app.checkpoint_tree
    return "\n".join(tree.render_line(y).text for y in range(tree.size.height))


async def test_search_marks_matches_and_n_steps_through_them(demo_db: Path) -> None:
    query = "values.refund.amount > `10`"
    app = TimeloomApp(SqliteCheckpointer(demo_db, read_only=True))
    async with app.run_test(size=SIZE) as pilot:
        app = await open_thread(pilot, "refund-4711")
        want = await expected(app.checkpointer, "refund-4711", query)
        assert 1 < len(want) < app.checkpoint_tree.row_count
        await search(pilot, app, query)
        tree = app.checkpoint_tree
        assert tree.matches == set(want)
        # The first checkpoint where it holds (the oldest match) is selected.
        assert await wait_until(pilot, lambda: selected(app) == want[-1])
        assert tree_text(app).count(f"{MATCH_MARK} match") == len(want)
        await pilot.press("n")  # down from the oldest match: wraps to the newest
        assert await wait_until(pilot, lambda: selected(app) == want[0])
        await pilot.press("n")
        assert await wait_until(pilot, lambda: selected(app) == want[1])
        await pilot.press("N")
        await pilot.press("N")
        assert await wait_until(pilot, lambda: selected(app) == want[-1])


async def test_a_bad_query_is_refused_as_you_type(demo_db: Path) -> None:
    app = TimeloomApp(SqliteCheckpointer(demo_db, read_only=True))
    async with app.run_test(size=SIZE) as pilot:
        app = await open_thread(pilot, "refund-4711")
        await pilot.press("ctrl+f")
        assert await wait_until(pilot, lambda: isinstance(app.screen, QueryScreen))
        await pilot.press(*"values.[")
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, QueryScreen)  # still open, saying why
        problem = app.screen.query_one("#query-problem")
        assert "not a valid JMESPath query" in str(problem.render())
        await pilot.press("escape")
        assert not app.checkpoint_tree.matches


async def test_who_changed_lists_the_changes_and_jumps(demo_db: Path) -> None:
    app = TimeloomApp(SqliteCheckpointer(demo_db, read_only=True))
    async with app.run_test(size=SIZE) as pilot:
        app = await open_thread(pilot, "refund-4711")
        head = selected(app)
        state = app.query_one("#state-tree", ValueTree)
        node = next(
            n
            for n in state.root.children
            if n.data is not None and n.data.path == ("messages",)
        )
        state.move_cursor(node)
        state.focus()
        await pilot.press("w")
        await wait_for_workers(pilot)
        assert await wait_until(pilot, lambda: isinstance(app.screen, ProvenanceScreen))
        screen = app.screen
        assert isinstance(screen, ProvenanceScreen)
        # Along the branch to the head, the checkpoints whose messages differ from
        # their parent's, read one by one.
        cp = app.checkpointer
        metas = {m.id: m async for m in cp.summaries("refund-4711")}
        branch, at = [], head
        while at in metas:
            branch.append(at)
            at = metas[at].parent_id
        changed, previous = [], None
        for checkpoint_id in reversed(branch):
            checkpoint = await cp.get("refund-4711", checkpoint_id)
            assert checkpoint is not None
            messages = checkpoint.values.get("messages")
            if messages != previous:
                changed.append(checkpoint_id)
            previous = messages
        assert [c.meta.id for c in screen.changes] == changed
        assert len(changed) > 3
        assert "messages" in screen.changes[1].diff
        await pilot.press("down", "enter")
        assert await wait_until(
            pilot, lambda: selected(app) == screen.changes[1].meta.id
        )
        assert selected(app) != head


async def test_search_a_langgraph_thread(tmp_path: Path) -> None:
    built = lgdb.build_sqlite(tmp_path / "langgraph.db")
    query = "values.messages[?role == 'tool']"
    app = TimeloomApp(open_langgraph(built.url))
    async with app.run_test(size=SIZE) as pilot:
        app = await open_thread(pilot, "chat-1")
        want = await expected(app.checkpointer, "chat-1", query)
        assert want
        await search(pilot, app, query)
        assert app.checkpoint_tree.matches == set(want)
        assert await wait_until(pilot, lambda: selected(app) == want[-1])


async def test_storage_of_a_thread_per_key(demo_db: Path) -> None:
    app = TimeloomApp(SqliteCheckpointer(demo_db, read_only=True))
    async with app.run_test(size=SIZE) as pilot:
        app = await open_thread(pilot, "refund-4711")
        await pilot.press("u")
        await wait_for_workers(pilot)
        assert await wait_until(pilot, lambda: isinstance(app.screen, StorageScreen))
        screen = app.screen
        assert isinstance(screen, StorageScreen)
        usage = await thread_usage(app.checkpointer, "refund-4711")
        assert screen.lines == thread_report(usage)
        rows = {line.split()[0] for line in screen.lines[2:]}
        assert set(usage.totals()) <= rows  # a row (with its sparkline) per key
        report = str(screen.query_one("#storage-report").render())
        assert "messages" in report
        await pilot.press("escape")
        assert not isinstance(app.screen, StorageScreen)


async def test_storage_of_a_langgraph_thread_explains_the_restoring(
    tmp_path: Path,
) -> None:
    built = lgdb.build_sqlite(tmp_path / "langgraph.db")
    app = TimeloomApp(open_langgraph(built.url))
    async with app.run_test(size=SIZE) as pilot:
        app = await open_thread(pilot, "chat-1")
        await pilot.press("u")
        await wait_for_workers(pilot)
        assert await wait_until(pilot, lambda: isinstance(app.screen, StorageScreen))
        text = "\n".join(app.screen.lines)  # type: ignore[attr-defined]
        assert "re-stored" in text
        assert "in Timeloom's layout" in text


async def test_storage_where_the_store_cannot_say_notifies() -> None:
    checkpointer = MemoryCheckpointer()
    await build_demo(checkpointer)
    app = TimeloomApp(checkpointer)
    async with app.run_test(size=SIZE) as pilot:
        app = await open_thread(pilot, "refund-4711")
        await pilot.press("u")
        await wait_for_workers(pilot)
        assert not isinstance(app.screen, StorageScreen)
        assert await wait_until(
            pilot,
            lambda: any(
                "Storage accounting" in str(n.title) for n in app._notifications
            ),
        )
