"""Checkpoints encoded ahead of their commit, and the layout states children need.

The SQL backends lay a checkpoint's values out against its parent's
:class:`~timeloom.backends.layout.ValuesState` (so a step that appends one message
stores one message). :class:`Staging` keeps those states, and the checkpoints
:meth:`~timeloom.core.checkpointer.BaseCheckpointer.stage` encoded before their
commit: a run in ``durability="async"`` stages each checkpoint as it makes it (its
nodes may change the values' objects afterwards) and commits a chain later. A
plain ``put`` stages and commits at once.

The states are kept as soon as a checkpoint is staged, so the next checkpoint of the
chain is laid out against it before either is committed. A state whose checkpoint
never got committed is harmless: a child is only ever written after its parent,
and every backend checks in the commit's transaction that the parent exists (else
it encodes the chain again without it).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from timeloom.backends.layout import Codec, EncodedValues, ValuesState, encode_values
from timeloom.core.checkpoint import Checkpoint

R = TypeVar("R")

STATES_KEPT = 256
"""Layout states kept (one per recently written checkpoint)."""
STAGED_KEPT = 256
"""Staged checkpoints kept; a run never has more than a few waiting."""


@dataclass(frozen=True, slots=True)
class Staged(Generic[R]):
    """A checkpoint encoded for its commit."""

    checkpoint: Checkpoint
    row: R
    """The backend's row fields, encoded."""
    encoded: EncodedValues
    delta: bool
    """Laid out against its parent's state: blobs the parent has were left out."""


class Staging(Generic[R]):
    """What a backend instance encoded: layout states and staged checkpoints.

    Args:
        serde: the value codec.
        make_row: encodes a checkpoint's other fields (metadata, writes...).
    """

    def __init__(self, serde: Codec, make_row: Callable[[Checkpoint], R]) -> None:
        self._serde = serde
        self._make_row = make_row
        self._states: OrderedDict[str, ValuesState] = OrderedDict()
        self._staged: OrderedDict[str, Staged[R]] = OrderedDict()
        self._lock = threading.Lock()

    def stage(self, checkpoint: Checkpoint) -> None:
        """Encode ``checkpoint`` now, for a :meth:`take` that comes later."""
        staged = self._encode(checkpoint)
        with self._lock:
            self._staged[checkpoint.id] = staged
            while len(self._staged) > STAGED_KEPT:
                self._staged.popitem(last=False)

    def take(self, chain: Sequence[Checkpoint]) -> list[Staged[R]]:
        """The encodings of a chain about to be committed: those staged (then
        forgotten as staged), the others encoded now."""
        taken = []
        for checkpoint in chain:
            with self._lock:
                staged = self._staged.pop(checkpoint.id, None)
            if staged is None or staged.checkpoint is not checkpoint:
                staged = self._encode(checkpoint)
            taken.append(staged)
        return taken

    def _encode(self, checkpoint: Checkpoint) -> Staged[R]:
        """Encode ``checkpoint`` against its parent's state if known; keep its own."""
        with self._lock:
            parent = self._states.get(checkpoint.parent_id or "")
        encoded = encode_values(checkpoint.values, self._serde, parent)
        row = self._make_row(checkpoint)
        with self._lock:
            self._keep_state(checkpoint.id, encoded.state)
        return Staged(checkpoint, row, encoded, parent is not None)

    def restage_without_parent(self, chain: Sequence[Staged[R]]) -> list[Staged[R]]:
        """Encode a chain again with no parent state: its first checkpoint's parent
        was deleted meanwhile (with blobs the delta relied on).

        The values are encoded as they are now: only in this rare case can a change
        a node made after staging reach the stored checkpoint.
        """
        encoded: list[Staged[R]] = []
        parent: ValuesState | None = None
        for staged in chain:
            values = encode_values(staged.checkpoint.values, self._serde, parent)
            encoded.append(Staged(staged.checkpoint, staged.row, values, False))
            parent = values.state
        with self._lock:
            for staged in encoded:
                self._keep_state(staged.checkpoint.id, staged.encoded.state)
        return encoded

    def forget_states(self) -> None:
        """Drop every kept state (after deletes and prunes: parents may be gone)."""
        with self._lock:
            self._states.clear()

    def _keep_state(self, checkpoint_id: str, state: ValuesState) -> None:
        self._states[checkpoint_id] = state
        self._states.move_to_end(checkpoint_id)
        while len(self._states) > STATES_KEPT:
            self._states.popitem(last=False)
