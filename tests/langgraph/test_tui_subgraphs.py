"""The TUI (driven by Pilot) on LangGraph databases with subgraphs, written by real
LangGraph: the checkpoint that ran a subgraph is marked, ``i`` goes into its
timeline and back out (nested two deep), ``backspace`` returns, the threads pane
lists a thread's subgraph timelines, and a checkpoint that ran several subgraphs
asks which one; on SQLite and on Postgres."""

from __future__ import annotations

import operator
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated, Any, TypedDict

import pytest
from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.graph import END, START, StateGraph
from textual.content import Content
from textual.pilot import Pilot
from textual.widgets import Input, OptionList, Static

from tests.langgraph import lgdb
from tests.langgraph.test_tui_write import LONG, open_at
from tests.tui.conftest import SIZE, wait_for_workers, wait_until
from timeloom.backends.langgraph import LangGraphReader, open_langgraph
from timeloom.core.checkpoint import CheckpointMeta
from timeloom.tui.app import TimeloomApp
from timeloom.tui.screens.subgraph_pick import SubgraphPick
from timeloom.tui.widgets.checkpoint_tree import CheckpointTree

HOSTILE = "[b]right\x1b[31m"
"""A subgraph node name with markup and an escape sequence in it."""


@pytest.fixture
async def reader(source: lgdb.Built) -> AsyncIterator[LangGraphReader]:
    found = open_langgraph(source.url)
    yield found
    await found.aclose()


def rows(tree: CheckpointTree) -> list[CheckpointMeta]:
    return [tree.row(i).meta for i in range(tree.row_count)]


def row_due(tree: CheckpointTree, node: str) -> CheckpointMeta:
    """The checkpoint of the open timeline from which ``node`` ran next."""
    return next(m for m in rows(tree) if m.next == (node,))


def meta_text(app: TimeloomApp) -> str:
    return str(app.query_one("#meta-body", Static).render())


def row_text(tree: CheckpointTree, checkpoint_id: str) -> str:
    index = [m.id for m in rows(tree)].index(checkpoint_id)
    return "".join(s.text for s in tree.render_line(index - tree.scroll_offset.y))


async def every_run_marked(
    pilot: Pilot[None], app: TimeloomApp
) -> list[CheckpointMeta]:
    """Open thread ``shared`` (three runs of a ``checkpointer=True`` subgraph
    ``sub``) and check that the tree marks each run's checkpoint ``↘ sub``, as it
    is drawn; return those checkpoints."""
    await open_at(pilot, app, "shared")
    tree = app.checkpoint_tree
    due = [m for m in rows(tree) if m.next == ("sub",)]
    assert len(due) == 3  # one per run
    assert await wait_until(
        pilot,
        lambda: all(tree.subgraphs_of(m.id) == ["shared|sub"] for m in due),
        seconds=LONG,
    )
    assert all("↘ sub" in row_text(tree, m.id) for m in due)
    return due


async def into_and_out_of_a_shared_run(
    pilot: Pilot[None], app: TimeloomApp, ran: CheckpointMeta, timeline: str
) -> None:
    """``i`` on ``ran`` (a parent checkpoint that ran the shared history
    ``timeline``) lands on the last checkpoint of its run; ``i`` there (it ran
    nothing) goes back out to ``ran``."""
    tree = app.checkpoint_tree
    tree.select(ran.id)
    await wait_for_workers(pilot)
    await pilot.press("i")
    await wait_for_workers(pilot)
    assert tree.thread_id == timeline
    landed = app.selected_meta
    assert landed is not None
    in_run = [m for m in rows(tree) if m.metadata.get("parents") == {"": ran.id}]
    assert landed.id == in_run[0].id  # the newest of that run
    assert landed.id != rows(tree)[0].id  # not the head: a later run's
    await pilot.press("i")
    await wait_for_workers(pilot)
    assert tree.thread_id == ran.thread_id
    assert app.selected_meta is not None
    assert app.selected_meta.id == ran.id


async def test_into_a_subgraph_two_deep_and_back_out(reader: LangGraphReader) -> None:
    subgraphs = [i.thread_id for i in await reader.subgraphs("hitl-1")]
    (sub,) = [t for t in subgraphs if t.count("|") == 1]
    (deep,) = [t for t in subgraphs if t.count("|") == 2]
    app = TimeloomApp(reader)
    async with app.run_test(size=SIZE) as pilot:
        await open_at(pilot, app, "hitl-1")
        tree = app.checkpoint_tree
        ran = row_due(tree, "sub")  # LangGraph's "parents" point at it
        assert await wait_until(
            pilot, lambda: tree.subgraphs_of(ran.id) == [sub], seconds=LONG
        )
        assert "↘ sub" in row_text(tree, ran.id)
        assert all(tree.subgraphs_of(m.id) == [] for m in rows(tree) if m != ran)
        assert await reader.forks("hitl-1") == {}  # not drawn as a fork too

        tree.select(ran.id)
        await pilot.press("i")
        await wait_for_workers(pilot)
        sub_info = await reader.get_thread(sub)
        assert sub_info is not None
        assert tree.thread_id == sub
        assert app.selected_meta is not None
        assert app.selected_meta.id == sub_info.head_id
        pane = app.query_one("#tree-pane")
        assert str(pane.border_title) == f"hitl-1 › sub:{sub.split(':')[1][:8]}"
        assert "↘ i: out" in str(pane.border_subtitle)

        inner = row_due(tree, "deep")  # the subgraph's own subgraph
        assert await wait_until(
            pilot, lambda: tree.subgraphs_of(inner.id) == [deep], seconds=LONG
        )
        tree.select(inner.id)
        await pilot.press("i")
        await wait_for_workers(pilot)
        assert tree.thread_id == deep
        assert [m.nodes for m in rows(tree)][0] == ("deepest",)

        # Out of deep: to the checkpoint of sub that ran it; out again: hitl-1's.
        await pilot.press("i")
        await wait_for_workers(pilot)
        assert (tree.thread_id, app.selected_meta.id) == (sub, inner.id)
        tree.select(sub_info.head_id)
        await wait_for_workers(pilot)
        await pilot.press("i")
        await wait_for_workers(pilot)
        assert (tree.thread_id, app.selected_meta.id) == ("hitl-1", ran.id)

        # backspace returns to where the last jump started.
        await pilot.press("backspace")
        await wait_for_workers(pilot)
        assert (tree.thread_id, app.selected_meta.id) == (sub, sub_info.head_id)


async def test_threads_pane_lists_a_threads_subgraphs(reader: LangGraphReader) -> None:
    app = TimeloomApp(reader)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_workers(pilot)
        threads = app.thread_list
        total = threads.total
        assert all("|" not in i.thread_id for i in await reader.threads())
        index = threads.index_of("hitl-1")
        assert index is not None
        threads.focus()
        threads.cursor = index
        await wait_for_workers(pilot)
        await pilot.press("i")
        await wait_for_workers(pilot)
        assert app.query_one("#thread-filter", Input).value == "hitl-1|"
        assert threads.total == 2
        shown = [threads.info_at(i) for i in range(threads.total)]
        assert all(i is not None and i.thread_id.startswith("hitl-1|") for i in shown)
        line = "".join(s.text for s in threads.render_line(0))
        assert "↘ sub:" in line
        assert "hitl-1|" not in line
        await pilot.press("enter")  # opens it like any thread
        await wait_for_workers(pilot)
        opened = threads.info_at(threads.cursor)
        assert opened is not None
        assert app.checkpoint_tree.thread_id == opened.thread_id
        await pilot.press("escape")  # back to every (root) thread
        await wait_for_workers(pilot)
        assert threads.total == total


class _Log(TypedDict):
    log: Annotated[list[str], operator.add]


def _step(state: _Log) -> dict[str, Any]:
    return {"log": ["work"]}


@pytest.fixture
def parallel_db(tmp_path: Path) -> Path:
    """One step that ran two subgraphs side by side, one with a hostile node name,
    written by LangGraph's SqliteSaver."""
    inner = StateGraph(_Log)
    inner.add_node("work", _step)
    inner.add_edge(START, "work")
    inner.add_edge("work", END)
    outer = StateGraph(_Log)
    for node in ("left", HOSTILE):
        outer.add_node(node, inner.compile())
        outer.add_edge(START, node)
        outer.add_edge(node, END)
    path = tmp_path / "parallel.db"
    conn = sqlite3.connect(path, check_same_thread=False)
    try:
        graph = outer.compile(checkpointer=SqliteSaver(conn))
        graph.invoke({"log": []}, {"configurable": {"thread_id": "par"}})
    finally:
        conn.close()
    return path


async def test_a_checkpoint_that_ran_two_subgraphs_asks_which(
    parallel_db: Path,
) -> None:
    reader = open_langgraph(str(parallel_db))
    app = TimeloomApp(reader)
    async with app.run_test(size=SIZE) as pilot:
        await open_at(pilot, app, "par")
        tree = app.checkpoint_tree
        ran = next(m for m in rows(tree) if len(m.next) == 2)
        assert await wait_until(
            pilot, lambda: len(tree.subgraphs_of(ran.id)) == 2, seconds=LONG
        )
        text = row_text(tree, ran.id)
        # Escaped and shown as text (the row may cut the end: the two ran in
        # parallel, so either may be named first).
        assert "[b]right\\x1b[3" in text
        assert "\x1b" not in text
        tree.select(ran.id)
        await pilot.press("i")
        assert await wait_until(
            pilot, lambda: isinstance(app.screen, SubgraphPick), seconds=LONG
        )
        options = app.screen.query_one(OptionList)
        prompts = [str(options.get_option_at_index(i).prompt) for i in range(2)]
        assert sorted(p.split(":")[0] for p in prompts) == [
            "↘ [b]right\\x1b[31m",
            "↘ left",
        ]
        hostile = next(i for i, p in enumerate(prompts) if "right" in p)
        options.highlighted = hostile
        await pilot.press("enter")
        await wait_for_workers(pilot)
        assert tree.thread_id is not None
        assert tree.thread_id.startswith(f"par|{HOSTILE}:")
        into_hostile = tree.thread_id
        title = Content.from_markup(str(app.query_one("#tree-pane").border_title))
        assert title.plain.startswith("par › [b]right\\x1b[31m:")  # shown as is
        await pilot.press("i")  # out again
        await wait_for_workers(pilot)
        assert app.selected_meta is not None
        assert (tree.thread_id, app.selected_meta.id) == ("par", ran.id)

        # The Metadata tab links both; the hostile one's link runs as clicked.
        await pilot.press("3")
        assert await wait_until(pilot, lambda: "subgraphs" in meta_text(app))
        assert "↘ par › [b]right\\x1b[31m:" in meta_text(app)
        body = app.query_one("#meta-body", Static).render()
        assert isinstance(body, Content)
        (click,) = [
            str(span.style)
            for span in body.spans
            if "into_subgraph" in str(span.style) and "right" in str(span.style)
        ]
        await app.run_action(click.removeprefix("@click=app."))
        await wait_for_workers(pilot)
        assert tree.thread_id == into_hostile
    await reader.aclose()


async def test_every_run_of_a_shared_subgraph_history_is_marked(
    tmp_path: Path,
) -> None:
    """LangGraph's ``checkpointer=True`` subgraph keeps one history over the
    parent's runs (namespace ``"sub"``, no task id): each parent checkpoint that
    ran it is marked as the tree is drawn, not only the latest one."""
    inner = StateGraph(_Log)
    inner.add_node("work", _step)
    inner.add_edge(START, "work")
    inner.add_edge("work", END)
    outer = StateGraph(_Log)
    outer.add_node("sub", inner.compile(checkpointer=True))
    outer.add_edge(START, "sub")
    outer.add_edge("sub", END)
    path = tmp_path / "shared.db"
    conn = sqlite3.connect(path, check_same_thread=False)
    try:
        graph = outer.compile(checkpointer=SqliteSaver(conn))
        for _ in range(3):
            graph.invoke({"log": []}, {"configurable": {"thread_id": "shared"}})
    finally:
        conn.close()
    reader = open_langgraph(str(path))
    assert [i.thread_id for i in await reader.subgraphs("shared")] == ["shared|sub"]
    app = TimeloomApp(reader)
    async with app.run_test(size=SIZE) as pilot:
        due = await every_run_marked(pilot, app)
        # It opens (the reader took a namespace without a task id for part of a
        # thread id, and found no checkpoint in "shared|sub"), at the end of the
        # run the selected checkpoint made, and i goes back out to it.
        await into_and_out_of_a_shared_run(pilot, app, due[-1], "shared|sub")
