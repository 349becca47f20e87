"""SVG snapshots of the main views. Update deliberately: ``pytest tests/snapshots
--snapshot-update``, then look at every changed picture before committing."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from textual.pilot import Pilot

from tests.tui.conftest import wait_for_workers
from timeloom.tui.app import TimeloomApp

SnapCompare = Callable[..., bool]
SIZE = (120, 36)


def _steps(
    *actions: Callable[[Pilot[None]], Awaitable[None]],
) -> Callable[[Pilot[None]], Awaitable[None]]:
    async def run_before(pilot: Pilot[None]) -> None:
        await wait_for_workers(pilot)
        for action in actions:
            await action(pilot)
            await wait_for_workers(pilot)

    return run_before


def _keys(*keys: str) -> Callable[[Pilot[None]], Awaitable[None]]:
    async def press(pilot: Pilot[None]) -> None:
        await pilot.press(*keys)

    return press


def _open(thread_id: str) -> Callable[[Pilot[None]], Awaitable[None]]:
    async def open_thread(pilot: Pilot[None]) -> None:
        app = pilot.app
        assert isinstance(app, TimeloomApp)
        app.open_thread(thread_id)
        await wait_for_workers(pilot)
        app.checkpoint_tree.focus()

    return open_thread


def test_startup(snap_compare: SnapCompare, seeded_app: TimeloomApp) -> None:
    """Threads by last update with their status icons, the newest thread's tree
    (a fork: ↳ from refund-42 on its root) and its state."""
    assert snap_compare(seeded_app, terminal_size=SIZE, run_before=_steps())


def test_sibling_branches(snap_compare: SnapCompare, seeded_app: TimeloomApp) -> None:
    """refund-77: the declined branch in a second lane joining at step 2 (○─╯),
    the edited branch (update) on top, with the inert Receipt in the state."""
    assert snap_compare(
        seeded_app, terminal_size=SIZE, run_before=_steps(_open("refund-77"))
    )


def test_fork_point_and_metadata(
    snap_compare: SnapCompare, seeded_app: TimeloomApp
) -> None:
    """refund-42 paused (‖ interrupt on the head); the cursor on lookup_order, which
    shows ↳ → refund-42-b; the Metadata tab lists the parent and the fork as links."""
    assert snap_compare(
        seeded_app,
        terminal_size=SIZE,
        run_before=_steps(_open("refund-42"), _keys("down"), _keys("3")),
    )


def test_writes_with_an_error(
    snap_compare: SnapCompare, seeded_app: TimeloomApp
) -> None:
    """order-9 failed: the Writes tab says which node raised what, with the error
    (and its traceback) in the tree."""
    assert snap_compare(
        seeded_app,
        terminal_size=SIZE,
        run_before=_steps(_open("order-9"), _keys("2")),
    )


def test_filtered_threads(snap_compare: SnapCompare, seeded_app: TimeloomApp) -> None:
    """Typing after / filters by id prefix; the header counts the matches."""
    assert snap_compare(
        seeded_app, terminal_size=SIZE, run_before=_steps(_keys("slash", *"refund"))
    )


def test_help_screen(snap_compare: SnapCompare, seeded_app: TimeloomApp) -> None:
    """? lists every key by where it works."""
    assert snap_compare(
        seeded_app, terminal_size=SIZE, run_before=_steps(_keys("question_mark"))
    )


def test_read_only_badge(snap_compare: SnapCompare, seeded_app: TimeloomApp) -> None:
    """A read-only database says so in the header."""
    seeded_app.checkpointer.read_only = True
    assert snap_compare(seeded_app, terminal_size=SIZE, run_before=_steps())
