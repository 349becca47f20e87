"""Every action of the app by name (the command palette) and every key (help).

The app lists its commands in :func:`palette_commands`; a feature that adds an
action adds it there, and it appears in the palette.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import partial
from typing import ClassVar, Protocol

from textual.binding import Binding, BindingType
from textual.command import DiscoveryHit, Hit, Hits, Provider

from timeloom.core.checkpoint import THREAD_STATUSES, ThreadStatus
from timeloom.tui.widgets.checkpoint_tree import CheckpointTree
from timeloom.tui.widgets.detail import TABS
from timeloom.tui.widgets.formatting import STATUS_NAMES
from timeloom.tui.widgets.thread_list import ThreadList
from timeloom.tui.widgets.value_tree import ValueTree


@dataclass(frozen=True, slots=True)
class PaletteCommand:
    """One entry of the command palette."""

    name: str
    help: str
    run: Callable[[], object]


class HasCommands(Protocol):
    """An app that lists its palette commands."""

    def palette_commands(self) -> Iterable[PaletteCommand]: ...


class Browser(Protocol):
    """What the palette and the help screen need of the app."""

    BINDINGS: ClassVar[list[BindingType]]
    following: bool

    def show_status(self, status: ThreadStatus | None) -> None: ...
    def action_filter(self) -> None: ...
    def action_cycle_status(self) -> None: ...
    def action_toggle_follow(self) -> None: ...
    def action_jump_fork(self) -> None: ...
    def action_jump_parent(self) -> None: ...
    def action_subgraph(self) -> None: ...
    def action_go_back(self) -> None: ...
    def action_tab(self, tab: str) -> None: ...
    def action_reload(self) -> None: ...
    def action_help(self) -> None: ...
    def action_mark(self) -> None: ...
    def action_diff(self) -> None: ...
    def action_edit(self) -> None: ...
    def action_branch(self) -> None: ...
    def action_resume(self) -> None: ...
    def action_stop_run(self) -> None: ...
    def action_find(self) -> None: ...
    def action_next_match(self, direction: int) -> None: ...
    def action_who_changed(self) -> None: ...
    def action_storage(self) -> None: ...
    def write_refusals(self) -> list[tuple[str, str]]: ...


class TimeloomCommands(Provider):
    """Offers the app's actions (follow, filter, jump, tabs...) in the palette."""

    def _commands(self) -> list[PaletteCommand]:
        app = self.app
        if not hasattr(app, "palette_commands"):
            return []
        provider: HasCommands = app
        return list(provider.palette_commands())

    async def discover(self) -> Hits:
        for command in self._commands():
            yield DiscoveryHit(command.name, command.run, help=command.help)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for command in self._commands():
            score = matcher.match(command.name)
            if score > 0:
                yield Hit(
                    score,
                    matcher.highlight(command.name),
                    command.run,
                    help=command.help,
                )


def help_sections(app: Browser) -> list[tuple[str, list[tuple[str, str]]]]:
    """The key tables the help screen shows; first, the write keys that are off and
    why (read-only, or no ``--graph``)."""
    refused = app.write_refusals()
    off = [("Not available here", refused)] if refused else []
    return off + [
        (
            "Everywhere",
            _keys(app.BINDINGS)
            + [
                ("ctrl+p", "Command palette"),
                ("ctrl+q", "Quit"),
                ("tab", "Next pane"),
            ],
        ),
        ("Threads", _keys(ThreadList.BINDINGS)),
        ("Checkpoint tree", _keys(CheckpointTree.BINDINGS)),
        (
            "State and Writes trees",
            _keys(ValueTree.BINDINGS) + [("enter / space", "Expand or collapse")],
        ),
    ]


def palette_commands(app: Browser) -> Iterator[PaletteCommand]:
    """Every action of the app, for the command palette."""
    yield PaletteCommand("Filter threads by id", "Type an id prefix", app.action_filter)
    yield PaletteCommand(
        "Cycle status filter",
        ", ".join([*(STATUS_NAMES[s] for s in THREAD_STATUSES), "all"]),
        app.action_cycle_status,
    )
    for status in THREAD_STATUSES:
        name = STATUS_NAMES[status]
        yield PaletteCommand(
            f"Show only {name} threads",
            f"Threads whose status is {name}",
            partial(app.show_status, status),
        )
    yield PaletteCommand(
        "Show threads of any status",
        "Clear the status filter",
        partial(app.show_status, None),
    )
    yield PaletteCommand(
        "Follow: stop" if app.following else "Follow: watch for new checkpoints",
        "Track the head of the thread as other processes write to it",
        app.action_toggle_follow,
    )
    yield PaletteCommand(
        "Jump to fork / origin",
        "Into a fork of this checkpoint, or back",
        app.action_jump_fork,
    )
    yield PaletteCommand(
        "Jump to parent checkpoint", "In any thread", app.action_jump_parent
    )
    yield PaletteCommand(
        "Jump into subgraph / out",
        "The subgraph this checkpoint ran, or the checkpoint that ran this one",
        app.action_subgraph,
    )
    yield PaletteCommand("Go back", "Where the last jump started", app.action_go_back)
    yield PaletteCommand(
        "Mark checkpoint",
        "Diff other checkpoints against it (again: unmark)",
        app.action_mark,
    )
    yield PaletteCommand(
        "Diff checkpoint",
        "What changed since the parent, or the marked checkpoint",
        app.action_diff,
    )
    refused = dict(app.write_refusals())
    for key, name, text, run in (
        (
            "e edit",
            "Edit checkpoint values",
            "Writes an update checkpoint",
            app.action_edit,
        ),
        (
            "b branch",
            "Branch into a new thread",
            "Fork this checkpoint",
            app.action_branch,
        ),
        (
            "r resume",
            "Resume the run",
            "Run on from this checkpoint",
            app.action_resume,
        ),
    ):
        reason = refused.get(key)
        yield PaletteCommand(
            name if reason is None else f"{name} (not available)",
            text if reason is None else reason,
            run,
        )
    yield PaletteCommand("Stop run", "Cancel the running resume", app.action_stop_run)
    yield PaletteCommand(
        "Find in thread",
        "Checkpoints where a JMESPath query holds, marked in the tree",
        app.action_find,
    )
    yield PaletteCommand(
        "Next match",
        "The next checkpoint the search found",
        partial(app.action_next_match, 1),
    )
    yield PaletteCommand(
        "Who changed this value",
        "The checkpoints where the value under the State cursor changed",
        app.action_who_changed,
    )
    yield PaletteCommand(
        "Storage of this thread",
        "Bytes per key: stored, shared (or re-stored), growth",
        app.action_storage,
    )
    for tab, label in zip(TABS, ("State", "Writes", "Metadata"), strict=True):
        yield PaletteCommand(
            f"Show the {label} tab",
            f"Detail pane: {label}",
            partial(app.action_tab, tab),
        )
    yield PaletteCommand(
        "Reload", "Read the threads and the thread again", app.action_reload
    )
    yield PaletteCommand("Help: keys", "Every key binding", app.action_help)


def _keys(bindings: Iterable[BindingType]) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for binding in bindings:
        if isinstance(binding, Binding):
            keys = binding.key_display or binding.key.replace(",", " / ")
            out.append((keys, binding.tooltip or binding.description))
    return out
