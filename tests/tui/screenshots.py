"""Regenerate the README's pictures of the TUI: ``python -m tests.tui.screenshots``.

Runs the demo agent (the real runtime) into a fresh SQLite database, opens it
in the real app at 120x36 (read-only to browse; writable with the demo's graph for
the editor and the resume dialog, which write nothing until confirmed), drives it
with keys and saves one SVG per view into ``screenshots/``. Ids and times come from the run, so the pictures change a
little each time; the snapshot tests (tests/snapshots) are the frozen ones.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path

from textual.pilot import Pilot
from textual.widgets import TextArea

from tests.tui.conftest import SIZE, wait_for_reads, wait_until
from timeloom.backends.sqlite import SqliteCheckpointer
from timeloom.core.checkpoint import CheckpointMeta
from timeloom.tui.app import TimeloomApp
from timeloom.tui.demo.agent import graph as demo_graph
from timeloom.tui.demo.build import FORK, build_demo
from timeloom.tui.ops.graphref import bind_graph
from timeloom.tui.ops.opening import open_url
from timeloom.tui.screens.resume import ResumeScreen
from timeloom.tui.widgets.value_tree import ValueTree

Step = Callable[[Pilot[None]], Awaitable[None]]


def _select(thread_id: str, pick: Callable[[list[CheckpointMeta]], str]) -> Step:
    """Jump to the checkpoint ``pick`` chooses among the thread's (newest first)."""

    async def step(pilot: Pilot[None]) -> None:
        app = pilot.app
        assert isinstance(app, TimeloomApp)
        metas = [meta async for meta in app.checkpointer.summaries(thread_id)]
        checkpoint_id = pick(metas)
        app.goto_checkpoint(thread_id, checkpoint_id)
        await wait_for_reads(pilot)
        await wait_until(
            pilot,
            lambda: (
                app.detail.checkpoint is not None
                and app.detail.checkpoint.id == checkpoint_id
            ),
        )

    return step


def _written_by(node: str) -> Callable[[list[CheckpointMeta]], str]:
    return lambda metas: [m.id for m in metas if node in m.nodes][-1]


def _fork_root(metas: list[CheckpointMeta]) -> str:
    return next(m.id for m in metas if m.is_fork_root)


def _head(metas: list[CheckpointMeta]) -> str:
    return metas[0].id


async def _edit_amount(pilot: Pilot[None]) -> None:
    area = pilot.app.screen.query_one(TextArea)
    area.load_text(area.text.replace('"194.50"', '"150.00"', 1))
    await pilot.pause(0.6)  # the editor checks the text after a short pause
    await wait_for_reads(pilot)


async def _resume_dialog(pilot: Pilot[None]) -> None:
    await pilot.press("r")
    await wait_until(pilot, lambda: isinstance(pilot.app.screen, ResumeScreen))
    await pilot.press(*"yes")
    await pilot.pause()


def _open(thread_id: str, *keys: str) -> Step:
    async def step(pilot: Pilot[None]) -> None:
        app = pilot.app
        assert isinstance(app, TimeloomApp)
        app.open_thread(thread_id)
        await wait_for_reads(pilot)
        app.checkpoint_tree.focus()
        await pilot.press(*keys)
        await wait_for_reads(pilot)

    return step


def _keys(*keys: str) -> Step:
    async def step(pilot: Pilot[None]) -> None:
        await pilot.press(*keys)
        await wait_for_reads(pilot)

    return step


async def _expand_state(pilot: Pilot[None]) -> None:
    app = pilot.app
    assert isinstance(app, TimeloomApp)
    tree = app.query_one("#state-tree")
    for node in tree.root.children[:2]:  # type: ignore[attr-defined]
        node.expand()
    await pilot.pause()


def _search(query: str) -> Step:
    async def step(pilot: Pilot[None]) -> None:
        await pilot.press("ctrl+f")
        await pilot.press(*query)
        await pilot.press("enter")
        await wait_for_reads(pilot)

    return step


def _who_changed(key: str) -> Step:
    async def step(pilot: Pilot[None]) -> None:
        app = pilot.app
        assert isinstance(app, TimeloomApp)
        state = app.query_one("#state-tree", ValueTree)
        for node in state.root.children:
            if node.data is not None and node.data.path == (key,):
                state.move_cursor(node)
        state.focus()
        await pilot.press("w")
        await wait_for_reads(pilot)

    return step


VIEWS: dict[str, list[Step]] = {
    "overview": [],
    "branches": [_open("refund-4711"), _expand_state],
    "fork": [_open("refund-3150", "down"), _keys("3")],
    "failed": [_open("refund-3150"), _keys("2")],
    "paused": [_open("refund-2077"), _keys("2")],
    "filter": [_keys("slash", *"refund-3")],
    "help": [_keys("question_mark")],
    "diff": [
        _select("refund-3150", _written_by("propose_refund")),
        _keys("m"),
        _select(FORK, _fork_root),
        _keys("d"),
    ],
    "editor": [_select("refund-2077", _head), _keys("e"), _edit_amount],
    "resume": [_select("refund-2077", _head), _resume_dialog],
    "search": [_open("refund-4711"), _search("values.refund.amount > `10`")],
    "provenance": [_open("refund-4711"), _who_changed("messages")],
    "storage": [_open("refund-4711"), _keys("u")],
}
"""The views, by file name, and how to get there from the start screen."""
WRITABLE = frozenset({"editor", "resume"})
"""Views opened writable with the demo's graph (the write actions need it)."""


async def write_screenshots(directory: Path) -> list[Path]:
    """Build the demo database and save a picture of each view into ``directory``
    (which must exist)."""
    written = []
    with tempfile.TemporaryDirectory() as scratch:
        database = Path(scratch) / "demo.db"
        async with SqliteCheckpointer(database) as store:
            await build_demo(store)
        for name, steps in VIEWS.items():
            writable = name in WRITABLE
            checkpointer = open_url(str(database), read_only=not writable)
            graph = bind_graph(demo_graph, checkpointer) if writable else None
            app = TimeloomApp(checkpointer, graph=graph)
            async with app.run_test(size=SIZE) as pilot:
                await wait_for_reads(pilot)
                for step in steps:
                    await step(pilot)
                await pilot.wait_for_scheduled_animations()
                await pilot.pause()
                path = app.save_screenshot(filename=f"{name}.svg", path=str(directory))
                written.append(Path(path))
    return written


async def write_langgraph_screenshots(directory: Path) -> list[Path]:
    """Two views of a LangGraph database: opened with its graph, a paused thread
    branched into a new thread, whose interrupt asks to be answered (differently);
    and a subgraph's timeline, gone into from the checkpoint that ran it."""
    from tests.langgraph import lgdb
    from timeloom.backends.langgraph import open_langgraph
    from timeloom.tui.ops.runners.base import BranchOptions
    from timeloom.tui.ops.runners.langgraph import LangGraphRunner

    with tempfile.TemporaryDirectory() as scratch:
        database = Path(scratch) / "checkpoints.db"
        lgdb.build_sqlite(database)
        reader = open_langgraph(str(database))
        runner = LangGraphRunner(reader, lgdb.scenario_builder())
        head = await reader.get("paused-1")
        assert head is not None
        await runner.branch(head, "paused-1-b", BranchOptions())
        app = TimeloomApp(reader, runner=runner, close_on_exit=False)
        async with app.run_test(size=SIZE) as pilot:
            await wait_for_reads(pilot)
            await _select("paused-1-b", _head)(pilot)
            app.checkpoint_tree.focus()
            await wait_for_reads(pilot)
            await pilot.press("r")  # the interrupt asks for its answer
            await wait_until(pilot, lambda: isinstance(app.screen, ResumeScreen))
            await pilot.press(*'"no"')
            await pilot.wait_for_scheduled_animations()
            await pilot.pause()
            paths = [app.save_screenshot(filename="langgraph.svg", path=str(directory))]
        app = TimeloomApp(reader)
        async with app.run_test(size=SIZE) as pilot:
            await wait_for_reads(pilot)
            # The checkpoint the "sub" subgraph ran from; i goes into its timeline.
            await _select("hitl-1", lambda metas: _due(metas, "sub"))(pilot)
            await pilot.press("i")
            await wait_until(
                pilot, lambda: (app.checkpoint_tree.thread_id or "") != "hitl-1"
            )
            await wait_for_reads(pilot)
            paths.append(
                app.save_screenshot(filename="subgraph.svg", path=str(directory))
            )
    return [Path(p) for p in paths]


def _due(metas: list[CheckpointMeta], node: str) -> str:
    return next(m.id for m in metas if m.next == (node,))


def main() -> None:
    """Write the screenshots; print where."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("screenshots"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for path in asyncio.run(write_screenshots(args.out)):
        print(path)
    for path in asyncio.run(write_langgraph_screenshots(args.out)):
        print(path)


if __name__ == "__main__":
    main()
