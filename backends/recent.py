"""The checkpoints a writer committed last, so that reading its head costs no decode.

A run starts by reading its thread's head: usually the checkpoint this same writer
committed at the end of the previous run. Decoding it again costs O(state) (a long
chat's every message), so the SQL backends keep the few checkpoints they committed
last, with their :class:`~timeloom.backends.layout.ValuesState`, and answer
``get(thread)`` from here when the stored head is still that checkpoint.

The values kept are the caller's own objects, as committed. Before one is served it
is checked with :func:`~timeloom.backends.layout.values_unchanged`, so values a node
mutated in place since (a message list appended to, an old message edited) are not
served: the backend reads the stored checkpoint instead. Each caller gets its own
top-level ``dict`` of values; ``writes`` and ``metadata`` are kept as shallow copies
taken at the commit and are not re-checked (the runtime never mutates them; a
message inside ``writes`` is usually also in a checked list).
"""

from __future__ import annotations

import dataclasses
import threading
from collections import OrderedDict

from timeloom.backends.layout import Codec, ValuesState, values_unchanged
from timeloom.core.checkpoint import Checkpoint, PendingWrite

RECENT_SIZE = 16
"""Checkpoints kept per backend instance (one per recently written thread)."""


class RecentCheckpoints:
    """A small thread-safe LRU of committed checkpoints, by id."""

    def __init__(self, size: int = RECENT_SIZE) -> None:
        self._size = size
        self._items: OrderedDict[str, tuple[Checkpoint, ValuesState]] = OrderedDict()
        self._latest: dict[str, str] = {}  # thread -> the id it last committed
        self._lock = threading.Lock()

    def remember(self, checkpoint: Checkpoint, state: ValuesState) -> None:
        """Keep a checkpoint just committed, with the state its values encoded to."""
        kept = dataclasses.replace(
            checkpoint,
            values=dict(checkpoint.values),
            writes=dict(checkpoint.writes),
            metadata=dict(checkpoint.metadata),
            pending_writes=(),
        )
        with self._lock:
            self._items[checkpoint.id] = (kept, state)
            self._items.move_to_end(checkpoint.id)
            self._latest[checkpoint.thread_id] = checkpoint.id
            while len(self._items) > self._size:
                _, (dropped, _) = self._items.popitem(last=False)
                if self._latest.get(dropped.thread_id) == dropped.id:
                    del self._latest[dropped.thread_id]

    def lookup(
        self,
        checkpoint_id: str,
        thread_id: str,
        serde: Codec,
        pending: tuple[PendingWrite, ...],
    ) -> Checkpoint | None:
        """The kept checkpoint with the given current pending writes, if it is kept,
        belongs to ``thread_id`` and its values are unchanged; else ``None``."""
        with self._lock:
            found = self._items.get(checkpoint_id)
            if found is not None:
                self._items.move_to_end(checkpoint_id)
        if found is None:
            return None
        kept, state = found
        if kept.thread_id != thread_id or not values_unchanged(
            kept.values, state, serde
        ):
            with self._lock:
                self._items.pop(checkpoint_id, None)
            return None
        return dataclasses.replace(
            kept, values=dict(kept.values), pending_writes=pending
        )

    def latest(self, thread_id: str, serde: Codec) -> Checkpoint | None:
        """The checkpoint this writer committed last in ``thread_id``, if kept and
        its values are unchanged (see
        :meth:`~timeloom.core.checkpointer.BaseCheckpointer.last_committed`)."""
        with self._lock:
            checkpoint_id = self._latest.get(thread_id)
        if checkpoint_id is None:
            return None
        return self.lookup(checkpoint_id, thread_id, serde, ())

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)

    def has(self, checkpoint_id: str) -> bool:
        """Whether a checkpoint is kept (it may still fail :meth:`lookup`'s checks)."""
        with self._lock:
            return checkpoint_id in self._items

    def clear(self) -> None:
        """Forget everything (after deletes and prunes)."""
        with self._lock:
            self._items.clear()
            self._latest.clear()
