"""Fixtures for the TUI tests: seeded checkpointers, the demo database, helpers that
find its checkpoints, helpers that wait for the app's workers, and the Pilot steps
many tests take (select a head, open the editor, save, branch)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Input, TextArea
from textual.worker import WorkerCancelled, WorkerFailed

from tests.tui.seed import Seeder, seed_refund_agent
from timeloom.backends.memory import MemoryCheckpointer
from timeloom.core import Checkpoint, CompiledGraph, ThreadInfo
from timeloom.tui import scripting
from timeloom.tui.app import TimeloomApp
from timeloom.tui.demo.build import FORK, build_demo
from timeloom.tui.screens.branch import BranchScreen
from timeloom.tui.screens.diff import ConfirmDiffScreen
from timeloom.tui.screens.editor import EditorScreen

SIZE = (120, 36)
"""The terminal size every Pilot test runs at."""

Demo = tuple[MemoryCheckpointer, CompiledGraph]
"""The demo database in memory, and its graph bound to it."""


async def wait_for_workers(
    pilot: Pilot[None], rounds: int = 3, *, skip: frozenset[str] = frozenset({"follow"})
) -> None:
    """Let the app settle: run every worker to its end, then process the messages.

    Workers started by those messages (a page of threads, then the thread's history,
    then the selected checkpoint) get their turn in the next round. Failures are
    left to the app's error handling, which is what the tests look at. Workers of
    the groups in ``skip`` are not waited for (follow never ends by itself).
    """
    app = pilot.app
    for _ in range(rounds):
        workers = [w for w in app.workers if w.group not in skip]
        if workers:  # an empty list would wait for every worker
            with contextlib.suppress(WorkerCancelled, WorkerFailed):
                await app.workers.wait_for_complete(workers)
        await pilot.pause()


async def wait_for_reads(pilot: Pilot[None], rounds: int = 3) -> None:
    """:func:`wait_for_workers`, but not for the action workers: they wait for a
    dialog's answer until the test gives it."""
    await wait_for_workers(pilot, rounds, skip=frozenset({"follow", "action", "run"}))


async def settle(pilot: Pilot[None], rounds: int = 3) -> None:
    """:func:`wait_for_workers` for every worker (a screen's host app has no follow)."""
    await wait_for_workers(pilot, rounds, skip=frozenset())


async def wait_until(
    pilot: Pilot[None], condition: Callable[[], bool], seconds: float = 3.0
) -> bool:
    """Pause until ``condition()`` holds (or ``seconds`` pass); return it."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not condition():
        if loop.time() > deadline:
            return False
        await pilot.pause(0.05)
    return True


@pytest.fixture(autouse=True)
def no_cursor_blink(monkeypatch: pytest.MonkeyPatch) -> None:
    """A blinking cursor makes screens differ from one moment to the next."""
    monkeypatch.setattr(Input, "cursor_blink", False)


@pytest.fixture
async def seeded() -> tuple[MemoryCheckpointer, Seeder]:
    """A memory checkpointer holding the refund-agent scenario."""
    checkpointer = MemoryCheckpointer()
    seeder = await seed_refund_agent(checkpointer)
    return checkpointer, seeder


@pytest.fixture
async def demo() -> Demo:
    """The demo database in memory, and its graph bound to it."""
    checkpointer = MemoryCheckpointer()
    graph = await build_demo(checkpointer)
    return checkpointer, graph


async def written_by(cp: MemoryCheckpointer, thread_id: str, node: str) -> Checkpoint:
    """The oldest checkpoint of ``thread_id`` that ``node`` wrote."""
    found = [meta.id async for meta in cp.summaries(thread_id) if node in meta.nodes]
    assert found, f"{node} never ran in {thread_id}"
    checkpoint = await cp.get(thread_id, found[-1])
    assert checkpoint is not None
    return checkpoint


async def fork_root(cp: MemoryCheckpointer) -> Checkpoint:
    """The first checkpoint of the demo's fork (a thread branched from another)."""
    roots = [meta.id async for meta in cp.summaries(FORK) if meta.is_fork_root]
    assert len(roots) == 1
    root = await cp.get(FORK, roots[0])
    assert root is not None
    return root


async def head(cp: MemoryCheckpointer, thread_id: str) -> Checkpoint:
    """The newest checkpoint of ``thread_id``."""
    found = await cp.get(thread_id)
    assert found is not None
    return found


async def count_all(cp: MemoryCheckpointer) -> int:
    """How many checkpoints the database holds, every thread counted."""
    total = 0
    for info in await cp.threads(limit=100):
        total += len([m async for m in cp.summaries(info.thread_id)])
    return total


async def go(pilot: Pilot[None], thread_id: str, checkpoint_id: str) -> None:
    """Select a checkpoint the way a jump does, and let the app load it."""
    app = pilot.app
    assert isinstance(app, TimeloomApp)
    app.goto_checkpoint(thread_id, checkpoint_id)
    await wait_for_reads(pilot)
    assert await wait_until(
        pilot,
        lambda: (
            app.detail.checkpoint is not None
            and app.detail.checkpoint.id == checkpoint_id
        ),
    )


async def go_to_head(pilot: Pilot[None], thread_id: str) -> ThreadInfo:
    """Select a thread's head as :func:`go` does; return the thread's info, read
    from the app's checkpointer just before."""
    app = pilot.app
    assert isinstance(app, TimeloomApp)
    info = await app.checkpointer.get_thread(thread_id)
    assert info is not None
    await go(pilot, thread_id, info.head_id)
    return info


async def open_editor(pilot: Pilot[None]) -> TextArea:
    """Press ``e`` on the selected checkpoint; return the editor's text area."""
    await pilot.press("e")
    await wait_for_reads(pilot)
    assert isinstance(pilot.app.screen, EditorScreen)
    return pilot.app.screen.query_one(TextArea)


async def save_through_the_preview(pilot: Pilot[None]) -> None:
    """``ctrl+s`` in the editor shows the diff preview; ``ctrl+s`` there saves (the
    caller waits for what the save does)."""
    await pilot.press("ctrl+s")
    await wait_for_reads(pilot)
    assert isinstance(pilot.app.screen, ConfirmDiffScreen)
    await pilot.press("ctrl+s")


async def branch_here(pilot: Pilot[None]) -> str:
    """Press ``b`` on the selected checkpoint and take the suggested name with
    ``enter``; return that name."""
    await pilot.press("b")
    await wait_for_reads(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, BranchScreen)
    await pilot.press("enter")
    await wait_for_reads(pilot)
    return screen.suggestion


def notices(app: TimeloomApp) -> str:
    """Every notification the app showed, one per line."""
    return "\n".join(str(n.message) for n in app._notifications)


def frozen_checkpoint(step: int, values: dict[str, object]) -> Checkpoint:
    """A checkpoint of thread ``t`` with a fixed id and time, not from a database."""
    return Checkpoint(
        id=f"cp-{step}",
        thread_id="t",
        parent_id=None,
        parent_thread_id=None,
        step=step,
        source="loop",
        created_at=datetime(2026, 11, 2, tzinfo=UTC),
        values=values,
        next=(),
    )


def parser() -> argparse.ArgumentParser:
    """The ``timeloom`` parser with the read-only commands."""
    root = argparse.ArgumentParser(prog="timeloom")
    scripting.add_script_commands(root.add_subparsers(dest="command"))
    return root


def run(
    argv: list[str], checkpointer: MemoryCheckpointer | None
) -> tuple[int, str, str]:
    """Run a read-only command on ``checkpointer``: ``(exit code, stdout, stderr)``."""
    args = parser().parse_args(argv)
    out, err = io.StringIO(), io.StringIO()
    opener = (lambda url: checkpointer) if checkpointer is not None else None
    code = args.func(args, opener=opener, out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def run_json(argv: list[str], checkpointer: MemoryCheckpointer) -> tuple[int, Any]:
    """Run a read-only command with ``--json``: ``(exit code, the parsed output)``."""
    code, out, err = run([*argv, "--json"], checkpointer)
    assert err == ""
    return code, json.loads(out)


@pytest.fixture
def app_of() -> Callable[[MemoryCheckpointer], TimeloomApp]:
    """Build the app the way the CLI does, for a checkpointer a test prepared."""

    def build(checkpointer: MemoryCheckpointer) -> TimeloomApp:
        return TimeloomApp(checkpointer)

    return build
