"""The TUI (driven by Pilot) on subgraphs run by Timeloom's own runtime, on memory,
SQLite and Postgres: the checkpoints that ran a subgraph are marked, ``i`` goes into
a nested timeline and out again, a node function that ran its subgraph twice asks
which run, and the threads pane lists a thread's subgraph timelines."""

from __future__ import annotations

import operator
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated, Any, TypedDict

import pytest
from textual.widgets import Input, OptionList, Static

from tests.checkpointers import BACKENDS, new_checkpointer
from tests.langgraph.test_tui_subgraphs import (
    every_run_marked,
    into_and_out_of_a_shared_run,
    row_due,
    row_text,
    rows,
)
from tests.langgraph.test_tui_write import LONG, open_at
from tests.tui.conftest import SIZE, wait_for_workers, wait_until
from timeloom.core.checkpointer import BaseCheckpointer
from timeloom.core.constants import END, START
from timeloom.core.graph import StateGraph
from timeloom.tui.app import TimeloomApp
from timeloom.tui.screens.error import ErrorModal
from timeloom.tui.screens.subgraph_pick import SubgraphPick


class Log(TypedDict):
    log: Annotated[list[str], operator.add]


def _note(word: str) -> Any:
    def node(state: Log) -> dict[str, Any]:
        return {"log": [word]}

    return node


def build_graph(checkpointer: BaseCheckpointer) -> Any:
    """first -> sub (a subgraph node: inner -> deep, itself a subgraph) -> twice (a
    node function that invokes the same subgraph twice)."""
    deepest = StateGraph(Log)
    deepest.add_node("deepest", _note("deepest"))
    deepest.add_edge(START, "deepest")
    deepest.add_edge("deepest", END)
    inner = StateGraph(Log)
    inner.add_node("inner", _note("inner"))
    inner.add_node("deep", deepest.compile())
    inner.add_edge(START, "inner")
    inner.add_edge("inner", "deep")
    inner.add_edge("deep", END)
    sub = inner.compile()

    async def twice(state: Log) -> dict[str, Any]:
        await sub.ainvoke({"log": []})
        await sub.ainvoke({"log": []})
        return {"log": ["twice"]}

    outer = StateGraph(Log)
    outer.add_node("first", _note("first"))
    outer.add_node("sub", sub)
    outer.add_node("twice", twice)
    outer.add_edge(START, "first")
    outer.add_edge("first", "sub")
    outer.add_edge("sub", "twice")
    outer.add_edge("twice", END)
    return outer.compile(checkpointer=checkpointer)


@pytest.fixture(params=BACKENDS)
async def ran(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[BaseCheckpointer]:
    """A checkpointer of each backend holding thread ``t1``, run by the graph."""
    async with new_checkpointer(request, tmp_path) as cp:
        config = {"configurable": {"thread_id": "t1"}}
        await build_graph(cp).ainvoke({"log": []}, config)
        yield cp


async def test_subgraph_timelines_of_a_timeloom_run(ran: BaseCheckpointer) -> None:
    timelines = {i.thread_id for i in await ran.subgraphs("t1")}
    (sub,) = [t for t in timelines if t.startswith("t1|sub:") and t.count("|") == 1]
    (deep,) = [t for t in timelines if t.startswith(f"{sub}|deep:")]
    twice = sorted(
        t for t in timelines if t.startswith("t1|twice:") and "deep" not in t
    )
    assert len(twice) == 2  # "twice:<task>" and its second graph, "twice:<task>|1"
    app = TimeloomApp(ran, close_on_exit=False)
    async with app.run_test(size=SIZE) as pilot:
        await open_at(pilot, app, "t1")
        tree = app.checkpoint_tree
        ran_sub, ran_twice = row_due(tree, "sub"), row_due(tree, "twice")
        assert await wait_until(
            pilot, lambda: len(tree.subgraphs_of(ran_twice.id)) == 2, seconds=LONG
        )
        assert tree.subgraphs_of(ran_sub.id) == [sub]
        assert "↘ sub" in row_text(tree, ran_sub.id)
        assert "↘ twice ×2" in row_text(tree, ran_twice.id)

        # Into sub, into its own subgraph, and out twice.
        tree.select(ran_sub.id)
        await pilot.press("i")
        await wait_for_workers(pilot)
        assert tree.thread_id == sub
        inner = row_due(tree, "deep")
        assert await wait_until(
            pilot, lambda: tree.subgraphs_of(inner.id) == [deep], seconds=LONG
        )
        tree.select(inner.id)
        await pilot.press("i")
        await wait_for_workers(pilot)
        assert tree.thread_id == deep
        assert [m.nodes for m in rows(tree)][0] == ("deepest",)
        await pilot.press("i")
        await wait_for_workers(pilot)
        assert app.selected_meta is not None
        assert (tree.thread_id, app.selected_meta.id) == (sub, inner.id)
        tree.select(rows(tree)[0].id)  # the head: it ran nothing
        await wait_for_workers(pilot)
        await pilot.press("i")
        await wait_for_workers(pilot)
        assert (tree.thread_id, app.selected_meta.id) == ("t1", ran_sub.id)

        # The node function's two runs of one subgraph: asked which.
        tree.select(ran_twice.id)
        await wait_for_workers(pilot)
        await pilot.press("i")
        assert await wait_until(
            pilot, lambda: isinstance(app.screen, SubgraphPick), seconds=LONG
        )
        options = app.screen.query_one(OptionList)
        prompts = [str(options.get_option_at_index(i).prompt) for i in range(2)]
        shown = [
            "↘ twice:" + t.split(":")[1][:8] + ("|1" if t.endswith("|1") else "")
            for t in twice
        ]
        assert sorted(prompts) == shown
        options.highlighted = next(i for i, p in enumerate(prompts) if p.endswith("|1"))
        await pilot.press("enter")
        await wait_for_workers(pilot)
        assert tree.thread_id == twice[1]
        await pilot.press("i")
        await wait_for_workers(pilot)
        assert (tree.thread_id, app.selected_meta.id) == ("t1", ran_twice.id)

        # The threads pane lists root graphs; i lists this thread's subgraphs.
        threads = app.thread_list
        assert threads.total == 1
        threads.focus()
        await pilot.press("i")
        await wait_for_workers(pilot)
        assert app.query_one("#thread-filter", Input).value == "t1|"
        assert threads.total == len(timelines)


async def test_b_in_a_subgraph_timeline_says_to_branch_its_thread(
    ran: BaseCheckpointer,
) -> None:
    """Branching is refused before the dialog asks for a name: a subgraph's
    timeline branches with its thread."""
    (sub,) = [
        i.thread_id
        for i in await ran.subgraphs("t1")
        if i.thread_id.count("|") == 1 and "|sub:" in i.thread_id
    ]
    app = TimeloomApp(ran, close_on_exit=False)
    async with app.run_test(size=SIZE) as pilot:
        await open_at(pilot, app, sub)
        await pilot.press("b")
        await wait_for_workers(pilot)
        screen = app.screen
        assert isinstance(screen, ErrorModal)  # no BranchScreen asked for a name
        assert screen.error_title == "Cannot branch"
        assert "Branch the checkpoint of 't1'" in screen.header
    assert {t.thread_id for t in await ran.threads()} == {"t1"}


async def test_leaving_a_subgraph_gives_the_filter_back(ran: BaseCheckpointer) -> None:
    """i in the threads pane lists a thread's subgraph timelines (``t1|``); once a
    jump leaves them for the root thread, the user's own filter is back and the
    thread is in the list, the cursor on it (the list stayed on ``t1|``, without
    the thread that was open), and the open thread stays open."""
    await build_graph(ran).ainvoke({"log": []}, {"configurable": {"thread_id": "u1"}})
    app = TimeloomApp(ran, close_on_exit=False)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_workers(pilot)
        field = app.query_one("#thread-filter", Input)
        threads = app.thread_list
        assert threads.total == 2
        assert threads.index_of("t1") == 1  # u1 is newer
        threads.cursor = 1
        await pilot.press("enter")
        await wait_for_workers(pilot)
        assert app.checkpoint_tree.thread_id == "t1"
        threads.focus()
        await pilot.press("i")
        await wait_for_workers(pilot)
        assert field.value == "t1|"
        # Listing its subgraphs leaves the thread open (the row under the old
        # cursor position opened by itself) until one is picked.
        assert app.checkpoint_tree.thread_id == "t1"
        threads.cursor = next(
            i
            for i in range(threads.total)
            if (info := threads.info_at(i))
            and info.thread_id.count("|") == 1
            and "|sub:" in info.thread_id
        )
        await pilot.press("enter")  # into the subgraph's timeline, from the list
        await wait_for_workers(pilot)
        assert "|sub:" in str(app.checkpoint_tree.thread_id)
        await pilot.press("i")  # out, to the checkpoint of t1 that ran it
        await wait_for_workers(pilot)
        assert await wait_until(pilot, lambda: field.value == "")
        await wait_for_workers(pilot)
        assert threads.total == 2
        assert await wait_until(
            pilot, lambda: threads.info_at(threads.cursor) is not None
        )
        info = threads.info_at(threads.cursor)
        assert info is not None
        assert info.thread_id == "t1"
        assert app.checkpoint_tree.thread_id == "t1"  # still open, not u1
        assert str(app.query_one("#counts", Static).render()) == "2 threads"

        # Changed by the user meanwhile, the filter is the user's to keep.
        threads.focus()
        await pilot.press("i")
        await wait_for_workers(pilot)
        assert field.value == "t1|"
        field.value = "t1|tw"
        await wait_for_workers(pilot)
        other = await ran.get_thread("u1")
        assert other is not None
        app.goto_checkpoint("u1", other.head_id)  # a jump to a root thread
        await wait_for_workers(pilot)
        assert field.value == "t1|tw"

        # A thread a jump has just opened (its summary not read yet) is kept in
        # the list when the filter changes, not replaced by the row's thread.
        app.open_thread("t1")
        assert app._still_matching() is None  # "t1|tw" drops it
        app.search = "t"
        assert app.thread_info is None
        assert app._still_matching() == "t1"


async def test_every_run_of_a_shared_subgraph_history_is_marked(
    ran: BaseCheckpointer,
) -> None:
    """A subgraph compiled with ``checkpointer=True`` keeps one history
    (``"t|sub"``) over the parent's runs; its head names only the latest parent
    checkpoint, so the older ones were marked only once selected. Each parent
    checkpoint that ran it is marked as the tree is drawn."""
    inner = StateGraph(Log)
    inner.add_node("inner", _note("inner"))
    inner.add_edge(START, "inner")
    inner.add_edge("inner", END)
    outer = StateGraph(Log)
    outer.add_node("sub", inner.compile(checkpointer=True))
    outer.add_edge(START, "sub")
    outer.add_edge("sub", END)
    graph = outer.compile(checkpointer=ran)
    config = {"configurable": {"thread_id": "shared"}}
    for _ in range(3):
        await graph.ainvoke({"log": []}, config)
    assert [i.thread_id for i in await ran.subgraphs("shared")] == ["shared|sub"]
    app = TimeloomApp(ran, close_on_exit=False)
    async with app.run_test(size=SIZE) as pilot:
        due = await every_run_marked(pilot, app)
        assert app.selected_meta is not None
        assert app.selected_meta.id not in {m.id for m in due}  # none selected

        # i on the first run goes to where that run ended in the shared
        # history (not to its head, the last run's), and i comes back to it.
        await into_and_out_of_a_shared_run(pilot, app, due[-1], "shared|sub")
