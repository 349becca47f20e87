"""A quick look at two large states: which top-level keys differ, judged from their
encoded bytes, before (or instead of) a full diff (:mod:`~timeloom.tui.ops.diffing`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal

from timeloom.backends.serde import Serializer
from timeloom.tui.ops.diffing import DiffCancelled, ordered_keys, same_value
from timeloom.tui.ops.preview import MISSING

SUMMARY_BYTES: Final = 1_000_000
"""Two states whose encoded values together pass this many bytes are first shown as a
per-key summary (:func:`summarize_keys`): a full diff of them can take seconds."""

_SIZER: Final = Serializer()


@dataclass(frozen=True, slots=True)
class KeySummary:
    """How one top-level key compares, judged from its encoded bytes only."""

    key: str
    kind: Literal["added", "removed", "changed", "unchanged"]
    """``changed`` when the encoded bytes differ: the values may still be equal
    (e.g. a dict's keys in another order); the full diff of the key tells."""
    old_size: int | None
    """Encoded bytes before (None: absent, or the codec cannot encode it)."""
    new_size: int | None
    """Encoded bytes after (None: absent, or the codec cannot encode it)."""


def summarize_keys(
    old: Mapping[str, Any],
    new: Mapping[str, Any],
    *,
    cancelled: Callable[[], bool] | None = None,
) -> tuple[list[KeySummary], int]:
    """Compare two states key by key by their encoded bytes, without a deep diff.

    Encoding is one pass in C per value, so this stays cheap on states whose full
    diff would take seconds.

    Args:
        old: the values before.
        new: the values after.
        cancelled: polled between keys; when it returns True the summary stops.

    Returns:
        One entry per key in :func:`diff_values`' key order, and the total encoded
        size of both sides.

    Raises:
        DiffCancelled: ``cancelled()`` returned True.
    """
    check = cancelled or (lambda: False)
    keys: list[KeySummary] = []
    total = 0
    for key in ordered_keys(old, new):
        if check():
            raise DiffCancelled()
        a, b = old.get(key, MISSING), new.get(key, MISSING)
        a_bytes, b_bytes = _encoded(a), _encoded(b)
        total += len(a_bytes or b"") + len(b_bytes or b"")
        if a is MISSING:
            kind: Literal["added", "removed", "changed", "unchanged"] = "added"
        elif b is MISSING:
            kind = "removed"
        elif a_bytes is not None and b_bytes is not None:
            kind = "unchanged" if a_bytes == b_bytes else "changed"
        else:  # not encodable (not from a database): fall back to ==
            kind = "unchanged" if same_value(a, b) else "changed"
        keys.append(
            KeySummary(
                key,
                kind,
                None if a_bytes is None else len(a_bytes),
                None if b_bytes is None else len(b_bytes),
            )
        )
    return keys, total


def _encoded(value: Any) -> bytes | None:
    if value is MISSING:
        return None
    try:
        return _SIZER.dumps(value)
    except Exception:  # a value the codec cannot store has no encoded size
        return None
