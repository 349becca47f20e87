"""Pilot tests of what a new user tripped over: no work lost, statuses that tell the
truth, keys that say one thing."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import TypedDict

import pytest
from textual.widgets import Input, OptionList, Static, TextArea

from tests.tui.conftest import (
    SIZE,
    Demo,
    count_all,
    frozen_checkpoint,
    go,
    go_to_head,
    notices,
    open_editor,
    run,
    run_json,
    save_through_the_preview,
    wait_for_reads,
    wait_until,
    written_by,
)
from timeloom.backends.langgraph.decode import inert
from timeloom.backends.memory import MemoryCheckpointer
from timeloom.core import END, START, Checkpoint, StateGraph
from timeloom.tui.app import LIVE_WINDOW, TimeloomApp
from timeloom.tui.messages import CheckpointCommitted
from timeloom.tui.ops import actions
from timeloom.tui.screens.change import ChangeScreen
from timeloom.tui.screens.confirm import ConfirmScreen
from timeloom.tui.screens.diff import DiffScreen
from timeloom.tui.screens.editor import EditorScreen
from timeloom.tui.screens.resume import ResumeScreen
from timeloom.tui.widgets.diff_view import DiffView
from timeloom.tui.widgets.formatting import (
    IDLE_ICON,
    STATUS_ICONS,
    ascii_mode,
    chat_message,
    summarize,
)
from timeloom.tui.widgets.value_tree import ValueTree


async def test_an_edit_the_reducer_refuses_is_said_before_saving(demo: Demo) -> None:
    checkpointer, graph = demo
    before = await count_all(checkpointer)
    app = TimeloomApp(checkpointer, graph=graph)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_reads(pilot)
        await go_to_head(pilot, "refund-2077")
        area = await open_editor(pilot)
        # `messages` is combined by operator.add: changing an item cannot be written.
        edited = area.text.replace("Refund please?", "Refund now!", 1)
        assert edited != area.text
        area.load_text(edited)
        status = app.screen.query_one("#editor-status", Static)
        assert await wait_until(pilot, lambda: str(status.render()).startswith("✗"))
        assert "messages is combined by a reducer" in str(status.render())
        await pilot.press("ctrl+s")
        await wait_for_reads(pilot)
        assert isinstance(app.screen, EditorScreen)  # no preview, no save
        assert app.screen.query_one(TextArea).text == edited  # the text is kept
    assert await count_all(checkpointer) == before


async def test_a_save_that_fails_reopens_the_editor_on_the_users_text(
    demo: Demo,
) -> None:
    checkpointer, _ = demo
    before = await count_all(checkpointer)
    app = TimeloomApp(checkpointer)  # no graph: written directly, head checked
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_reads(pilot)
        await go_to_head(pilot, "refund-2077")
        area = await open_editor(pilot)
        edited = area.text.replace('"194.50"', '"150.00"', 1)
        area.load_text(edited)
        # Meanwhile the database stops taking writes (here: it is made read-only).
        checkpointer.read_only = True
        await save_through_the_preview(pilot)
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


# -- status tells the truth -----------------------------------------------------------


async def _idle_branch(demo: Demo) -> Checkpoint:
    """A new thread forked from refund-3150's proposal: nodes due, nothing runs it."""
    checkpointer, graph = demo
    proposal = await written_by(checkpointer, "refund-3150", "propose_refund")
    return await actions.branch(checkpointer, graph, proposal, "refund-3150-idle")


def _subtitle(app: TimeloomApp) -> str:
    return str(app.query_one("#tree-pane").border_subtitle)


async def test_a_thread_nothing_runs_is_idle_at_its_next_node(demo: Demo) -> None:
    checkpointer, graph = demo
    root = await _idle_branch(demo)
    assert root.next  # stored as "running": nodes are due
    app = TimeloomApp(checkpointer, graph=graph)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_reads(pilot)
        await go(pilot, "refund-3150-idle", root.id)
        at = ", ".join(root.next)
        assert _subtitle(app).startswith(f"{IDLE_ICON} idle at {at} · 1 checkpoint ·")
        row = app.thread_list.index_of("refund-3150-idle")
        assert row is not None
        line = app.thread_list.render_line(row - app.thread_list.scroll_offset.y)
        assert line.text.startswith(f" {IDLE_ICON} ")
        # Follow sees another process commit to it: now it is running...
        app.post_message(CheckpointCommitted(root.summary()))
        assert await wait_until(
            pilot,
            lambda: _subtitle(app).startswith(f"{STATUS_ICONS['running']} running"),
        )
        assert "refund-3150-idle" in app.thread_list.live
        # ...until nothing new has been seen for a while.
        app._seen_live["refund-3150-idle"] -= LIVE_WINDOW
        app._show_live()
        assert _subtitle(app).startswith(f"{IDLE_ICON} idle at {at}")
        assert not app.thread_list.live


async def test_r_on_a_finished_head_says_one_thing(demo: Demo) -> None:
    checkpointer, graph = demo
    before = await count_all(checkpointer)
    app = TimeloomApp(checkpointer, graph=graph)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_reads(pilot)
        assert (await go_to_head(pilot, "refund-1042")).status == "done"
        await pilot.press("r")
        await wait_for_reads(pilot)
        titles = [str(n.title) for n in app._notifications]
        assert titles == ["Nothing to resume"]
        assert "Running" not in notices(app)
        assert not app.run_active
    assert await count_all(checkpointer) == before


def test_the_cli_says_idle_and_the_status_of_heads_only(demo: Demo) -> None:
    checkpointer, _ = demo
    root = asyncio.run(_idle_branch(demo))
    code, out, _ = run(["threads", "memory:", "--status", "idle"], checkpointer)
    assert code == 0
    assert out.startswith(f"{IDLE_ICON} refund-3150-idle  idle        1 checkpoint  ")
    code, out, _ = run(["show", "memory:", "refund-3150-idle"], checkpointer)
    assert f"head of the thread: idle at {', '.join(root.next)}\n" in out
    assert "running" not in out
    code, data = run_json(
        ["threads", "memory:", "--search", "refund-3150-"], checkpointer
    )
    assert {t["status"] for t in data} == {"idle", "done"}
    # An older checkpoint's next nodes are history: no status is claimed for it.
    code, out, _ = run(["export", "memory:", "refund-4711"], checkpointer)
    assert out.count("head of the thread") == 1
    assert "head of the thread: done" in out


@pytest.mark.parametrize(
    ("environ", "encoding", "expected"),
    [
        ({}, "utf-8", False),
        ({"TIMELOOM_ASCII": "1"}, "utf-8", True),
        ({"TERM": "linux"}, "utf-8", True),
        ({"TERM": "linux", "TIMELOOM_ASCII": "0"}, "utf-8", False),
        ({}, "ANSI_X3.4-1968", True),
    ],
)
def test_ascii_mode(environ: dict[str, str], encoding: str, expected: bool) -> None:
    assert ascii_mode(environ, encoding) is expected


def test_ascii_mode_draws_only_ascii() -> None:
    code = (
        "from timeloom.tui.widgets import formatting as f; "
        "print(''.join([*f.STATUS_ICONS.values(), f.IDLE_ICON, f.FORK_MARK, "
        "f.HEAD_MARK, f.NODE_MARK, f.MARKED, f.fold('a\\nb')]))"
    )
    shown = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "TIMELOOM_ASCII": "1"},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert shown.isascii()
    assert shown.strip() == '>|+x-Y@o#"a\\nb"'


# -- conventions ---------------------------------------------------------------------


async def test_q_quits(demo: Demo) -> None:
    checkpointer, graph = demo
    app = TimeloomApp(checkpointer, graph=graph)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_reads(pilot)
        await pilot.press("slash", "q")  # typed into the filter: not a quit
        await wait_for_reads(pilot)
        assert app.is_running
        assert app.search == "q"
        await pilot.press("escape", "q")
        await pilot.pause()
        assert not app.is_running


class _Slow(TypedDict):
    n: int


async def test_q_asks_first_while_a_run_is_going() -> None:
    gate = asyncio.Event()

    async def slow(state: _Slow) -> dict[str, int]:
        await gate.wait()
        return {"n": state["n"] + 1}

    builder = StateGraph(_Slow)
    builder.add_node("slow", slow)
    builder.add_edge(START, "slow")
    builder.add_edge("slow", END)
    checkpointer = MemoryCheckpointer()
    graph = builder.compile(checkpointer=checkpointer, interrupt_before=["slow"])
    await graph.ainvoke({"n": 0}, {"configurable": {"thread_id": "slow-1"}})
    app = TimeloomApp(checkpointer, graph=graph)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_reads(pilot)
        await go_to_head(pilot, "slow-1")
        await pilot.press("r")  # runs past the breakpoint into the slow node
        assert await wait_until(pilot, lambda: app.run_active)
        await pilot.press("q")
        assert await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("n")
        await pilot.pause()
        assert app.is_running
        assert app.run_active
        await pilot.press("q")
        assert await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await pilot.pause()
        assert not app.is_running
    gate.set()


async def test_the_theme_is_kept_for_the_next_run(
    demo: Demo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    checkpointer, _ = demo
    app = TimeloomApp(checkpointer, close_on_exit=False)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_reads(pilot)
        assert app.theme != "nord"
        app.theme = "nord"  # what ctrl+p "Change theme" does
        await pilot.pause()
    saved = json.loads((tmp_path / "timeloom" / "settings.json").read_text())
    assert saved == {"theme": "nord"}
    again = TimeloomApp(checkpointer)
    async with again.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert again.theme == "nord"


# -- layout and reading ----------------------------------------------------------------


def _shown(app: TimeloomApp, selector: str) -> bool:
    return app.query_one(selector).display and app.query_one(selector).region.width > 0


async def test_80_columns_show_two_panes_and_every_key(demo: Demo) -> None:
    checkpointer, graph = demo
    app = TimeloomApp(checkpointer, graph=graph)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for_reads(pilot)
        assert _shown(app, "#threads-pane")
        assert _shown(app, "#tree-pane")
        assert not _shown(app, "DetailPane")
        await pilot.press("enter")  # into the thread's tree
        await wait_for_reads(pilot)
        assert not _shown(app, "#threads-pane")
        assert _shown(app, "#tree-pane")
        assert _shown(app, "DetailPane")
        assert app.query_one("DetailPane").region.width >= 38
        footer = " ".join(
            str(key.render()) for key in app.query("FooterKey") if key.region.width
        )
        for key in ("Help", "Edit", "Branch", "Resume"):
            assert key in footer
        await pilot.press("escape")  # back to the list
        await pilot.pause()
        assert _shown(app, "#threads-pane")


async def test_a_value_cut_at_the_pane_edge_ends_in_an_ellipsis(demo: Demo) -> None:
    """At 80 columns the State tab cut an id mid-way with nothing to say so
    (``request_id  d8a5a1b3-d086-5e8d-9048-``); a cut value now ends in "…",
    nested ones too, and one that fits is left whole."""
    checkpointer, graph = demo
    app = TimeloomApp(checkpointer, graph=graph)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for_reads(pilot)
        await pilot.press("enter")
        await wait_for_reads(pilot)
        meta = app.selected_meta
        assert meta is not None
        checkpoint = await checkpointer.get(meta.thread_id, meta.id)
        assert checkpoint is not None
        request_id = str(checkpoint.values["request_id"])
        tree = app.query_one("#state-tree", ValueTree)
        width = tree.scrollable_content_region.width
        assert width < len(f"  request_id  {request_id}")

        def lines() -> list[str]:
            return [
                tree.render_line(y).text.rstrip()
                for y in range(tree.scrollable_content_region.height)
            ]

        (line,) = [line for line in lines() if "request_id" in line]
        assert line.endswith("…")
        assert len(line) <= width
        assert request_id.startswith(line.split()[-1][:-1])
        assert any(line.endswith("approved  true") for line in lines())
        assert tree.virtual_size.width <= width  # nothing hides off to the right

        tree.focus()
        tree.cursor_line = 0
        await pilot.press("enter")  # messages
        await pilot.pause()
        tree.cursor_line = 3
        await pilot.press("enter")  # messages[2]: a nested row is cut too
        await pilot.pause()
        (line,) = [line for line in lines() if "content" in line]
        assert line.endswith("…")
        assert line.split("content", 1)[1].strip().startswith('"Found order')


async def test_wide_terminals_show_ids_whole_and_the_selected_one_always(
    demo: Demo,
) -> None:
    checkpointer, graph = demo
    for thread_id in ("refund-3150-partial-0150-b", "refund-3150-partial-0c-b"):
        info = await checkpointer.get_thread("refund-3150")
        assert info is not None
        head = await checkpointer.get("refund-3150")
        assert head is not None
        await actions.branch(checkpointer, graph, head, thread_id)
    app = TimeloomApp(checkpointer, graph=graph, close_on_exit=False)
    async with app.run_test(size=(160, 45)) as pilot:
        await wait_for_reads(pilot)
        rows = [
            app.thread_list.render_line(y).text for y in range(app.thread_list.total)
        ]
        assert any("refund-3150-partial-0150-b" in row for row in rows)
        assert any("refund-3150-partial-0c-b" in row for row in rows)
        assert all("…" not in row for row in rows)
    app = TimeloomApp(checkpointer, graph=graph)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for_reads(pilot)
        app.open_thread("refund-3150-partial-0150-b")
        await wait_for_reads(pilot)
        top = str(app.query_one("#selected-thread", Static).render())
        assert top == "refund-3150-partial-0150-b"


async def test_chat_messages_read_as_a_chat(demo: Demo) -> None:
    checkpointer, graph = demo
    app = TimeloomApp(checkpointer, graph=graph)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_reads(pilot)
        await go_to_head(pilot, "refund-1042")
        state = app.query_one("#state-tree", ValueTree)
        messages = next(n for n in state.root.children if str(n.label) == "messages")
        messages.expand()
        await pilot.pause()
        first = messages.children[0]
        assert first.data is not None
        assert state.label_of(first.data).plain.endswith(
            "0  user: Hi, I'd like a refund for order 1042, the grinder is too lou…"
        )


def test_chat_message_reads_dicts_and_langchain_messages() -> None:
    assert chat_message({"role": "user", "content": "hi"}) == ("user", "hi")
    assert chat_message(
        {"type": "ai", "content": [{"type": "text", "text": "ok"}]}
    ) == (
        "assistant",
        "ok",
    )
    message = inert(
        "langchain_core.messages.human.HumanMessage", {"content": "yo", "type": "human"}
    )
    assert chat_message(message) == ("user", "yo")
    assert chat_message({"role": "user"}) is None  # no content: not a message
    assert chat_message({"a": 1, "content": "x"}) is None  # no role
    assert summarize({"role": "tool", "content": "line 1\nline 2"}) == (
        "string",
        "tool: line 1↵line 2",
    )


def test_show_prints_a_conversation_as_lines(demo: Demo) -> None:
    checkpointer, _ = demo
    code, out, _ = run(["show", "memory:", "refund-1042"], checkpointer)
    assert code == 0
    assert "\n  messages (7)\n    user: Hi, I'd like a refund for order 1042" in out
    assert '"messages"' not in out  # not also as a JSON block


async def test_diffs_use_the_width_and_enter_shows_a_change_whole() -> None:
    old_note = "The customer says the parcel never came. " * 3
    new_note = "The customer says the parcel came broken. " * 3
    story = "\n".join(f"line {i}" for i in range(60))
    base = frozen_checkpoint(1, {"note": old_note, "story": story, "n": 1})
    new = frozen_checkpoint(2, {"note": new_note, "story": story + "\nthe end", "n": 2})
    app = TimeloomApp(MemoryCheckpointer())
    async with app.run_test(size=(160, 45)) as pilot:
        await wait_for_reads(pilot)
        await app.push_screen(DiffScreen(new, base))
        await pilot.pause()
        view = app.screen.query_one(DiffView)
        assert await wait_until(pilot, lambda: len(view.entries) == 3)
        options = view.query_one(OptionList)
        row = next(
            str(options.get_option_at_index(i).prompt)
            for i in range(options.option_count)
            if "note" in str(options.get_option_at_index(i).prompt)
        )
        assert old_note[:65] in row  # more than the old 60 characters
        assert new_note[:65] in row
        options.focus()
        options.highlighted = [c.path_text for c in view.entries].index("story")
        await pilot.press("enter")
        assert await wait_until(pilot, lambda: isinstance(app.screen, ChangeScreen))
        lines = str(app.screen.query_one("#change-lines", Static).render())
        assert "+the end" in lines
        after = str(app.screen.query_one("#change-new", Static).render())
        assert after.endswith("line 59\nthe end")
        assert "line 0\n" in after  # the whole value, not a preview
        await pilot.press("escape")
        assert await wait_until(pilot, lambda: isinstance(app.screen, DiffScreen))


# -- small things ----------------------------------------------------------------------


async def test_help_lines_wrap_under_their_description(demo: Demo) -> None:
    checkpointer, graph = demo
    app = TimeloomApp(checkpointer, graph=graph)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for_reads(pilot)
        await pilot.press("question_mark")
        await pilot.pause()
        help_text = app.screen.query_one("#help-text", Static)
        lines = help_text.render_lines(help_text.region.reset_offset)
        shown = [strip.text.rstrip() for strip in lines if strip.text.strip()]
        assert len(shown) > 20
        titles = {title for title, _ in app.help_sections()}
        titles.add("Every action is also in the command palette (ctrl+p).")
        for line in shown:  # only titles start at column 0; keys at 2, wraps deeper
            assert line.startswith("  ") or line in titles, line
        assert all(len(line) <= help_text.region.width for line in shown)
        continued = [line for line in shown if line.startswith("    ") and line.strip()]
        assert continued  # some descriptions did wrap, and stayed indented


async def test_metadata_reads_as_json(demo: Demo) -> None:
    checkpointer, graph = demo
    app = TimeloomApp(checkpointer, graph=graph)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_reads(pilot)
        await go_to_head(pilot, "refund-1042")
        await pilot.press("3")
        await pilot.pause()
        body = str(app.query_one("#meta-body", Static).render())
        assert 'user: "demo"' in body
        assert "'demo'" not in body


async def test_filters_keep_the_open_thread_and_show_nothing_stale(
    demo: Demo,
) -> None:
    checkpointer, graph = demo
    app = TimeloomApp(checkpointer, graph=graph)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_reads(pilot)
        app.open_thread("refund-2077")
        app.thread_list.cursor = app.thread_list.index_of("refund-2077") or 0
        await wait_for_reads(pilot)
        # Typing a filter that still matches, then clearing it with escape from
        # the list: the open thread stays the open one.
        await pilot.press("slash", "r", "e", "f", "enter")
        await wait_for_reads(pilot)
        assert app.selected_thread == "refund-2077"
        await pilot.press("escape")
        await wait_for_reads(pilot)
        assert app.query_one("#thread-filter", Input).value == ""
        assert app.search == ""
        assert app.selected_thread == "refund-2077"
        info = app.thread_list.info_at(app.thread_list.cursor)
        assert info is not None
        assert info.thread_id == "refund-2077"
        # A status with no thread: nothing of the previous thread stays on screen.
        await pilot.press("slash", "z", "z", "z")
        await wait_for_reads(pilot)
        assert app.thread_list.total == 0
        assert app.selected_thread is None
        assert app.checkpoint_tree.row_count == 0
        assert app.detail.checkpoint is None


async def test_the_question_dialog_fits_24_rows(demo: Demo) -> None:
    checkpointer, graph = demo
    app = TimeloomApp(checkpointer, graph=graph)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for_reads(pilot)
        await go_to_head(pilot, "refund-2077")
        await pilot.press("r")
        assert await wait_until(pilot, lambda: isinstance(app.screen, ResumeScreen))
        await pilot.pause()
        button = app.screen.query_one("#resume-ok")
        assert button.region.height > 0
        assert button.region.bottom <= 23  # above the footer, not below the fold
        await pilot.press("escape")


@pytest.mark.parametrize("key", ["question_mark", "ctrl+f", "d", "e", "b"])
async def test_every_dialog_fits_in_80_by_24(demo: Demo, key: str) -> None:
    """At 80x24 the search dialog was 90 columns wide: its right border and the
    end of its help line were cut off. Each dialog the keys open fits."""
    checkpointer, graph = demo
    app = TimeloomApp(checkpointer, graph=graph)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for_reads(pilot)
        await go_to_head(pilot, "refund-4711")
        base = app.screen
        await pilot.press(key)
        await wait_for_reads(pilot)
        assert await wait_until(pilot, lambda: app.screen is not base), notices(app)
        screen = app.screen.region
        shown = [w for w in app.screen.children if w.display and w.region.area]
        assert shown
        for widget in shown:
            assert screen.contains_region(widget.region), (widget, widget.region)


async def test_the_editor_does_not_promise_an_edit_its_reducer_refuses(
    demo: Demo,
) -> None:
    """The editor said `messages` (operator.add) could be changed "in place",
    then refused exactly that edit. What it says before you type now holds."""
    checkpointer, graph = demo
    app = TimeloomApp(checkpointer, graph=graph)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_reads(pilot)
        await go_to_head(pilot, "refund-2077")
        area = await open_editor(pilot)
        note = str(app.screen.query_one("#editor-title", Static).render())
        assert "Combined by a reducer, not replaced: messages" in note
        area.load_text(area.text.replace("Refund please?", "Refund now!", 1))
        status = app.screen.query_one("#editor-status", Static)
        assert await wait_until(pilot, lambda: str(status.render()).startswith("✗"))
        assert "in place" not in note
        assert "checked as you type" in note


async def test_i_on_a_thread_without_subgraphs_says_so(demo: Demo) -> None:
    """i in the threads pane filtered the list to ``thread|``: on a thread that
    ran no subgraph the list went empty, and at 80 columns nothing said why (the
    detail pane is hidden). It now says so and leaves the list as it was."""
    checkpointer, graph = demo
    app = TimeloomApp(checkpointer, graph=graph)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for_reads(pilot)
        field = app.query_one("#thread-filter", Input)
        total = app.thread_list.total
        info = app.thread_list.info_at(app.thread_list.cursor)
        assert info is not None
        app.thread_list.focus()
        await pilot.press("i")
        await wait_for_reads(pilot)
        assert await wait_until(pilot, lambda: "ran no subgraph" in notices(app))
        assert f"{info.thread_id!r} ran no subgraph" in notices(app)
        assert field.value == ""
        assert app.thread_list.total == total
