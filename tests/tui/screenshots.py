"""Regenerate the README's pictures of the TUI: ``python -m tests.tui.screenshots``.

Runs the demo agent (the real runtime) into a fresh SQLite database, opens it
read-only in the real app at 120x36, drives it with keys and saves one SVG per view
into ``screenshots/``. Ids and times come from the run, so the pictures change a
little each time; the snapshot tests (tests/snapshots) are the frozen ones.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path

from textual.pilot import Pilot

from tests.tui.conftest import SIZE, wait_for_workers
from timeloom.backends.sqlite import SqliteCheckpointer
from timeloom.tui.app import TimeloomApp
from timeloom.tui.cli import open_url
from timeloom.tui.demo.build import build_demo

Step = Callable[[Pilot[None]], Awaitable[None]]


def _open(thread_id: str, *keys: str) -> Step:
    async def step(pilot: Pilot[None]) -> None:
        app = pilot.app
        assert isinstance(app, TimeloomApp)
        app.open_thread(thread_id)
        await wait_for_workers(pilot)
        app.checkpoint_tree.focus()
        await pilot.press(*keys)
        await wait_for_workers(pilot)

    return step


def _keys(*keys: str) -> Step:
    async def step(pilot: Pilot[None]) -> None:
        await pilot.press(*keys)
        await wait_for_workers(pilot)

    return step


async def _expand_state(pilot: Pilot[None]) -> None:
    app = pilot.app
    assert isinstance(app, TimeloomApp)
    tree = app.query_one("#state-tree")
    for node in tree.root.children[:2]:  # type: ignore[attr-defined]
        node.expand()
    await pilot.pause()


VIEWS: dict[str, list[Step]] = {
    "overview": [],
    "branches": [_open("refund-4711"), _expand_state],
    "fork": [_open("refund-3150", "down"), _keys("3")],
    "failed": [_open("refund-3150"), _keys("2")],
    "paused": [_open("refund-2077"), _keys("2")],
    "filter": [_keys("slash", *"refund-3")],
    "help": [_keys("question_mark")],
}
"""The views, by file name, and how to get there from the start screen."""


async def write_screenshots(directory: Path) -> list[Path]:
    """Build the demo database and save a picture of each view into ``directory``
    (which must exist)."""
    written = []
    with tempfile.TemporaryDirectory() as scratch:
        database = Path(scratch) / "demo.db"
        async with SqliteCheckpointer(database) as checkpointer:
            await build_demo(checkpointer)
        for name, steps in VIEWS.items():
            app = TimeloomApp(open_url(str(database), read_only=True))
            async with app.run_test(size=SIZE) as pilot:
                await wait_for_workers(pilot)
                for step in steps:
                    await step(pilot)
                await pilot.wait_for_scheduled_animations()
                await pilot.pause()
                path = app.save_screenshot(filename=f"{name}.svg", path=str(directory))
                written.append(Path(path))
    return written


def main() -> None:
    """Write the screenshots; print where."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("screenshots"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for path in asyncio.run(write_screenshots(args.out)):
        print(path)


if __name__ == "__main__":
    main()
