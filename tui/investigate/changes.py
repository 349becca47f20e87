"""One-line descriptions of state changes, for lists of steps."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any, Final

from timeloom.tui.diffing import Change, diff_values, preview
from timeloom.tui.investigate.paths import MISSING
from timeloom.tui.safetext import safe

_SIGNS: Final = {
    "changed": "~",
    "added": "+",
    "removed": "-",
    "item_added": "+",
    "item_removed": "-",
    "reordered": "↕",
    "unchanged": "=",
}


def change_line(change: Change, width: int = 40) -> str:
    """``~ refund.amount: 40 → 900`` (control characters escaped)."""
    if change.kind == "changed":
        what = (
            "text changed"
            if change.lines
            else f"{preview(change.old, width)} → {preview(change.new, width)}"
        )
    elif change.kind == "reordered":
        what = "items reordered"
    else:
        what = preview(change.new if change.has_new else change.old, width)
    return safe(f"{_SIGNS[change.kind]} {change.path_text}: {what}")


def diff_line(
    old: Mapping[str, Any], new: Mapping[str, Any], limit: int = 3
) -> tuple[str, int]:
    """The first ``limit`` changes from ``old`` to ``new`` on one line, and how
    many changes there are in all."""
    return _line(diff_values(old, new).changes, limit)


def value_diff_line(
    path: tuple[str | int, ...], old: Any, new: Any, limit: int = 2
) -> str:
    """The change of the value at ``path`` from ``old`` to ``new`` on one line
    (:data:`MISSING` for no value), paths shown from the top of the state."""
    before = {} if old is MISSING else {"": old}
    after = {} if new is MISSING else {"": new}
    changes = [
        dataclasses.replace(c, path=(*path, *c.path[1:]))
        for c in diff_values(before, after).changes
    ]
    return _line(changes, limit)[0]


def _line(changes: Sequence[Change], limit: int) -> tuple[str, int]:
    text = "; ".join(change_line(c) for c in changes[:limit])
    if len(changes) > limit:
        text += f"; … {len(changes) - limit} more"
    return text, len(changes)
