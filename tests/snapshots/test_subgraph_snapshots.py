"""SVG snapshots of subgraph timelines. Update deliberately: ``pytest
tests/snapshots/test_subgraph_snapshots.py --snapshot-update``, then look at every
changed picture before committing."""

from __future__ import annotations

import asyncio

import pytest
from textual.pilot import Pilot

from tests.snapshots.test_snapshots import SIZE, SnapCompare, _keys, _open, _steps
from tests.tui.conftest import wait_for_workers
from tests.tui.seed import SUPPORT, seed_refund_agent, seed_subgraphs
from timeloom.backends.memory import MemoryCheckpointer
from timeloom.tui.app import TimeloomApp


@pytest.fixture
def subgraph_app() -> TimeloomApp:
    """The refund agent and, newest, a support agent that ran a nested subgraph."""
    checkpointer = MemoryCheckpointer()

    async def seed() -> None:
        await seed_refund_agent(checkpointer)
        await seed_subgraphs(checkpointer)

    asyncio.run(seed())
    return TimeloomApp(checkpointer)


async def _select_triage(pilot: Pilot[None]) -> None:
    app = pilot.app
    assert isinstance(app, TimeloomApp)
    tree = app.checkpoint_tree
    ran = next(
        tree.row(i).meta
        for i in range(tree.row_count)
        if tree.row(i).meta.next == ("research",)
    )
    tree.select(ran.id)
    await wait_for_workers(pilot)


def test_root_timeline_marks_the_subgraph(
    snap_compare: SnapCompare, subgraph_app: TimeloomApp
) -> None:
    """support-7: step 1 (triage) ran the research subgraph: ↘ research."""
    assert snap_compare(
        subgraph_app,
        terminal_size=SIZE,
        run_before=_steps(_open(SUPPORT), _select_triage),
    )


def test_subgraph_timeline(
    snap_compare: SnapCompare, subgraph_app: TimeloomApp
) -> None:
    """i on triage: the research subgraph's own timeline (support-7 › research:…,
    "↘ i: out" below), its plan step marked ↘ search (a subgraph inside)."""
    assert snap_compare(
        subgraph_app,
        terminal_size=SIZE,
        run_before=_steps(_open(SUPPORT), _select_triage, _keys("i")),
    )
