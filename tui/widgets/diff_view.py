"""A navigable list of what changed between two states, computed off the event loop."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from rich.style import Style
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.message import Message
from textual.reactive import reactive
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option
from textual.worker import Worker, WorkerState, get_current_worker

from timeloom.tui.ops import keysummary
from timeloom.tui.ops.diffing import (
    KIND_SIGNS,
    Change,
    DiffCancelled,
    StateDiff,
    diff_values,
)
from timeloom.tui.ops.keysummary import KeySummary, summarize_keys
from timeloom.tui.ops.plural import counted
from timeloom.tui.ops.preview import preview
from timeloom.tui.ops.safetext import safe
from timeloom.tui.screens.change import ChangeScreen
from timeloom.tui.widgets.labels import label

_FIRST_BATCH = 60
"""Changes shown at once; the rest are added a batch per refresh."""
_BATCH = 40
_MAX_TEXT_LINES = 40
"""A line diff longer than this is cut, with a note of how many lines remain
(enter shows it whole)."""
PREVIEW_MIN = 30
"""Characters of a value shown at least, however narrow the view."""


class DiffView(Vertical, can_focus=False):
    """The changes between two states, one per path, with a summary line.

    Call :meth:`compare` with two states: the diff is computed in a thread worker
    (a new call cancels the previous one) while a loading indicator shows. Two
    states larger than :data:`~timeloom.tui.ops.keysummary.SUMMARY_BYTES` encoded are
    shown as a summary first (which top-level keys differ, and their sizes); enter
    on a key computes the full diff of that key alone, backspace goes back.

    | Key | Action |
    | :- | :- |
    | u | Show or hide the unchanged keys. |
    | up / down | Move between changes. |
    | enter | The whole change: old and new value, a long string's line diff; in a summary, the full diff of the key. |
    | backspace | Back to the summary of a large state. |
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("u", "toggle_unchanged", "Unchanged"),
        Binding("backspace", "summary", "Summary"),
    ]

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "diff-view--added",
        "diff-view--removed",
        "diff-view--changed",
        "diff-view--path",
        "diff-view--muted",
        "diff-view--hunk",
    }
    """Styles of the parts of a change: additions, removals, changes, the path,
    unchanged and secondary text, and ``@@`` hunk headers of a line diff."""

    DEFAULT_CSS = """
    DiffView {
        height: 1fr;
    }
    DiffView > #diff-summary {
        height: 1;
        padding: 0 1;
        color: $text-muted;
    }
    DiffView > OptionList {
        height: 1fr;
    }
    DiffView > .diff-view--added { color: $text-success; }
    DiffView > .diff-view--removed { color: $text-error; }
    DiffView > .diff-view--changed { color: $text-warning; }
    DiffView > .diff-view--path { text-style: bold; }
    DiffView > .diff-view--muted { color: $text-muted; }
    DiffView > .diff-view--hunk { color: $text-accent; }
    """

    show_unchanged: reactive[bool] = reactive(False)
    """Whether unchanged keys are listed between the changes."""

    @dataclass
    class Computed(Message):
        """The diff finished computing (and is now shown)."""

        diff_view: DiffView
        diff: StateDiff

        @property
        def control(self) -> DiffView:
            """The diff view that computed it."""
            return self.diff_view

    @dataclass
    class Summarized(Message):
        """The states are too large to diff at once: their per-key summary."""

        diff_view: DiffView
        keys: list[KeySummary]
        total: int

        @property
        def control(self) -> DiffView:
            """The diff view that summarized them."""
            return self.diff_view

    @dataclass
    class ChangeSelected(Message):
        """The user pressed enter on a change."""

        diff_view: DiffView
        change: Change

        @property
        def control(self) -> DiffView:
            """The diff view the change is in."""
            return self.diff_view

    def __init__(
        self,
        diff: StateDiff | None = None,
        *,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
        disabled: bool = False,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes, disabled=disabled)
        self.diff = diff
        self._entries: list[Change] = []
        self._generation = 0
        self._old: Mapping[str, Any] = {}
        self._new: Mapping[str, Any] = {}
        self._keys: list[KeySummary] | None = None
        """The summary of a large state (None: the states are diffed whole)."""
        self._total = 0
        self._key: str | None = None
        """The key whose full diff is shown, in a summary."""

    def compose(self) -> ComposeResult:
        yield Static("", id="diff-summary")
        yield OptionList(id="diff-changes")

    def on_mount(self) -> None:
        if self.diff is not None:
            self._render_diff()

    @on(Computed)
    def _computed(self, event: Computed) -> None:
        if event.diff_view is not self:
            return
        self.diff = event.diff
        self.query_one(OptionList).loading = False
        self._render_diff()

    @on(Summarized)
    def _summarized(self, event: Summarized) -> None:
        if event.diff_view is not self:
            return
        self._keys = event.keys
        self._total = event.total
        self.query_one(OptionList).loading = False
        self._render_summary()

    @on(OptionList.OptionSelected, "#diff-changes")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if self.diff is None and self._keys is not None:
            self._diff_key(self._shown_keys()[event.option_index].key)
        elif 0 <= event.option_index < len(self._entries):
            change = self._entries[event.option_index]
            self.post_message(self.ChangeSelected(self, change))
            self.app.push_screen(ChangeScreen(change))

    @on(Worker.StateChanged)
    def _worker_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group != "diff" or event.worker.node is not self:
            return
        if event.state == WorkerState.ERROR:
            self.query_one(OptionList).loading = False
            error = event.worker.error
            self._summary(label(f"The diff failed: {type(error).__name__}: {error}"))

    def on_resize(self) -> None:
        if self.diff is not None:  # the values' previews use the width
            self._render_diff()

    def watch_show_unchanged(self) -> None:
        if self.diff is not None:
            self._render_diff()
        elif self._keys is not None:
            self._render_summary()

    def action_toggle_unchanged(self) -> None:
        """Show or hide the unchanged keys."""
        self.show_unchanged = not self.show_unchanged

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "summary":
            return self._key is not None
        return True

    def action_summary(self) -> None:
        """Back from one key's full diff to the summary of a large state."""
        if self._key is None:
            return
        self.workers.cancel_group(self, "diff")
        self.diff = None
        self._entries = []
        self._key = None
        self.query_one(OptionList).loading = False
        self._render_summary()
        self.refresh_bindings()

    # -- public ---------------------------------------------------------------------

    def compare(self, old: Mapping[str, Any], new: Mapping[str, Any]) -> None:
        """Compute the diff from ``old`` to ``new`` in a thread, then show it."""
        self._old, self._new = old, new
        self._keys = None
        self._key = None
        self.refresh_bindings()
        self._start(Text("Comparing…"))
        self._compute(old, new)

    @property
    def entries(self) -> list[Change]:
        """The changes listed, in order (unchanged keys too when shown)."""
        return list(self._entries)

    # -- internals ------------------------------------------------------------------

    def _start(self, note: Text, *, loading: bool = True) -> None:
        self.diff = None
        self._entries = []
        self._generation += 1  # stops the batches of a previous list
        changes = self.query_one(OptionList)
        changes.clear_options()
        changes.loading = loading
        self._summary(note)

    def _diff_key(self, key: str) -> None:
        self._key = key
        self.refresh_bindings()
        # No loading indicator: it would take the focus, and backspace with it.
        self._start(Text(f"Comparing {key}…"), loading=False)
        old = {key: self._old[key]} if key in self._old else {}
        new = {key: self._new[key]} if key in self._new else {}
        self._compute(old, new, whole=True)

    @work(thread=True, exclusive=True, group="diff", exit_on_error=False)
    def _compute(
        self, old: Mapping[str, Any], new: Mapping[str, Any], *, whole: bool = False
    ) -> None:
        worker = get_current_worker()
        try:
            if not whole:
                keys, total = summarize_keys(
                    old, new, cancelled=lambda: worker.is_cancelled
                )
                if total > keysummary.SUMMARY_BYTES:
                    if not worker.is_cancelled:
                        self.post_message(self.Summarized(self, keys, total))
                    return
            diff = diff_values(old, new, cancelled=lambda: worker.is_cancelled)
        except DiffCancelled:
            return
        if not worker.is_cancelled:
            self.post_message(self.Computed(self, diff))

    def _shown_keys(self) -> list[KeySummary]:
        keys = self._keys or []
        if self.show_unchanged:
            return keys
        return [k for k in keys if k.kind != "unchanged"]

    def _render_summary(self) -> None:
        keys = self._keys or []
        shown = self._shown_keys()
        differ = sum(k.kind != "unchanged" for k in keys)
        summary = Text(
            f"Large state ({_size(self._total)} encoded): {differ} of {len(keys)} "
            f"{'key differs' if differ == 1 else 'keys differ'} · enter: full diff of a key"
        )
        hidden = len(keys) - differ
        if hidden:
            verb = "hide" if self.show_unchanged else "show"
            summary.append(
                f"   {hidden} unchanged (u to {verb})", style=self._style("muted")
            )
        self._summary(summary)
        self._generation += 1
        options = self.query_one(OptionList)
        options.set_options(Option(self._key_prompt(k)) for k in shown)
        if shown:
            options.highlighted = 0

    def _key_prompt(self, key: KeySummary) -> Text:
        tone = {
            "changed": "changed",
            "added": "added",
            "removed": "removed",
            "unchanged": "muted",
        }[key.kind]
        text = Text()
        text.append(f"{KIND_SIGNS[key.kind]} ", style=self._style(tone))
        text.append(
            safe(key.key), style=self._style("path" if tone != "muted" else "muted")
        )
        text.append("  ")
        sizes = {
            "changed": f"{_size(key.old_size)} → {_size(key.new_size)}",
            "added": f"added  {_size(key.new_size)}",
            "removed": f"removed  {_size(key.old_size)}",
            "unchanged": _size(key.new_size),
        }[key.kind]
        text.append(sizes, style=self._style("muted"))
        return text

    def _summary(self, text: Text) -> None:
        self.query_one("#diff-summary", Static).update(text)

    def _render_diff(self) -> None:
        diff = self.diff
        if diff is None:
            return
        entries = list(diff.changes)
        if self.show_unchanged:
            entries.extend(diff.unchanged)
            entries.sort(key=lambda c: (c.path_text, c.kind == "unchanged"))
        self._entries = entries
        summary = Text(diff.summary())
        if self._key is not None:
            summary = Text(f"{self._key}: ").append(summary)
            summary.append(
                "   backspace: back to the summary", style=self._style("muted")
            )
        hidden = len(diff.unchanged)
        if hidden:
            verb = "hide" if self.show_unchanged else "show"
            summary.append(
                f"   {hidden} unchanged {'key' if hidden == 1 else 'keys'} (u to {verb})",
                style=self._style("muted"),
            )
        self._summary(summary)
        options = self.query_one(OptionList)
        highlighted = options.highlighted
        self._generation += 1
        first = entries[:_FIRST_BATCH]
        options.set_options(Option(self._prompt(change)) for change in first)
        if entries:
            options.highlighted = min(highlighted or 0, len(first) - 1)
        if len(entries) > len(first):
            self._add_later(self._generation, len(first))

    def _add_later(self, generation: int, start: int) -> None:
        """Add the rest of the changes a batch per refresh, so the app stays live
        (measuring and wrapping a few hundred options at once takes ~100 ms)."""

        def add() -> None:
            if generation != self._generation:
                return  # a newer diff replaced this one
            batch = self._entries[start : start + _BATCH]
            self.query_one(OptionList).add_options(
                Option(self._prompt(change)) for change in batch
            )
            if start + _BATCH < len(self._entries):
                self._add_later(generation, start + _BATCH)

        self.call_after_refresh(add)

    def _style(self, part: str) -> Style:
        return self.get_component_rich_style(f"diff-view--{part}", partial=True)

    def _prompt(self, change: Change) -> Text:
        kind = change.kind
        tone = {
            "changed": "changed",
            "added": "added",
            "item_added": "added",
            "removed": "removed",
            "item_removed": "removed",
            "reordered": "changed",
            "unchanged": "muted",
        }[kind]
        # Both values of a change share the row; what the path leaves is theirs.
        room = max(self.size.width - len(change.path_text) - 12, 2 * PREVIEW_MIN)
        limit = room // 2 if kind == "changed" else room
        text = Text()
        text.append(f"{KIND_SIGNS[kind]} ", style=self._style(tone))
        text.append(
            safe(change.path_text),
            style=self._style("path" if tone != "muted" else "muted"),
        )
        text.append("  ")
        if kind == "changed" and change.lines:
            text.append("text changed", style=self._style("muted"))
            self._append_lines(text, change.lines)
        elif kind == "changed":
            text.append(safe(preview(change.old, limit)), style=self._style("removed"))
            text.append(" → ", style=self._style("muted"))
            text.append(safe(preview(change.new, limit)), style=self._style("added"))
        elif kind == "reordered":
            text.append("items reordered", style=self._style("changed"))
        elif kind == "unchanged":
            text.append(safe(preview(change.new, limit)), style=self._style("muted"))
        elif change.has_new:
            label = "item added" if kind == "item_added" else "added"
            text.append(f"{label}  ", style=self._style("muted"))
            text.append(safe(preview(change.new, limit)), style=self._style("added"))
        else:
            label = "item removed" if kind == "item_removed" else "removed"
            text.append(f"{label}  ", style=self._style("muted"))
            text.append(safe(preview(change.old, limit)), style=self._style("removed"))
        return text

    def _append_lines(self, text: Text, lines: tuple[str, ...]) -> None:
        for line in lines[:_MAX_TEXT_LINES]:
            style = (
                self._style("added")
                if line.startswith("+")
                else self._style("removed")
                if line.startswith("-")
                else self._style("hunk")
                if line.startswith("@@")
                else self._style("muted")
            )
            text.append("\n    ")
            text.append(safe(line), style=style)
        if len(lines) > _MAX_TEXT_LINES:
            text.append(
                f"\n    … {counted(len(lines) - _MAX_TEXT_LINES, 'more line')}",
                style=self._style("muted"),
            )


def _size(n: int | None) -> str:
    """``12.3 MB``, ``4.0 KB``, ``17 B``; ``?`` for a value the codec cannot encode."""
    if n is None:
        return "?"
    if n >= 1_000_000:
        return f"{n / 1_000_000:.1f} MB"
    if n >= 1_000:
        return f"{n / 1_000:.1f} KB"
    return f"{n} B"
