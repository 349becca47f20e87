"""One-line descriptions of state changes, for lists of steps."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any, Final
from uuid import UUID

from timeloom.tui.investigate.paths import MISSING
from timeloom.tui.ops.diffing import KIND_SIGNS, Change, diff_values
from timeloom.tui.ops.preview import preview
from timeloom.tui.ops.safetext import safe


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
    return safe(f"{KIND_SIGNS[change.kind]} {change.path_text}: {what}")


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
    (:data:`MISSING` for no value), paths shown from the top of the state.

    The two commonest changes along a history, a leaf value replaced and a list
    that grew, are described directly; anything else is diffed in full.
    """
    if _leaf(old) and _leaf(new):
        kind: Any = (
            "added" if old is MISSING else "removed" if new is MISSING else "changed"
        )
        return _line([Change(kind, path, old=old, new=new)], limit)[0]
    if (
        type(old) is list
        and type(new) is list
        and len(new) > len(old)
        and new[: len(old)] == old
    ):
        added = [
            Change("item_added", (*path, index), new=new[index])
            for index in range(len(old), len(new))
        ]
        return _line(added, limit)[0]
    before = {} if old is MISSING else {"": old}
    after = {} if new is MISSING else {"": new}
    changes = [
        dataclasses.replace(c, path=(*path, *c.path[1:]))
        for c in diff_values(before, after).changes
    ]
    return _line(changes, limit)[0]


def _leaf(value: Any) -> bool:
    """A value shown whole (no members to diff), or none at all."""
    return value is MISSING or value is None or isinstance(value, _LEAVES)


_LEAVES: Final = (bool, int, float, Decimal, str, bytes, datetime, date, time, UUID)


def _line(changes: Sequence[Change], limit: int) -> tuple[str, int]:
    text = "; ".join(change_line(c) for c in changes[:limit])
    if len(changes) > limit:
        text += f"; … {len(changes) - limit} more"
    return text, len(changes)
