"""Pilot tests: the real app on a seeded memory checkpointer, driven by keys."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from textual.message import Message
from textual.widgets import Static, TabbedContent

from tests.tui.conftest import SIZE, wait_for_workers, wait_until
from tests.tui.seed import Seeder, seed_long_thread
from timeloom.backends.memory import MemoryCheckpointer
from timeloom.core.checkpoint import Checkpoint
from timeloom.core.errors import SerializationError, StoreConnectionError
from timeloom.core.ids import new_checkpoint_id
from timeloom.tui.app import TimeloomApp
from timeloom.tui.loaders import FIRST_PAGE, HISTORY_PAGE
from timeloom.tui.messages import ThreadOpened
from timeloom.tui.screens.error import ErrorModal
from timeloom.tui.screens.help import HelpScreen
from timeloom.tui.widgets.value_tree import ValueTree

AppOf = Callable[[MemoryCheckpointer], TimeloomApp]
Seeded = tuple[MemoryCheckpointer, Seeder]


def _static_text(app: TimeloomApp, selector: str) -> str:
    return str(app.query_one(selector, Static).render())


def _labels(app: TimeloomApp) -> list[str]:
    tree = app.checkpoint_tree
    return [
        tree.row(i).meta.thread_id + ":" + str(tree.row(i).meta.step)
        for i in range(tree.row_count)
    ]


async def test_open_shows_threads_tree_and_state(seeded: Seeded, app_of: AppOf) -> None:
    checkpointer, seeder = seeded
    app = app_of(checkpointer)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_workers(pilot)
        assert app.thread_list.total == len(seeder.heads)
        # Most recently updated first: the fork was written last.
        first = app.thread_list.info_at(0)
        assert first is not None
        assert first.thread_id == "refund-42-b"
        assert app.selected_thread == "refund-42-b"
        assert app.checkpoint_tree.row_count == 3
        assert app.selected_checkpoint == seeder.heads["refund-42-b"]
        assert "memory:" in _static_text(app, "#location")
        assert "14 threads" in _static_text(app, "#counts")
        assert not app.query_one("#readonly-badge").display
        state = app.query_one("#state-tree", ValueTree)
        keys = [str(node.label) for node in state.root.children]
        assert keys == ["messages", "order", "refund", "intent", "approved", "receipt"]


async def test_filter_by_prefix_and_status(seeded: Seeded, app_of: AppOf) -> None:
    checkpointer, _ = seeded
    app = app_of(checkpointer)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_workers(pilot)
        await pilot.press("slash", *"refund-4")
        await wait_for_workers(pilot)
        assert app.thread_list.total == 2
        ids = {app.thread_list.info_at(i).thread_id for i in range(2)}  # type: ignore[union-attr]
        assert ids == {"refund-42", "refund-42-b"}
        await pilot.press("escape")  # clears the filter, back to the list
        await wait_for_workers(pilot)
        assert app.thread_list.total == 14
        assert app.thread_list.has_focus
        await pilot.press("s", "s")  # any → running → paused
        await wait_for_workers(pilot)
        assert app.status_filter == "paused"
        assert app.thread_list.total == 1
        only = app.thread_list.info_at(0)
        assert only is not None
        assert only.thread_id == "refund-42"
        assert "1 matching thread" in _static_text(app, "#counts")


async def test_tree_shows_sibling_branches_and_moves(
    seeded: Seeded, app_of: AppOf
) -> None:
    checkpointer, seeder = seeded
    app = app_of(checkpointer)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_workers(pilot)
        app.open_thread("refund-77")
        await wait_for_workers(pilot)
        tree = app.checkpoint_tree
        assert tree.row_count == 9
        # The older branch (declined → notify) is drawn in a second lane that joins
        # the branch point, the proposal at step 2.
        joins = [tree.row(i) for i in range(tree.row_count) if tree.row(i).branches]
        assert [(r.meta.step, r.after) for r in joins] == [(2, "─╯")]
        assert tree.row(3).before == "│ "
        tree.focus()
        await pilot.press("down", "down")
        await wait_for_workers(pilot)
        meta = tree.highlighted()
        assert meta is not None
        assert meta.step == 3
        assert meta.source == "update"
        assert app.selected_checkpoint == meta.id
        header = _static_text(app, "#state-header")
        assert "step 3" in header
        assert "next: approve" in header
        await pilot.press("end")
        await wait_for_workers(pilot)
        assert app.selected_meta is not None
        assert app.selected_meta.step == -1


async def test_fork_jump_and_back_is_one_key(seeded: Seeded, app_of: AppOf) -> None:
    checkpointer, _ = seeded
    app = app_of(checkpointer)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_workers(pilot)
        app.open_thread("refund-42")
        await wait_for_workers(pilot)
        tree = app.checkpoint_tree
        tree.focus()
        await pilot.press("down")  # lookup_order, which refund-42-b forked from
        await wait_for_workers(pilot)
        origin = tree.highlighted()
        assert origin is not None
        assert origin.nodes == ("lookup_order",)
        forks = tree.forks_of(origin.id)
        assert forks is not None
        assert [f.thread_id for f in forks] == ["refund-42-b"]

        await pilot.press("o")
        await wait_for_workers(pilot)
        assert app.selected_thread == "refund-42-b"
        root = tree.highlighted()
        assert root is not None
        assert root.is_fork_root
        assert root.parent_id == origin.id
        assert app.selected_checkpoint == root.id

        await pilot.press("o")
        await wait_for_workers(pilot)
        assert app.selected_thread == "refund-42"
        assert app.selected_checkpoint == origin.id

        await pilot.press("backspace")  # back to where the last jump started
        await wait_for_workers(pilot)
        assert app.selected_checkpoint == root.id


async def test_tabs_show_writes_errors_and_metadata(
    seeded: Seeded, app_of: AppOf
) -> None:
    checkpointer, seeder = seeded
    app = app_of(checkpointer)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_workers(pilot)
        app.open_thread("order-9")
        await wait_for_workers(pilot)
        tabs = app.query_one("#detail-tabs", TabbedContent)
        await pilot.press("2")
        assert tabs.active == "writes"
        header = _static_text(app, "#writes-header")
        assert "issue_refund raised PaymentError" in header
        writes = app.query_one("#writes-tree", ValueTree)
        top = [str(node.label) for node in writes.root.children]
        assert top == ["lookup_order", "«errors»"]

        await pilot.press("3")
        assert tabs.active == "meta"
        head = checkpointer._by_id[seeder.heads["order-9"]].meta
        body = _static_text(app, "#meta-body")
        assert head.id in body
        assert str(head.parent_id) in body
        assert 'user: "ana"' in body

        await pilot.press("p")  # jump to the parent
        await wait_for_workers(pilot)
        assert app.selected_checkpoint == head.parent_id
        await pilot.press("1")
        assert tabs.active == "state"


async def test_state_values_render_by_type_and_copy(
    seeded: Seeded, app_of: AppOf
) -> None:
    checkpointer, _ = seeded
    app = app_of(checkpointer)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_workers(pilot)
        app.open_thread("refund-77")
        await wait_for_workers(pilot)
        state = app.query_one("#state-tree", ValueTree)
        state.focus()
        receipt = state.root.children[-1]
        assert receipt.data is not None
        label = state.label_of(receipt.data).plain
        # The seed's Receipt class is unknown to the codec: inert, named by its type.
        assert label.endswith("‹Receipt› {3 fields}")
        order = state.root.children[1]
        order.expand()
        await pilot.pause()
        rendered = {
            str(child.label): state.label_of(child.data).plain
            for child in order.children
            if child.data is not None
        }
        assert rendered["amount"].endswith("amount  18.50")
        assert rendered["placed_at"].endswith("2026-10-24 17:05:09+00:00")
        assert rendered["invoice_pdf"].endswith("<2.2 KB of bytes>")
        assert rendered["notes"].endswith('…" (313 chars)')
        state.move_cursor(order.children[0])  # order.id
        await pilot.press("ctrl+c")
        assert app.clipboard == "77"
        await pilot.press("y")
        assert app.clipboard == "order.id"


async def test_follow_picks_up_a_new_checkpoint(seeded: Seeded, app_of: AppOf) -> None:
    checkpointer, seeder = seeded
    app = app_of(checkpointer)
    seen: list[Message] = []
    async with app.run_test(size=SIZE, message_hook=seen.append) as pilot:
        await wait_for_workers(pilot)
        await pilot.press("down", "down")  # the list's cursor onto chat-3
        await wait_for_workers(pilot)
        assert app.selected_thread == "chat-3"
        await pilot.press("f")
        assert app.following
        assert app.query_one("#follow-badge").display
        head = await checkpointer.get("chat-3")
        assert head is not None
        # Another writer commits a step, with a real (current) id and time.
        new = replace(
            head,
            id=new_checkpoint_id(),
            created_at=datetime.now(UTC),
            parent_id=head.id,
            parent_thread_id="chat-3",
            step=head.step + 1,
            writes={"propose_refund": {"refund": None}},
            next=(),
        )
        seen.clear()
        await checkpointer.put(new, expected_head=head.id)
        assert await wait_until(pilot, lambda: app.selected_checkpoint == new.id)
        assert app.checkpoint_tree.head_id == new.id
        assert app.checkpoint_tree.row_count == 4
        # The threads list re-sorts (chat-3 is now the newest) and its cursor stays
        # on chat-3; the open thread never switches, not even for a moment.
        assert await wait_until(pilot, lambda: app.thread_list.cursor == 0)
        info = app.thread_list.info_at(0)
        assert info is not None
        assert info.thread_id == "chat-3"
        assert info.status == "done"
        opened = {m.info.thread_id for m in seen if isinstance(m, ThreadOpened)}
        assert opened <= {"chat-3"}
        await pilot.press("f")
        assert not app.following


async def test_read_only_badge(seeded: Seeded, app_of: AppOf) -> None:
    checkpointer, _ = seeded
    checkpointer.read_only = True
    app = app_of(checkpointer)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_workers(pilot)
        badge = app.query_one("#readonly-badge", Static)
        assert badge.display
        assert str(badge.render()) == "READ-ONLY"


class _Unreachable(MemoryCheckpointer):
    async def setup(self) -> None:
        raise StoreConnectionError(
            "connection refused", title="Could not open checkpoint database"
        )


async def test_unopenable_database_exits_with_code_2() -> None:
    app = TimeloomApp(_Unreachable())
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_workers(pilot)
    assert app.return_code == 2
    assert app.fatal_error is not None
    assert app.fatal_error.title == "Could not open checkpoint database"


class _Corrupt(MemoryCheckpointer):
    """A database where one thread's values cannot be decoded, and one cannot load."""

    async def get(
        self, thread_id: str | None, checkpoint_id: str | None = None
    ) -> Checkpoint | None:
        if thread_id == "order-7":
            raise SerializationError(
                "bad msgpack at byte 12", title="Undecodable value"
            )
        return await super().get(thread_id, checkpoint_id)

    def summaries(self, thread_id: str, **kwargs: Any) -> Any:
        if thread_id == "batch-03":
            raise StoreConnectionError("server closed the connection", title="Lost")
        return super().summaries(thread_id, **kwargs)


async def test_errors_notify_or_show_a_dialog_and_the_app_keeps_working() -> None:
    checkpointer = _Corrupt()
    from tests.tui.seed import seed_refund_agent

    await seed_refund_agent(checkpointer)
    app = TimeloomApp(checkpointer)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_workers(pilot)
        app.open_thread("order-7")
        await wait_for_workers(pilot)
        assert [n.title for n in app._notifications] == ["Undecodable value"]
        assert "bad msgpack" in _static_text(app, "#state-header")
        app.open_thread("batch-03")
        await wait_for_workers(pilot)
        assert isinstance(app.screen, ErrorModal)
        assert app.screen.error_title == "Lost"
        await pilot.press("escape")
        app.open_thread("refund-42")
        await wait_for_workers(pilot)
        assert app.checkpoint_tree.row_count == 4  # still working


async def test_long_thread_pages_in(app_of: AppOf) -> None:
    checkpointer = MemoryCheckpointer()
    await seed_long_thread(checkpointer, "long", 1_300)
    app = app_of(checkpointer)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_workers(pilot)
        tree = app.checkpoint_tree
        # A first page, then one more as the cursor is near its end: never all.
        assert tree.row_count == FIRST_PAGE + HISTORY_PAGE
        tree.focus()
        for _ in range(3):
            await pilot.press("end")
            await wait_for_workers(pilot)
        assert tree.row_count == 1_300
        assert tree.exhausted
        meta = tree.highlighted()
        assert meta is not None
        assert meta.step == -1


async def test_help_screen_and_palette_commands(seeded: Seeded, app_of: AppOf) -> None:
    checkpointer, _ = seeded
    app = app_of(checkpointer)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_workers(pilot)
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        text = _static_text(app.screen, "#help-text")  # type: ignore[arg-type]
        assert "Show checkpoints as other processes write them" in text
        assert "Copy path" in text
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)
        names = [c.name for c in app.palette_commands()]
        assert "Jump to fork / origin" in names
        assert "Show only failed threads" in names
        run = next(c for c in app.palette_commands() if c.name == "Show the Writes tab")
        run.run()
        await pilot.pause()
        assert app.query_one("#detail-tabs", TabbedContent).active == "writes"


async def test_mouse_opens_threads_and_selects_checkpoints(
    seeded: Seeded, app_of: AppOf
) -> None:
    checkpointer, _ = seeded
    app = app_of(checkpointer)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_workers(pilot)
        # Row 3 of the list (after the filter line and a gap) is refund-77.
        assert await pilot.click("#thread-list", offset=(5, 3))
        await wait_for_workers(pilot)
        assert app.selected_thread == "refund-77"
        assert app.checkpoint_tree.has_focus
        assert await pilot.click("#checkpoint-tree", offset=(10, 2))
        await wait_for_workers(pilot)
        meta = app.checkpoint_tree.highlighted()
        assert meta is not None
        assert meta.source == "update"
        assert app.selected_checkpoint == meta.id


async def test_palette_provider_finds_the_app_commands(
    seeded: Seeded, app_of: AppOf
) -> None:
    from timeloom.tui.commands import TimeloomCommands

    checkpointer, _ = seeded
    app = app_of(checkpointer)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_workers(pilot)
        provider = TimeloomCommands(app.screen)
        hits = [hit async for hit in provider.search("follow")]
        assert [str(hit.text) for hit in hits] == ["Follow: watch for new checkpoints"]
        found = [hit async for hit in provider.discover()]
        assert len(found) == len(list(app.palette_commands()))
        hits[0].command()
        assert app.following
