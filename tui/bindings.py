"""The app's keys: its bindings, and which of them write.

The help screen and the command palette list these (:mod:`timeloom.tui.commands`);
the write actions' gating (:mod:`timeloom.tui.writing`) reads the write-key table.
"""

from __future__ import annotations

from typing import Final

from textual.binding import Binding, BindingType

from timeloom.tui.ops.actions import WriteAction

STOP_KEY: Final = "x"
"""Stops a running resume (hidden while none goes; pressed then, it says so)."""

BINDINGS: Final[list[BindingType]] = [
    Binding("question_mark", "help", "Help", key_display="?", tooltip="Every key"),
    Binding(
        "slash",
        "filter",
        "Filter",
        key_display="/",
        show=False,  # the filter field says "/ filter by id"
        tooltip="Filter threads by id prefix (enter: back to the list)",
    ),
    Binding(
        "s",
        "cycle_status",
        "Status",
        show=False,
        tooltip="Only idle / paused / done / failed threads",
    ),
    Binding(
        "f",
        "toggle_follow",
        "Follow",
        tooltip="Show checkpoints as other processes write them; track the head",
    ),
    Binding(
        "o",
        "jump_fork",
        "Fork",
        tooltip="Jump into this checkpoint's fork, or back to this fork's origin",
    ),
    Binding(
        "i",
        "subgraph",
        "Subgraph",
        show=False,
        tooltip="Into the subgraph this checkpoint ran (↘), or back out to the "
        "checkpoint that ran it; in the threads pane: the thread's subgraphs",
    ),
    Binding(
        "p",
        "jump_parent",
        "Parent",
        show=False,
        tooltip="Jump to the parent (in any thread)",
    ),
    Binding(
        "backspace",
        "go_back",
        "Back",
        key_display="⌫",
        show=False,
        tooltip="Return to where the last jump started",
    ),
    Binding(
        "m",
        "mark",
        "Mark",
        tooltip="Mark this checkpoint: d then diffs against it (m again: unmark)",
    ),
    Binding(
        "d",
        "diff",
        "Diff",
        tooltip="What changed since the parent (or the marked checkpoint)",
    ),
    Binding("e", "edit", "Edit", tooltip="Edit the values; saving writes an update"),
    Binding("b", "branch", "Branch", tooltip="Fork into a new thread"),
    Binding(
        "r",
        "resume",
        "Resume",
        tooltip="Run on from this checkpoint, answering interrupts",
    ),
    Binding(STOP_KEY, "stop_run", "Stop run", tooltip="Cancel the running resume"),
    Binding(
        "ctrl+f",
        "find",
        "Find",
        show=False,
        tooltip="Search this thread with a JMESPath query (n / N step through)",
    ),
    Binding("n", "next_match(1)", "Next match", show=False, tooltip="Next match"),
    Binding(
        "N",
        "next_match(-1)",
        "Previous match",
        show=False,
        tooltip="Previous match",
    ),
    Binding(
        "w",
        "who_changed",
        "Who changed",
        show=False,
        tooltip="The checkpoints where the value under the State cursor changed",
    ),
    Binding(
        "u",
        "storage",
        "Storage",
        show=False,
        tooltip="What this thread costs in storage, per key, and how it grew",
    ),
    Binding("1", "tab('state')", "State", show=False, tooltip="State tab"),
    Binding("2", "tab('writes')", "Writes", show=False, tooltip="Writes tab"),
    Binding("3", "tab('meta')", "Metadata", show=False, tooltip="Metadata tab"),
    Binding(
        "ctrl+r,f5", "reload", "Reload", show=False, tooltip="Read everything again"
    ),
    Binding(
        "q",
        "quit_app",
        "Quit",
        show=False,
        tooltip="Quit (asks first while a run is going)",
    ),
    Binding(
        "escape",
        "escape",
        "Back to the list",
        show=False,
        tooltip="Back to the threads list (clears the filter)",
    ),
]
"""The app's own keys (screens and widgets add theirs)."""

WRITE_KEYS: Final[dict[str, WriteAction]] = {"e": "edit", "b": "branch", "r": "resume"}
"""The actions that write (refused read-only; resume also needs the graph), by key:
pressed while refused, they say why instead of doing nothing."""
WRITE_ACTIONS: Final[frozenset[str]] = frozenset(WRITE_KEYS.values())
CHECKPOINT_ACTIONS: Final = frozenset({"mark", "diff", *WRITE_ACTIONS})
"""Actions on the selected checkpoint (off until one is selected)."""
