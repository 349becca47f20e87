"""Jumping between checkpoints (to a parent, a fork, a link) and back again.

Every jump remembers where it started on a back stack; ``backspace`` pops it.
"""

from __future__ import annotations

from typing import Final

from timeloom.tui import subgraphing
from timeloom.tui.selection import SelectionApp

BACK_STACK_SIZE: Final = 100
"""Positions ``backspace`` can return to (older ones are dropped)."""


class Navigation(SelectionApp):
    """The app's jumps: to a checkpoint in any thread, its parent, its fork, into
    and out of a subgraph."""

    _back: tuple[tuple[str, str], ...] = ()
    """``(thread, checkpoint)`` where each jump started, the latest last."""
    subgraph_filter: tuple[str, str] | None = None
    """``(the user's filter, the one i set)`` while the threads pane lists a
    thread's subgraph timelines: a jump back to a root thread restores the
    user's (:func:`timeloom.tui.subgraphing.left_subgraphs`)."""

    def goto_checkpoint(
        self, thread_id: str, checkpoint_id: str, *, remember: bool = True
    ) -> None:
        """Select a checkpoint in any thread; ``backspace`` comes back here.

        Args:
            thread_id: the checkpoint's thread.
            checkpoint_id: the checkpoint.
            remember: push the current position on the back stack.
        """
        current = self.selected_meta
        if remember and current is not None:
            position = (current.thread_id, current.id)
            self._back = (*self._back, position)[-BACK_STACK_SIZE:]
        tree = self.checkpoint_tree
        if thread_id == tree.thread_id:
            if not tree.select(checkpoint_id):
                oldest = tree.oldest_id
                if oldest is None or tree.exhausted:
                    self.notify(
                        f"Checkpoint {checkpoint_id} is not in {thread_id!r}.",
                        title="Checkpoint not found",
                        severity="warning",
                    )
                else:
                    self._load_more(thread_id, tree.generation, oldest, checkpoint_id)
        else:
            self.open_thread(thread_id, select=checkpoint_id)
            subgraphing.left_subgraphs(self, thread_id)
            index = self.thread_list.index_of(thread_id)
            if index is not None:
                self.thread_list.cursor = index
        tree.focus()

    def action_goto_checkpoint(self, thread_id: str, checkpoint_id: str) -> None:
        """Jump to a checkpoint (used by links in the metadata tab)."""
        self.goto_checkpoint(thread_id, checkpoint_id)

    def action_jump_fork(self) -> None:
        """Jump into the fork of this checkpoint, or back to this fork's origin."""
        meta = self.checkpoint_tree.highlighted()
        if meta is None:
            return
        forks = self.checkpoint_tree.forks_of(meta.id)
        if forks:
            self.goto_checkpoint(forks[0].thread_id, forks[0].id)
        elif meta.is_fork_root and meta.parent_id and meta.parent_thread_id:
            self.goto_checkpoint(meta.parent_thread_id, meta.parent_id)
        elif self.thread_info is not None and self.thread_info.forked_from is not None:
            self.goto_checkpoint(*self.thread_info.forked_from)
        else:
            self.notify(
                "This checkpoint has no fork, and this thread is not a fork.",
                title="Nothing to jump to",
            )

    def action_subgraph(self) -> None:
        """Into the subgraph the highlighted checkpoint ran, or out of this one."""
        subgraphing.jump(self)

    def action_into_subgraph(self, timeline: str) -> None:
        """Go into a subgraph's timeline (used by links in the metadata tab)."""
        subgraphing.into(self, timeline, self.selected_checkpoint)

    def action_jump_parent(self) -> None:
        """Jump to the parent of the highlighted checkpoint."""
        meta = self.checkpoint_tree.highlighted()
        if meta is None or meta.parent_id is None:
            self.notify("This checkpoint has no parent.", title="Nothing to jump to")
            return
        self.goto_checkpoint(meta.parent_thread_id or meta.thread_id, meta.parent_id)

    def action_go_back(self) -> None:
        """Return to where the last jump started."""
        if not self._back:
            self.notify("No earlier position.", title="Back")
            return
        thread_id, checkpoint_id = self._back[-1]
        self._back = self._back[:-1]
        self.goto_checkpoint(thread_id, checkpoint_id, remember=False)
