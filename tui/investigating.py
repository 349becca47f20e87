"""The app's side of the investigation tools: search a thread (matches shown in
the checkpoint tree, ``n``/``N`` to step through them), the provenance of the
value under the State tab's cursor, and the open thread's storage. The work itself is headless
(:mod:`timeloom.tui.investigate`); this runs it in workers and shows the results.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from timeloom.tui.investigate.blame import blame
from timeloom.tui.investigate.du import thread_usage
from timeloom.tui.investigate.du_report import thread_report
from timeloom.tui.investigate.find import find_in_thread
from timeloom.tui.investigate.paths import path_text
from timeloom.tui.investigate.query import compile_query
from timeloom.tui.investigate.timeline import ThreadStates, lineage
from timeloom.tui.ops.plural import counted
from timeloom.tui.screens.investigate import (
    ProvenanceScreen,
    QueryScreen,
    StorageScreen,
)
from timeloom.tui.widgets.value_tree import ValueTree

if TYPE_CHECKING:
    from timeloom.tui.app import TimeloomApp

MAX_MATCHES: Final = 10_000
"""A search stops after this many matches (the tree marks them all)."""


def ask_query(app: TimeloomApp) -> None:
    """Ask for a query and search the open thread with it."""
    thread_id = app.checkpoint_tree.thread_id
    if thread_id is None:
        app.notify("Open a thread first.", title="Nothing to search")
        return

    def chosen(query: str | None) -> None:
        if query:
            app.run_worker(
                _search(app, thread_id, query),
                group="search",
                exclusive=True,
                exit_on_error=False,
            )

    app.push_screen(QueryScreen(thread_id, app.checkpoint_tree.match_query), chosen)


async def _search(app: TimeloomApp, thread_id: str, text: str) -> None:
    query = compile_query(text)
    states = await ThreadStates.load(app.checkpointer, thread_id)
    found: list[str] = []
    async for match in find_in_thread(states, query):
        found.append(match.meta.id)
        if len(found) >= MAX_MATCHES:
            break
    tree = app.checkpoint_tree
    if tree.thread_id != thread_id:
        return  # another thread was opened meanwhile
    tree.set_matches(found, text)
    if not found:
        app.notify(f"No checkpoint matches {text}", title="Search", markup=False)
        return
    app.notify(
        f"{counted(len(found), 'checkpoint')} "
        f"{'matches' if len(found) == 1 else 'match'}; the first is selected "
        "(n / N: next / previous)",
        title="Search",
    )
    app.goto_checkpoint(thread_id, found[0])


def next_match(app: TimeloomApp, direction: int) -> None:
    """Select the next match down the tree (older; ``direction`` -1: up, newer)."""
    tree = app.checkpoint_tree
    if not tree.matches or tree.thread_id is None:
        app.notify("Search first (ctrl+f).", title="No matches")
        return
    current = tree.highlighted()
    here = current.id if current is not None else ""
    ordered = sorted(tree.matches, reverse=True)  # the tree's order: newest first
    if direction > 0:
        later = [cid for cid in ordered if cid < here]
        target = later[0] if later else ordered[0]
    else:
        earlier = [cid for cid in ordered if cid > here]
        target = earlier[-1] if earlier else ordered[-1]
    position = ordered.index(target) + 1
    app.notify(f"match {position} of {len(ordered)}", title="Search", timeout=2)
    app.goto_checkpoint(tree.thread_id, target, remember=False)


def who_changed(app: TimeloomApp) -> None:
    """Show the checkpoints where the value under the State tab's cursor changed."""
    meta = app.selected_meta
    node = app.query_one("#state-tree", ValueTree).cursor_node
    path = node.data.path if node is not None and node.data is not None else ()
    if meta is None or not path:
        app.notify(
            "Select a key or a value in the State tab first.", title="Who changed"
        )
        return
    app.run_worker(
        _blame(app, meta.thread_id, meta.id, path),
        group="search",
        exclusive=True,
        exit_on_error=False,
    )


async def _blame(
    app: TimeloomApp, thread_id: str, tip: str, path: tuple[str | int, ...]
) -> None:
    branch = await lineage(app.checkpointer, f"{thread_id}@{tip}")
    changes = await blame(branch, path)

    threads = {c.meta.id: c.meta.thread_id for c in changes}

    def chosen(checkpoint_id: str | None) -> None:
        if checkpoint_id is not None:
            app.goto_checkpoint(threads[checkpoint_id], checkpoint_id)

    app.push_screen(
        ProvenanceScreen(path_text(path), changes, len(branch.checkpoints)), chosen
    )


def storage(app: TimeloomApp) -> None:
    """Show what the open thread costs in storage, per key."""
    thread_id = app.checkpoint_tree.thread_id
    if thread_id is None:
        app.notify("Open a thread first.", title="Storage")
        return
    app.run_worker(
        _storage(app, thread_id), group="search", exclusive=True, exit_on_error=False
    )


async def _storage(app: TimeloomApp, thread_id: str) -> None:
    usage = await thread_usage(app.checkpointer, thread_id)
    app.push_screen(StorageScreen(thread_id, thread_report(usage)))
