"""A Pilot test on PostgreSQL, opened the way ``timeloom open postgresql://...`` does."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest
from textual.widgets import Static

from tests.tui.conftest import SIZE, wait_for_workers, wait_until
from tests.tui.seed import seed_refund_agent
from timeloom.backends.postgres import PostgresCheckpointer
from timeloom.core.ids import new_checkpoint_id
from timeloom.tui.app import TimeloomApp
from timeloom.tui.ops.opening import open_url

pytestmark = pytest.mark.postgres


async def test_browse_read_only_and_follow_on_postgres(postgres_dsn: str) -> None:
    async with PostgresCheckpointer(postgres_dsn) as writer:
        await seed_refund_agent(writer)
        app = TimeloomApp(open_url(postgres_dsn, read_only=True))
        async with app.run_test(size=SIZE) as pilot:
            await wait_for_workers(pilot)
            assert app.query_one("#readonly-badge").display
            location = str(app.query_one("#location", Static).render())
            assert location == app.checkpointer.url
            assert location.startswith("postgresql://")
            assert app.thread_list.total == 14

            app.open_thread("refund-42")
            await wait_for_workers(pilot)
            app.checkpoint_tree.focus()
            await pilot.press("down", "o")  # into the fork, and back
            await wait_for_workers(pilot)
            assert app.selected_thread == "refund-42-b"
            await pilot.press("o")
            await wait_for_workers(pilot)
            assert app.selected_thread == "refund-42"

            await pilot.press("f")
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
            assert app.checkpoint_tree.head_id == new.id
