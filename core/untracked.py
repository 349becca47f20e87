"""``UntrackedValue``: a state key a run carries from step to step but never stores.

As LangGraph's ``UntrackedValue`` channel, and marked the same way,
``Annotated[Session, UntrackedValue]`` (Timeloom's class or LangGraph's): the
value under such a key (a lock, a client, an open session) is seen by the nodes
of the run that wrote it and is in what the run returns and streams, but no
checkpoint stores it: not in its values, not in the writes of the step that
made it or the pending writes of a failed one, and not in the argument of a
``Send`` (a dict argument loses its untracked keys when stored, as LangGraph
sanitises its sends). A new run, a resume or a replay therefore starts
without it. It has no reducer: two writes of it in one step are an error,
unless it is ``UntrackedValue(T, guard=False)`` (then the last one wins).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

from timeloom.core.checkpoint import Checkpoint, PendingWrite
from timeloom.core.constants import SENDS


class UntrackedValue:
    """Marks a state key as never stored: ``Annotated[T, UntrackedValue]``, or
    ``Annotated[T, UntrackedValue(T, guard=False)]`` to let several writes of
    one step through (the last one wins)."""

    __slots__ = ("guard", "typ")

    def __init__(self, typ: Any = Any, guard: bool = True) -> None:
        self.typ = typ
        self.guard = guard

    def __repr__(self) -> str:
        return f"UntrackedValue({self.typ!r}, guard={self.guard})"


def stored(checkpoint: Checkpoint, untracked: frozenset[str]) -> Checkpoint:
    """``checkpoint`` as it is stored: without the ``untracked`` keys in its
    values, its writes and its sends' arguments."""
    metadata = checkpoint.metadata
    if SENDS in metadata:
        sends = [[node, _without(arg, untracked)] for node, arg in metadata[SENDS]]
        metadata = {**metadata, SENDS: sends}
    return replace(
        checkpoint,
        values=_without(checkpoint.values, untracked),
        writes={n: _written(w, untracked) for n, w in checkpoint.writes.items()},
        metadata=metadata,
    )


def stored_writes(
    writes: Iterable[PendingWrite], untracked: frozenset[str]
) -> list[PendingWrite]:
    """Pending ``writes`` as they are stored: updates without ``untracked`` keys."""
    return [
        replace(w, value=_without(w.value, untracked)) if w.kind == "update" else w
        for w in writes
    ]


def _without(value: Any, untracked: frozenset[str]) -> Any:
    """A dict without the ``untracked`` keys; anything else as it is."""
    if isinstance(value, Mapping):
        return {k: v for k, v in value.items() if k not in untracked}
    return value


def _written(writes: Any, untracked: frozenset[str]) -> Any:
    """What a node wrote (an update, or a list of them) without the
    ``untracked`` keys."""
    if isinstance(writes, list):
        return [_without(w, untracked) for w in writes]
    return _without(writes, untracked)
