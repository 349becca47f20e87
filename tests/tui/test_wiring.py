"""Pilot tests of part 2 wired into the real app: mark and diff, edit, branch, resume,
and the write actions refused (and saying why) when they cannot run."""

from __future__ import annotations

from decimal import Decimal

from textual.widgets import Input, Static

from tests.tui.conftest import (
    SIZE,
    Demo,
    branch_here,
    count_all,
    fork_root,
    go,
    go_to_head,
    notices,
    open_editor,
    save_through_the_preview,
    wait_for_reads,
    wait_until,
    written_by,
)
from timeloom.tui.app import TimeloomApp
from timeloom.tui.demo.build import FORK
from timeloom.tui.screens.branch import BranchScreen
from timeloom.tui.screens.diff import ConfirmDiffScreen, DiffScreen
from timeloom.tui.screens.editor import EditorScreen
from timeloom.tui.screens.error import ErrorModal
from timeloom.tui.screens.help import HelpScreen
from timeloom.tui.screens.resume import ResumeScreen
from timeloom.tui.widgets.checkpoint_tree import CheckpointTree
from timeloom.tui.widgets.diff_view import DiffView

# -- mark and diff ------------------------------------------------------------------------


async def test_diff_against_the_parent(demo: Demo) -> None:
    checkpointer, graph = demo
    proposal = await written_by(checkpointer, "refund-3150", "propose_refund")
    app = TimeloomApp(checkpointer, graph=graph)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_reads(pilot)
        await go(pilot, "refund-3150", proposal.id)
        await pilot.press("d")
        await wait_for_reads(pilot)
        screen = app.screen
        assert isinstance(screen, DiffScreen)
        assert screen.base is not None
        assert screen.base.id == proposal.parent_id
        paths = [c.path_text for c in screen.query_one(DiffView).entries]
        assert paths == ["messages[3]", "refund"]
        # The app's keys are off on the diff screen: e does not open an editor.
        assert app.check_action("edit", ()) is False
        await pilot.press("e", "d")
        await wait_for_reads(pilot)
        assert app.screen is screen
        await pilot.press("escape")
        assert not isinstance(app.screen, DiffScreen)
        assert app.check_action("edit", ()) is True


async def test_diff_against_a_checkpoint_marked_in_another_thread(demo: Demo) -> None:
    checkpointer, graph = demo
    proposal = await written_by(checkpointer, "refund-3150", "propose_refund")
    root = await fork_root(checkpointer)
    app = TimeloomApp(checkpointer, graph=graph)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_reads(pilot)
        await go(pilot, "refund-3150", proposal.id)
        badge = app.query_one("#mark-badge", Static)
        assert not badge.display
        await pilot.press("m")
        assert app.marked == proposal.id
        assert badge.display
        assert "refund-3150 @ " in str(badge.render())
        assert "◆ marked step" in str(app.query_one("#tree-pane").border_subtitle)
        tree = app.query_one(CheckpointTree)
        assert tree.marked_id == proposal.id
        marked_row = next(
            tree.render_line(y).text
            for y in range(tree.size.height)
            if "◆ marked" in tree.render_line(y).text
        )
        assert "propose_refund" in marked_row, "the mark is drawn on its row"
        await go(pilot, FORK, root.id)
        await pilot.press("d")
        await wait_for_reads(pilot)
        screen = app.screen
        assert isinstance(screen, DiffScreen)
        assert screen.base is not None
        assert screen.base.id == proposal.id
        entries = screen.query_one(DiffView).entries
        amount = next(c for c in entries if c.path_text == "refund.amount")
        assert (amount.old, amount.new) == (Decimal("749.00"), Decimal("500.00"))
        await pilot.press("escape")
        # Marking the marked checkpoint again clears the mark.
        await go(pilot, "refund-3150", proposal.id)
        await pilot.press("m")
        assert app.marked is None
        assert not badge.display


# -- edit -----------------------------------------------------------------------------------


async def test_invalid_json_is_refused_and_nothing_is_written(demo: Demo) -> None:
    checkpointer, graph = demo
    before = await count_all(checkpointer)
    app = TimeloomApp(checkpointer, graph=graph)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_reads(pilot)
        await go_to_head(pilot, "refund-2077")
        area = await open_editor(pilot)
        area.load_text(area.text.replace('"currency": "EUR"', '"currency": EUR'))
        await pilot.press("ctrl+s")
        await wait_for_reads(pilot)
        assert isinstance(app.screen, EditorScreen)  # no preview, no save
        status = str(app.screen.query_one("#editor-status", Static).render())
        assert status.startswith("✗")
        await pilot.press("escape", "escape")  # discard
        await wait_for_reads(pilot)
        assert not isinstance(app.screen, EditorScreen)
    assert await count_all(checkpointer) == before


async def test_a_saved_edit_shows_its_update_checkpoint(demo: Demo) -> None:
    checkpointer, graph = demo
    app = TimeloomApp(checkpointer, graph=graph)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_reads(pilot)
        info = await go_to_head(pilot, "refund-2077")
        rows = app.checkpoint_tree.row_count
        area = await open_editor(pilot)
        assert '"194.50"' in area.text  # the proposed refund (half the desk)
        area.load_text(area.text.replace('"194.50"', '"150.00"', 1))
        await save_through_the_preview(pilot)
        await wait_for_reads(pilot)
        assert not isinstance(app.screen, EditorScreen | ConfirmDiffScreen)
        assert await wait_until(
            pilot, lambda: app.checkpoint_tree.row_count == rows + 1
        )
        saved = await checkpointer.get_thread("refund-2077")
        assert saved is not None
        assert saved.head_id != info.head_id
        selected = app.checkpoint_tree.highlighted()
        assert selected is not None
        assert selected.id == saved.head_id
        assert selected.source == "update"
        new = await checkpointer.get("refund-2077", saved.head_id)
        assert new is not None
        assert new.values["refund"]["amount"] == Decimal("150.00")
        assert "Edit saved" in "\n".join(str(n.title) for n in app._notifications)


# -- branch -------------------------------------------------------------------------------


async def test_branch_opens_the_new_thread(demo: Demo) -> None:
    checkpointer, graph = demo
    proposal = await written_by(checkpointer, "refund-3150", "propose_refund")
    app = TimeloomApp(checkpointer, graph=graph)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_reads(pilot)
        total = app.thread_list.total
        await go(pilot, "refund-3150", proposal.id)
        assert await branch_here(pilot) == "refund-3150-b"
        assert await wait_until(pilot, lambda: app.thread_list.total == total + 1)
        assert app.selected_thread == "refund-3150-b"
        assert app.thread_list.index_of("refund-3150-b") is not None
        info = await checkpointer.get_thread("refund-3150-b")
        assert info is not None
        assert app.checkpoint_tree.thread_id == "refund-3150-b"
        selected = app.checkpoint_tree.highlighted()
        assert selected is not None
        assert selected.id == info.head_id
        assert selected.is_fork_root
        assert info.forked_from == ("refund-3150", proposal.id)


# -- resume -------------------------------------------------------------------------------


async def test_resume_through_the_approval_interrupt(demo: Demo) -> None:
    checkpointer, graph = demo
    app = TimeloomApp(checkpointer, graph=graph)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_reads(pilot)
        assert (await go_to_head(pilot, "refund-2077")).status == "paused"
        rows = app.checkpoint_tree.row_count
        await pilot.press("r")
        assert await wait_until(pilot, lambda: isinstance(app.screen, ResumeScreen))
        assert app.run_active
        payload = " ".join(
            str(s.render()) for s in app.screen.query(".resume-payload Static")
        )
        assert "Approve this refund?" in payload
        assert '"amount": "194.50"' in payload
        await pilot.press(*"yes", "enter")
        assert await wait_until(pilot, lambda: not app.run_active)
        await wait_for_reads(pilot)
        done = await checkpointer.get_thread("refund-2077")
        assert done is not None
        assert done.status == "done"
        assert app.checkpoint_tree.row_count > rows
        selected = app.checkpoint_tree.highlighted()
        assert selected is not None
        assert selected.id == done.head_id
        assert await wait_until(
            pilot,
            lambda: app.thread_info is not None and app.thread_info.status == "done",
        )
        assert "the run finished" in notices(app)
        tree = app.checkpoint_tree
        assert await wait_until(
            pilot,
            lambda: (
                not any(tree.row(i).meta.has_interrupt for i in range(tree.row_count))
            ),
        ), "the answered interrupt is no longer drawn as pending"


async def test_resume_a_branch_to_completion(demo: Demo) -> None:
    checkpointer, graph = demo
    first = [m async for m in checkpointer.summaries("question-88")][-1]
    app = TimeloomApp(checkpointer, graph=graph)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_reads(pilot)
        await go(pilot, "question-88", first.id)
        assert await branch_here(pilot) == "question-88-b"
        assert app.selected_thread == "question-88-b"
        await pilot.press("r")
        assert await wait_until(pilot, lambda: "the run finished" in notices(app))
        info = await checkpointer.get_thread("question-88-b")
        assert info is not None
        assert info.status == "done"
        assert not isinstance(app.screen, ResumeScreen)  # no question on the way
        assert app.checkpoint_tree.row_count == info.checkpoint_count


async def test_a_failing_node_opens_the_error_dialog(demo: Demo) -> None:
    checkpointer, graph = demo
    app = TimeloomApp(checkpointer, graph=graph)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_reads(pilot)
        assert (await go_to_head(pilot, "refund-3150")).status == "failed"
        await pilot.press("r")
        assert await wait_until(pilot, lambda: isinstance(app.screen, ErrorModal))
        header = " ".join(str(s.render()) for s in app.screen.query(Static))
        assert "issue_refund" in header
        assert "Traceback" in header


# -- refused --------------------------------------------------------------------------------


async def test_read_only_refuses_every_write_and_says_why(demo: Demo) -> None:
    checkpointer, graph = demo
    checkpointer.read_only = True
    before = await count_all(checkpointer)
    app = TimeloomApp(checkpointer, graph=graph)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_reads(pilot)
        await go_to_head(pilot, "refund-2077")
        for action in ("edit", "branch", "resume"):
            assert app.check_action(action, ()) is None  # shown dimmed
        assert app.check_action("diff", ()) is True  # reading still works
        active = app.screen.active_bindings
        for key in ("e", "b", "r"):
            assert not active[key].enabled
        assert "open read-only" in str(app.query_one("#readonly-badge").tooltip)
        for key in ("e", "b", "r"):
            await pilot.press(key)
            await wait_for_reads(pilot)
            assert not isinstance(app.screen, EditorScreen | BranchScreen)
        assert notices(app).count("is open read-only") == 3
        # The palette's entries run the actions directly: refused the same way.
        app.clear_notifications()
        app.action_edit()
        app.action_branch()
        await pilot.pause()
        assert notices(app).count("is open read-only") == 2
        assert not app.workers  # nothing started
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        text = str(app.screen.query_one("#help-text", Static).render())
        assert "Not available here" in text
        assert "reopen it without --read-only" in " ".join(text.split())
    assert await count_all(checkpointer) == before


async def test_resume_without_the_graph_names_the_flag(demo: Demo) -> None:
    checkpointer, _ = demo
    app = TimeloomApp(checkpointer)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_reads(pilot)
        await go_to_head(pilot, "refund-2077")
        assert app.check_action("resume", ()) is None
        assert app.check_action("edit", ()) is True  # edits work without a graph
        assert app.query_one("#nograph-badge").display
        await pilot.press("r")
        assert "resume needs the graph: timeloom open memory: --graph" in notices(app)
        assert not app.run_active


async def test_stop_run_while_the_question_is_open(demo: Demo) -> None:
    checkpointer, graph = demo
    app = TimeloomApp(checkpointer, graph=graph)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_reads(pilot)
        info = await go_to_head(pilot, "refund-2077")
        assert app.check_action("stop_run", ()) is False  # hidden: nothing runs
        await pilot.press("r")
        assert await wait_until(pilot, lambda: isinstance(app.screen, ResumeScreen))
        assert app.query_one("#run-badge").display
        app.action_stop_run()  # what the palette's "Stop run" does
        assert await wait_until(pilot, lambda: not app.run_active)
        assert await wait_until(pilot, lambda: not isinstance(app.screen, ResumeScreen))
        assert not app.query_one("#run-badge").display
        assert "Stopped" in notices(app)
    after = await checkpointer.get_thread("refund-2077")
    assert after is not None
    assert after.head_id == info.head_id  # nothing was written
    assert after.status == "paused"


async def test_x_without_a_run_says_there_is_none(demo: Demo) -> None:
    """The stop key is hidden while no run goes; pressed then, it says so
    (it did nothing, silently), but typed in the filter it is just a letter."""
    checkpointer, graph = demo
    app = TimeloomApp(checkpointer, graph=graph)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_reads(pilot)
        await pilot.press("x")  # from the threads list
        await pilot.pause()
        assert notices(app).count("No run is going") == 1
        await go_to_head(pilot, "refund-2077")
        await pilot.press("x")  # from the checkpoint tree
        await pilot.pause()
        assert notices(app).count("No run is going") == 2
        assert "x stops a run started with r" in notices(app)
        await pilot.press("slash", "x")
        await pilot.pause()
        assert app.query_one("#thread-filter", Input).value == "x"
        assert notices(app).count("No run is going") == 2


async def test_startup_warnings_are_shown(demo: Demo) -> None:
    checkpointer, _ = demo
    checkpointer.warnings = [
        "Opened immutable: changes by other processes are not seen."
    ]
    app = TimeloomApp(checkpointer)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_reads(pilot)
        assert "Opened immutable" in notices(app)
        (notice,) = [n for n in app._notifications if "immutable" in n.message]
        assert notice.severity == "warning"
