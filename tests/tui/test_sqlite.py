"""Pilot tests on SQLite files opened the way ``timeloom open`` opens them (browsing
and following: tests/tui/test_follow.py)."""

from __future__ import annotations

from pathlib import Path

from tests.tui.conftest import SIZE, wait_for_workers
from timeloom.tui.app import TimeloomApp
from timeloom.tui.ops.opening import open_url


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
