"""The actions on the selected checkpoint: mark and diff, and the write actions
(edit, branch, resume, stop) with their gating.

A write action that cannot run here (read-only, no graph) is dimmed, and its key
says why instead of doing nothing; the runner (:mod:`timeloom.tui.ops.runners`) does the
writing, in an ``action`` worker (or the ``run`` worker for resume), so a failure
reaches the user as a dialog.
"""

from __future__ import annotations

import asyncio

from textual import events, on, work
from textual.binding import Binding
from textual.widgets import Static
from textual.worker import Worker

from timeloom.core.checkpoint import Checkpoint, CheckpointMeta, PendingWrite
from timeloom.core.errors import TimeloomError
from timeloom.core.namespaces import split_timeline
from timeloom.tui.bindings import (
    BINDINGS,
    CHECKPOINT_ACTIONS,
    STOP_KEY,
    WRITE_ACTIONS,
    WRITE_KEYS,
)
from timeloom.tui.loaders import RUN_GROUP, while_running
from timeloom.tui.messages import CheckpointCommitted
from timeloom.tui.ops import actions
from timeloom.tui.ops.actions import WriteAction
from timeloom.tui.ops.errors import describe_error
from timeloom.tui.ops.plural import counted
from timeloom.tui.ops.resuming import Answer
from timeloom.tui.ops.runners.base import BranchOptions
from timeloom.tui.screens.branch import BranchScreen
from timeloom.tui.screens.diff import DiffScreen
from timeloom.tui.screens.editor import EditorScreen, EditRequest
from timeloom.tui.screens.resume import ResumeScreen
from timeloom.tui.selection import SelectionApp
from timeloom.tui.widgets.checkpoint_tree import CheckpointTree, node_label
from timeloom.tui.widgets.formatting import MARKED
from timeloom.tui.widgets.labels import label


class WriteActions(SelectionApp):
    """Mark, diff, edit, branch, resume and stop, on the selected checkpoint."""

    @on(Worker.StateChanged)
    @while_running  # a run cancelled as the app exits: its widgets are gone
    def _run_state(self, event: Worker.StateChanged) -> None:
        if event.worker.group == RUN_GROUP:
            self.set_class(self.run_active, "-running")
            if not self.run_active:
                self._run_thread = None
            self._show_live()
            self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Dim the write actions that cannot run here (the help says why), and the
        checkpoint actions until a checkpoint is selected; hide "stop run" when no
        run is going."""
        if action in self._browse_actions and not self._on_main_screen:
            return False  # the diff and editor screens have keys of their own
        if action == "stop_run":
            return True if self.run_active else False
        if action in WRITE_ACTIONS and self.write_refusal(action) is not None:
            return None
        if action in CHECKPOINT_ACTIONS and self.selected_meta is None:
            return None
        return True

    def write_refusal(self, action: str) -> str | None:
        """Why the write ``action`` (edit, branch, resume) cannot run, or None."""
        for write_action in WRITE_KEYS.values():
            if write_action == action:
                return self.runner.refusal(write_action)
        return None

    def write_refusals(self) -> list[tuple[str, str]]:
        """``(action, why it is off)`` for each write action that cannot run."""
        found = []
        for key, action in WRITE_KEYS.items():
            reason = self.write_refusal(action)
            if reason is not None:
                found.append((f"{key} {action}", reason))
        return found

    @property
    def _on_main_screen(self) -> bool:
        return len(self.screen_stack) <= 1

    @property
    def _browse_actions(self) -> frozenset[str]:
        """The actions of the app's own keys (except help), by name."""
        return frozenset(
            b.action.split("(")[0]
            for b in BINDINGS
            if isinstance(b, Binding) and b.action != "help"
        )

    def on_key(self, event: events.Key) -> None:
        # A refused write key is not bound (check_action); say why it did nothing.
        # So is "stop run" while no run goes (hidden from the footer, where it
        # would only take room): it says so too.
        if not self._on_main_screen:
            return
        if event.key == STOP_KEY and not self.run_active:
            event.stop()
            self.action_stop_run()
            return
        action = WRITE_KEYS.get(event.key)
        if action is not None and self.selected_meta is not None:
            if self._refused(action):
                event.stop()

    def _refused(self, action: WriteAction) -> bool:
        reason = self.write_refusal(action)
        if reason is not None:
            self.notify(reason, title="Not available", severity="warning")
            return True
        return False

    def _show_write_state(self) -> None:
        """Badges for what cannot be written (their tooltips say why)."""
        locked = self.write_refusal("edit") is not None
        self.set_class(locked, "-read-only")
        self.query_one("#readonly-badge").tooltip = self.write_refusal("edit")
        no_graph = not locked and self.write_refusal("resume") is not None
        self.set_class(no_graph, "-no-graph")
        self.query_one("#nograph-badge").tooltip = self.write_refusal("resume")
        self.refresh_bindings()

    def _needs_checkpoint(self) -> CheckpointMeta | None:
        meta = self.selected_meta
        if meta is None:
            self.notify("Select a checkpoint first.", title="No checkpoint")
        return meta

    async def _load_selected(self, meta: CheckpointMeta) -> Checkpoint:
        shown = self.detail.checkpoint
        if shown is not None and shown.id == meta.id:
            return shown
        checkpoint = await self.checkpointer.get(meta.thread_id, meta.id)
        if checkpoint is None:
            raise TimeloomError(
                f"Checkpoint {meta.id} is gone from {meta.thread_id!r}.",
                title="Checkpoint not found",
            )
        return checkpoint

    def action_mark(self) -> None:
        """Mark the selected checkpoint (or unmark it); the diff compares with it."""
        meta = self._needs_checkpoint()
        if meta is None:
            return
        if self.marked == meta.id:
            self.marked_meta = None
            self.marked = None
            self.notify("Mark cleared: d diffs against the parent again.")
            return
        self.marked_meta = meta
        self.marked = meta.id
        self.notify(
            f"{meta.thread_id} @ step {meta.step}: select another checkpoint "
            f"(in any thread) and press d to diff against it.",
            title="Marked",
        )

    def watch_marked(self, marked: str | None) -> None:
        badge = self.query_one("#mark-badge", Static)
        meta = self.marked_meta
        if marked is None or meta is None:
            badge.update("")
            badge.display = False
        else:
            badge.update(
                label(f"{MARKED} {meta.thread_id} @ {meta.step} {node_label(meta)}")
            )
            badge.tooltip = f"Marked checkpoint {meta.id}: d diffs against it"
            badge.display = True
        self.query_one(CheckpointTree).set_marked(marked)
        self._update_tree_title()

    def action_diff(self) -> None:
        """Diff the selected checkpoint against its parent or the marked one."""
        meta = self._needs_checkpoint()
        if meta is not None:
            self._open_diff(meta)

    @work(group="action", exit_on_error=False)
    async def _open_diff(self, meta: CheckpointMeta) -> None:
        checkpoint = await self._load_selected(meta)
        against = self.marked if self.marked and self.marked != meta.id else None
        base = await actions.load_diff_base(self.checkpointer, checkpoint, against)
        await self.push_screen(DiffScreen(checkpoint, base))

    def action_edit(self) -> None:
        """Edit the selected checkpoint's values; saving writes an update."""
        if self._refused("edit"):
            return
        meta = self._needs_checkpoint()
        if meta is not None:
            self._edit(meta)

    def _editor(
        self, checkpoint: Checkpoint, *, confirm: str = "Save", text: str | None = None
    ) -> EditorScreen:
        runner = self.runner
        return EditorScreen(
            checkpoint,
            schema=runner.schema,
            nodes=list(runner.nodes),
            default_as_node=runner.default_as_node(checkpoint),
            reducers=runner.reducer_keys(),
            confirm=confirm,
            text=text,
        )

    @work(group="action", exit_on_error=False)
    async def _edit(self, meta: CheckpointMeta) -> None:
        checkpoint = await self._load_selected(meta)
        text: str | None = None
        while True:
            request: EditRequest | None = await self.push_screen_wait(
                self._editor(checkpoint, text=text)
            )
            if request is None:
                return
            try:
                saved = await self.runner.edit(
                    checkpoint, request.edit, as_node=request.as_node
                )
                break
            except TimeloomError as error:
                # Writing failed (the head moved, the database refused...): the
                # editor opens again on the user's text; nothing typed is lost.
                title, message, _ = describe_error(error)
                self.notify(message, title=f"{title}: nothing was saved", timeout=10)
                text = request.text
        self.post_message(CheckpointCommitted(saved.summary(), select=True))
        self.notify(
            f"Step {saved.step} of {saved.thread_id!r} holds the edited values; "
            f"step {checkpoint.step} is kept.",
            title="Edit saved",
        )

    def action_branch(self) -> None:
        """Fork the selected checkpoint into a new thread."""
        if self._refused("branch"):
            return
        meta = self._needs_checkpoint()
        if meta is not None:
            self._branch(meta)

    @work(group="action", exit_on_error=False)
    async def _branch(self, meta: CheckpointMeta) -> None:
        # Refused before the dialog asks for a name (the runner refuses it too).
        actions.require_root(meta.thread_id, *split_timeline(meta.thread_id))
        checkpoint = await self._load_selected(meta)
        name = await actions.suggest_branch_name(self.checkpointer, meta.thread_id)
        request = await self.push_screen_wait(
            BranchScreen(checkpoint, name, offer_ancestry=self.runner.supports_ancestry)
        )
        if request is None:
            return
        edit: EditRequest | None = None
        if request.edit_first:
            edit = await self.push_screen_wait(
                self._editor(checkpoint, confirm="Branch")
            )
            if edit is None:
                self.notify("Nothing was branched.", title="Branch cancelled")
                return
        root = await self.runner.branch(
            checkpoint,
            request.thread_id,
            BranchOptions(
                edit=edit.edit if edit is not None else None,
                as_node=edit.as_node if edit is not None else None,
                ancestry=request.ancestry,
            ),
        )
        self.open_thread(root.thread_id, select=root.id)
        self.refresh_threads(select=root.thread_id)
        self.checkpoint_tree.focus()
        self.notify(
            f"{root.thread_id!r} starts at step {root.step}, a fork of "
            f"{meta.thread_id!r} step {meta.step}. Press r to run it on.",
            title="Branched",
        )

    def action_resume(self) -> None:
        """Run on from the selected checkpoint, asking for interrupt answers."""
        if self._refused("resume"):
            return
        meta = self._needs_checkpoint()
        if meta is None:
            return
        if self.run_active:
            self.notify("A run is going: x stops it.", title="Already running")
            return
        if not meta.next and not meta.has_interrupt and not meta.has_error:
            self.notify(
                f"Step {meta.step} of {meta.thread_id!r} has no nodes left to run: "
                f"the run finished there. Select an earlier checkpoint to run on "
                f"from it.",
                title="Nothing to resume",
            )
            return
        self._run_thread = meta.thread_id
        self._resume(meta)

    async def _ask(
        self, at: Checkpoint, interrupts: tuple[PendingWrite, ...]
    ) -> Answer | None:
        screen = ResumeScreen(at, interrupts)
        try:
            answer: Answer | None = await self.push_screen_wait(screen)
        except asyncio.CancelledError:  # "stop run" while the question is open
            if screen.is_active:
                screen.dismiss(None)
            raise
        return answer

    def _committed(self, checkpoint: Checkpoint) -> None:
        self.post_message(CheckpointCommitted(checkpoint.summary(), select=True))

    @work(group=RUN_GROUP, exclusive=True, exit_on_error=False)
    async def _resume(self, meta: CheckpointMeta) -> None:
        checkpoint = await self._load_selected(meta)
        self.notify(f"Running {meta.thread_id!r} from step {meta.step}…")
        outcome = await self.runner.resume(
            checkpoint,
            ask=self._ask,
            on_checkpoint=self._committed,
        )
        count = len(outcome.committed)
        wrote = counted(count, "new checkpoint")
        last = outcome.last
        if outcome.status == "done":
            self.notify(f"{wrote}; the run finished.", title="Done")
        elif outcome.status == "paused":
            waiting = ", ".join(w.node for w in last.interrupts) or "an interrupt"
            self.notify(
                f"{wrote}; paused at step {last.step}, waiting for {waiting}. "
                f"Press r to answer.",
                title="Paused",
            )
        else:
            self.notify(f"{wrote}; the run stopped at step {last.step}.")
        self._thread_changed(last.thread_id)
        if last.thread_id == self.selected_thread:
            # The run answered interrupts (or retried errors) of rows already drawn.
            self.open_thread(last.thread_id, select=last.id)

    def _thread_changed(self, thread_id: str) -> None:
        """Show the thread's new status and counts (after a run)."""
        self.refresh_threads(select=thread_id)
        self._reload_info(thread_id)

    @work(group="thread-info", exit_on_error=False)
    async def _reload_info(self, thread_id: str) -> None:
        info = await self.checkpointer.get_thread(thread_id)
        if info is not None and info.thread_id == self.selected_thread:
            self.thread_info = info
            self.checkpoint_tree.head_id = info.head_id
            self._update_tree_title()

    def action_stop_run(self) -> None:
        """Cancel the running resume (whole steps stay committed)."""
        if not self.run_active:
            self.notify(
                "No run is going: x stops a run started with r (resume).",
                title="Nothing to stop",
            )
            return
        self.workers.cancel_group(self, RUN_GROUP)
        self.notify(
            "Stopped. Steps already committed stay; r runs on from here.",
            title="Run stopped",
        )
        thread_id = self.selected_thread
        if thread_id is not None:
            self._thread_changed(thread_id)
