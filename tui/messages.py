"""App-wide messages: results of the app's workers, posted back to the app.

Widget messages (a cursor moved, a page is needed) are nested in their widgets.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message

from timeloom.core.checkpoint import Checkpoint, CheckpointMeta, ThreadInfo


@dataclass
class DatabaseOpened(Message):
    """The checkpointer is set up and answered its first query."""

    thread_count: int


@dataclass
class ThreadsCounted(Message):
    """How many threads match the filter (the threads list resets to this)."""

    total: int
    selected: str | None = None
    """A thread to put the cursor on once it is loaded (after a refresh)."""


@dataclass
class ThreadsPage(Message):
    """A page of the threads list."""

    generation: int
    offset: int
    threads: list[ThreadInfo]


@dataclass
class ThreadOpened(Message):
    """A thread's summary and its newest checkpoints, to start the tree."""

    info: ThreadInfo
    generation: int
    metas: list[CheckpointMeta]
    exhausted: bool
    select: str | None = None
    """A checkpoint to put the cursor on (a jump), instead of the head."""


@dataclass
class HistoryPage(Message):
    """Older checkpoints of the thread in the tree."""

    thread_id: str
    generation: int
    metas: list[CheckpointMeta]
    exhausted: bool
    select: str | None = None


@dataclass
class ForksFound(Message):
    """Per checkpoint, its children in other threads."""

    thread_id: str
    forks: dict[str, list[CheckpointMeta]]


@dataclass
class CheckpointLoaded(Message):
    """The selected checkpoint with its values."""

    checkpoint: Checkpoint


@dataclass
class CheckpointCommitted(Message):
    """A new checkpoint: follow mode saw it, or the app's edit or run wrote it."""

    meta: CheckpointMeta
    select: bool = False
    """Put the cursor on it (what the app itself just wrote)."""
