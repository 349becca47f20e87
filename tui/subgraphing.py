"""The app's side of subgraphs: the checkpoints of the open timeline that ran a
subgraph (marked in the checkpoint tree), jumping into a subgraph's timeline and
back out (``i``; ``backspace`` returns too), and a thread's subgraph timelines in
the threads pane (``i`` there: the ``thread|`` filter). What a timeline id means is
headless (:mod:`timeloom.tui.ops.subgraphs`); this runs the reads in workers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.widgets import Input

from timeloom.core.checkpoint import Checkpoint
from timeloom.core.errors import CheckpointNotFound
from timeloom.core.namespaces import NS_SEP
from timeloom.tui.ops.subgraphs import (
    breadcrumb,
    is_shared,
    is_subgraph,
    named_in,
    origin_in,
    parent_of,
    ran_from,
    root_of,
    run_head,
    subgraphs_by_checkpoint,
)
from timeloom.tui.screens.subgraph_pick import SubgraphPick

if TYPE_CHECKING:
    from timeloom.tui.navigation import Navigation
    from timeloom.tui.selection import SelectionApp


def load(app: SelectionApp, timeline: str) -> None:
    """Find which checkpoints of ``timeline`` ran subgraphs; mark them in the tree."""
    app.run_worker(
        _load(app, timeline), group="subgraphs", exclusive=True, exit_on_error=False
    )


async def _load(app: SelectionApp, timeline: str) -> None:
    found = await subgraphs_by_checkpoint(app.checkpointer, timeline)
    tree = app.checkpoint_tree
    if tree.thread_id == timeline and found:
        tree.set_subgraphs(
            {cid: [i.thread_id for i in infos] for cid, infos in found.items()}
        )


def note(app: SelectionApp, checkpoint: Checkpoint) -> None:
    """Mark the subgraphs a loaded checkpoint names in its metadata (a backend
    that cannot list subgraphs still names them there)."""
    tree = app.checkpoint_tree
    ran = named_in(checkpoint.metadata, checkpoint.thread_id)
    if ran and tree.thread_id == checkpoint.thread_id:
        tree.set_subgraphs({checkpoint.id: ran})


def jump(app: Navigation) -> None:
    """From the threads pane, list the highlighted thread's subgraph timelines;
    from the tree, go into the subgraph the highlighted checkpoint ran (choosing
    when it ran several), or out of this subgraph to the checkpoint that ran it."""
    pane = app.query_one("#threads-pane")
    if app.focused is not None and (
        app.focused is pane or pane in app.focused.ancestors
    ):
        info = app.thread_list.info_at(app.thread_list.cursor)
        if info is not None:
            show_subgraphs_of(app, info.thread_id)
        return
    tree = app.checkpoint_tree
    meta = tree.highlighted()
    timeline = tree.thread_id
    if meta is None or timeline is None:
        app.notify("Open a thread first.", title="No subgraph")
        return
    ran = tree.subgraphs_of(meta.id)
    if len(ran) == 1:
        into(app, ran[0], meta.id)
    elif ran:

        def chosen(picked: str | None) -> None:
            if picked is not None:
                into(app, picked, meta.id)

        app.push_screen(SubgraphPick(meta, ran), chosen)
    elif is_subgraph(timeline):
        out_of(app, timeline)
    else:
        app.notify(
            f"Step {meta.step} of {timeline!r} ran no subgraph. Checkpoints that "
            f"did are marked ↘ in the tree; in the threads pane, i lists a "
            f"thread's subgraphs.",
            title="No subgraph here",
        )


def into(app: Navigation, timeline: str, ran_by: str | None = None) -> None:
    """Open a subgraph's timeline at its head, or, for a history shared by
    several runs, at the end of the run the parent's checkpoint ``ran_by`` made
    (``backspace`` comes back)."""
    app.run_worker(_into(app, timeline, ran_by), group="action", exit_on_error=False)


async def _into(app: Navigation, timeline: str, ran_by: str | None = None) -> None:
    if ran_by is not None and is_shared(timeline):
        found = await run_head(app.checkpointer, timeline, ran_by)
        if found is not None:
            app.goto_checkpoint(timeline, found)
            return
    info = await app.checkpointer.get_thread(timeline)
    if info is None:
        raise CheckpointNotFound(
            f"The subgraph timeline {timeline!r} has no checkpoints.",
            title="Subgraph not found",
        )
    app.goto_checkpoint(timeline, info.head_id)


def out_of(app: Navigation, timeline: str) -> None:
    """Go to the checkpoint of the parent timeline that ran this subgraph."""
    app.run_worker(_out_of(app, timeline), group="action", exit_on_error=False)


async def _out_of(app: Navigation, timeline: str) -> None:
    parent = parent_of(timeline)
    if parent is None:
        return
    # The run the highlighted checkpoint belongs to (a shared history has
    # several); else the head's.
    meta = app.checkpoint_tree.highlighted()
    checkpoint_id = None
    if meta is not None and meta.thread_id == timeline:
        checkpoint_id = origin_in(timeline, meta.metadata)
    if checkpoint_id is None:
        info = app.thread_info
        if info is None or info.thread_id != timeline:  # jumped before the load
            info = await app.checkpointer.get_thread(timeline)
        checkpoint_id = ran_from(info) if info is not None else None
    if checkpoint_id is None:  # not recorded: the parent's head, at least
        await _into(app, parent)
    else:
        app.goto_checkpoint(parent, checkpoint_id)


def left_subgraphs(app: Navigation, thread_id: str) -> None:
    """A jump opened ``thread_id``: if it is a root graph's and the threads pane
    still lists subgraph timelines (``i`` there set ``thread|``), give the pane
    the user's filter back, so the open thread is in the list again."""
    saved = app.subgraph_filter
    if saved is None or is_subgraph(thread_id):
        return
    app.subgraph_filter = None
    field = app.query_one("#thread-filter", Input)
    if field.value == saved[1]:  # not changed by the user since
        field.value = saved[0]


def show_subgraphs_of(app: Navigation, thread_id: str) -> None:
    """Filter the threads pane to a thread's subgraph timelines (``thread|``),
    keeping the user's filter to restore (:func:`left_subgraphs`); or say the
    thread ran none (an empty list says nothing, and at 80 columns the detail
    pane that would is hidden)."""
    app.run_worker(
        _show_subgraphs_of(app, thread_id), group="action", exit_on_error=False
    )


async def _show_subgraphs_of(app: Navigation, thread_id: str) -> None:
    root = root_of(thread_id)
    if not await app.checkpointer.threads(search=root + NS_SEP, limit=1):
        app.notify(f"{breadcrumb(root)!r} ran no subgraph.", title="No subgraphs")
        return
    field = app.query_one("#thread-filter", Input)
    saved = app.subgraph_filter
    users = saved[0] if saved is not None and field.value == saved[1] else field.value
    field.value = root + NS_SEP
    app.subgraph_filter = (users, field.value)
    app.thread_list.focus()
    app.notify(
        f"Subgraph timelines of {breadcrumb(root)!r} (escape: all threads).",
        title="Subgraphs",
    )
