"""Pilot tests on SQLite files opened the way ``timeloom open`` opens them."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.tui.conftest import SIZE, wait_for_workers, wait_until
from tests.tui.seed import write_sqlite
from timeloom.backends.sqlite import SqliteCheckpointer
from timeloom.core.ids import new_checkpoint_id
from timeloom.tui.app import TimeloomApp
from timeloom.tui.ops.opening import open_url


@pytest.fixture
async def database(tmp_path: Path) -> Path:
    """A SQLite file holding the refund-agent scenario."""
    path = tmp_path / "checkpoints.db"
    await write_sqlite(str(path))
    return path


async def test_read_only_browse_and_follow_a_writer(database: Path) -> None:
    app = TimeloomApp(open_url(str(database), read_only=True))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_workers(pilot)
        assert app.checkpointer.read_only
        assert app.query_one("#readonly-badge").display
        assert app.thread_list.total == 14

        app.open_thread("refund-42")
        await wait_for_workers(pilot)
        tree = app.checkpoint_tree
        tree.focus()
        await pilot.press("down", "o")  # lookup_order → its fork
        await wait_for_workers(pilot)
        assert app.selected_thread == "refund-42-b"
        await pilot.press("o")  # and back to the origin
        await wait_for_workers(pilot)
        assert app.selected_thread == "refund-42"

        await pilot.press("f")
        # Another connection (another process, as far as the app can tell) writes.
        async with SqliteCheckpointer(database) as writer:
            head = await writer.get("refund-42")
            assert head is not None
            new = replace(
                head,
                id=new_checkpoint_id(),
                created_at=datetime.now(UTC),
                parent_id=head.id,
                parent_thread_id=head.thread_id,
                step=head.step + 1,
                writes={"approve": {"approved": True}},
                next=("issue_refund",),
            )
            await writer.put(new, expected_head=head.id)
        assert await wait_until(pilot, lambda: app.selected_checkpoint == new.id)
        assert tree.head_id == new.id
        assert await wait_until(
            pilot,
            lambda: getattr(app.thread_list.info_at(0), "thread_id", "") == "refund-42",
        )


async def test_a_file_that_is_not_a_database_exits_with_code_2(tmp_path: Path) -> None:
    path = tmp_path / "garbage.db"
    path.write_bytes(b"this is not a database" * 100)
    app = TimeloomApp(open_url(str(path), read_only=True))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_workers(pilot)
    assert app.return_code == 2
    assert app.fatal_error is not None


async def test_a_langgraph_database_opens_read_only_and_says_so(tmp_path: Path) -> None:
    from tests.langgraph.lgdb import build_sqlite

    built = build_sqlite(tmp_path / "langgraph.db")
    app = TimeloomApp(open_url(built.url, read_only=False))  # no --read-only given
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_workers(pilot)
        assert app.checkpointer.read_only
        assert app.query_one("#readonly-badge").display
        assert app.thread_list.total == len(built.threads)
        app.open_thread("fail-1")
        await wait_for_workers(pilot)
        assert app.checkpoint_tree.row_count > 0
        head = app.checkpoint_tree.highlighted()
        assert head is not None
        assert head.has_error
        assert app.detail.checkpoint is not None
        assert app.detail.checkpoint.id == head.id
