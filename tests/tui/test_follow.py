"""Browsing a shared database read-only and following another process's writes, on
SQLite and on PostgreSQL, opened the way ``timeloom open URL --read-only`` opens
them: one scenario, parametrized over the store."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from textual.widgets import Static

from tests.tui.conftest import SIZE, wait_for_workers, wait_until
from tests.tui.seed import seed_refund_agent
from timeloom.backends.postgres import PostgresCheckpointer
from timeloom.backends.sqlite import SqliteCheckpointer
from timeloom.core.checkpointer import BaseCheckpointer
from timeloom.core.ids import new_checkpoint_id
from timeloom.tui.app import TimeloomApp
from timeloom.tui.ops.opening import open_url


@dataclass(frozen=True)
class Store:
    """A database holding the refund-agent scenario, and a writer on it that the app
    sees as another process."""

    kind: str
    url: str
    writer: BaseCheckpointer


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    if request.param == "sqlite":
        path = tmp_path / "checkpoints.db"
        async with SqliteCheckpointer(path) as writer:
            await seed_refund_agent(writer)
            yield Store("sqlite", str(path), writer)
        return
    dsn: str = request.getfixturevalue("postgres_dsn")
    async with PostgresCheckpointer(dsn) as writer:
        await seed_refund_agent(writer)
        yield Store("postgres", dsn, writer)


async def test_browse_read_only_and_follow_a_writer(store: Store) -> None:
    app = TimeloomApp(open_url(store.url, read_only=True))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_workers(pilot)
        assert app.checkpointer.read_only
        assert app.query_one("#readonly-badge").display
        location = str(app.query_one("#location", Static).render())
        if store.kind == "postgres":  # the URL, its password masked
            assert location == app.checkpointer.url
            assert location.startswith("postgresql://")
        else:  # a file as its plain path
            assert location == store.url
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
        head = await store.writer.get("refund-42")
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
        await store.writer.put(new, expected_head=head.id)
        assert await wait_until(pilot, lambda: app.selected_checkpoint == new.id)
        assert tree.head_id == new.id
        assert await wait_until(
            pilot,
            lambda: getattr(app.thread_list.info_at(0), "thread_id", "") == "refund-42",
        )
