"""What changed between two states: a flat, ordered list of changes by path.

Pure functions, no UI: the diff screen and ``timeloom diff`` both show what
:func:`diff_values` returns. Built on DeepDiff, with the choices a state diff needs:

- every change is reported at the deepest path that changed (``refund.amount``),
  never as a whole sub-tree that "changed" because most of it did;
- lists are compared by position, except lists of dicts that all carry an ``"id"``,
  whose items are matched by that id (``messages[id=m3].content``), so inserting one
  message does not make every later one "changed";
- strings that span lines or run past 80 characters come with a unified line diff;
- an inert value (a class this process did not load) is compared as its type name
  and fields.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, Final, Literal, TypeAlias
from uuid import UUID

from deepdiff import DeepDiff
from deepdiff.helper import CannotCompare

from timeloom.backends.inert import Inert

ChangeKind: TypeAlias = Literal[
    "added",
    "removed",
    "changed",
    "item_added",
    "item_removed",
    "reordered",
    "unchanged",
]
"""What happened at a path: a key added/removed, a value changed, an item added to or
removed from a list or set, a list's items reordered, or (on demand) nothing."""

KIND_ORDER: Final[tuple[ChangeKind, ...]] = (
    "changed",
    "added",
    "removed",
    "item_added",
    "item_removed",
    "reordered",
    "unchanged",
)
KIND_LABELS: Final[Mapping[ChangeKind, tuple[str, str]]] = {
    "changed": ("changed", "changed"),
    "added": ("added", "added"),
    "removed": ("removed", "removed"),
    "item_added": ("item added", "items added"),
    "item_removed": ("item removed", "items removed"),
    "reordered": ("reordered", "reordered"),
    "unchanged": ("unchanged", "unchanged"),
}
"""Singular and plural label of each kind, for summaries."""

LONG_STRING: Final = 80
"""Strings longer than this (or with a newline) get a line diff."""

_MISSING: Final[Any] = type("Missing", (), {"__repr__": lambda self: "<missing>"})()
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

PathPart: TypeAlias = str | int | tuple[str, Any]
"""A key, a list index, or ``("id", value)`` for an item matched by its id."""


@dataclass(frozen=True, slots=True)
class Change:
    """One difference at one path."""

    kind: ChangeKind
    path: tuple[PathPart, ...]
    """From the top of the state; ``()`` for the state itself."""
    old: Any = _MISSING
    """The value before (absent for added)."""
    new: Any = _MISSING
    """The value after (absent for removed)."""
    lines: tuple[str, ...] = ()
    """A unified line diff, for long strings."""

    @property
    def path_text(self) -> str:
        """The path as text: ``refund.amount``, ``messages[3]``, ``messages[id=m1]``."""
        return format_path(self.path)

    @property
    def has_old(self) -> bool:
        """Whether there was a value before."""
        return self.old is not _MISSING

    @property
    def has_new(self) -> bool:
        """Whether there is a value after."""
        return self.new is not _MISSING


@dataclass(frozen=True, slots=True)
class StateDiff:
    """The changes between two states, ordered by path."""

    changes: tuple[Change, ...]
    unchanged: tuple[Change, ...] = field(default=())
    """Keys that did not change: at the top level, and beside changed keys."""

    @property
    def identical(self) -> bool:
        """True when nothing changed."""
        return not self.changes

    def counts(self) -> dict[ChangeKind, int]:
        """How many changes of each kind (kinds with none are left out)."""
        counts: dict[ChangeKind, int] = {}
        for change in self.changes:
            counts[change.kind] = counts.get(change.kind, 0) + 1
        return {kind: counts[kind] for kind in KIND_ORDER if kind in counts}

    def summary(self) -> str:
        """One line: ``2 changed · 1 added · 3 items added``, or ``No differences``."""
        if self.identical:
            return "No differences"
        return " · ".join(
            f"{n} {KIND_LABELS[kind][0 if n == 1 else 1]}"
            for kind, n in self.counts().items()
        )


class DiffCancelled(Exception):
    """The caller cancelled a diff while it ran (the worker was cancelled)."""


def diff_values(
    old: Mapping[str, Any],
    new: Mapping[str, Any],
    *,
    cancelled: Callable[[], bool] | None = None,
) -> StateDiff:
    """Compare two states.

    Args:
        old: the values before (e.g. the parent checkpoint's).
        new: the values after.
        cancelled: polled while diffing; when it returns True the diff stops.

    Returns:
        The changes, ordered by path, and the unchanged keys.

    Raises:
        DiffCancelled: ``cancelled()`` returned True.
    """
    changes: list[Change] = []
    unchanged: list[Change] = []
    check = cancelled or (lambda: False)
    for key in _keys(old, new):
        if check():
            raise DiffCancelled()
        a, b = old.get(key, _MISSING), new.get(key, _MISSING)
        if a is _MISSING:
            changes.append(Change("added", (key,), new=b))
        elif b is _MISSING:
            changes.append(Change("removed", (key,), old=a))
        elif _equal(a, b):
            unchanged.append(Change("unchanged", (key,), old=a, new=b))
        else:
            found = _diff_one(key, _plain(a), _plain(b), check)
            changes.extend(found)
            unchanged.extend(_unchanged_beside(key, a, b, found))
    changes.sort(key=lambda c: (_sort_key(c.path), KIND_ORDER.index(c.kind)))
    return StateDiff(changes=tuple(changes), unchanged=tuple(unchanged))


def _keys(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    keys = list(old)
    keys.extend(k for k in new if k not in old)
    return keys


def _equal(a: Any, b: Any) -> bool:
    try:
        return bool(a == b) and type(a) is type(b)
    except Exception:  # an application __eq__ that raises: compare in depth
        return False


class _CancelCheck:
    """A DeepDiff operator that never matches: it only polls for cancellation."""

    def __init__(self, cancelled: Callable[[], bool]) -> None:
        self.cancelled = cancelled
        self.calls = 0

    def match(self, level: Any) -> bool:
        self.calls += 1
        if self.calls % 64 == 0 and self.cancelled():
            raise DiffCancelled()
        return False

    def give_up_diffing(self, level: Any, diff_instance: Any) -> bool:
        return False

    def normalize_value_for_hashing(self, parent: Any, obj: Any) -> Any:
        return obj


def _match_by_id(x: Any, y: Any, level: Any = None) -> bool:
    if isinstance(x, dict) and isinstance(y, dict) and "id" in x and "id" in y:
        return bool(x["id"] == y["id"])
    raise CannotCompare()


_REPORTS: Final[Mapping[str, ChangeKind]] = {
    "values_changed": "changed",
    "type_changes": "changed",
    "dictionary_item_added": "added",
    "dictionary_item_removed": "removed",
    "attribute_added": "added",
    "attribute_removed": "removed",
    "iterable_item_added": "item_added",
    "iterable_item_removed": "item_removed",
    "set_item_added": "item_added",
    "set_item_removed": "item_removed",
}


def _diff_one(key: str, a: Any, b: Any, check: Callable[[], bool]) -> list[Change]:
    tree = DeepDiff(
        {key: a},
        {key: b},
        view="tree",
        threshold_to_diff_deeper=0,  # always report the deepest changed paths
        iterable_compare_func=_match_by_id,
        custom_operators=[_CancelCheck(check)],
        verbose_level=2,
    )
    changes: list[Change] = []
    moved: dict[tuple[PathPart, ...], tuple[Any, Any]] = {}
    for report, levels in tree.items():
        for level in levels:
            if report == "iterable_item_moved":
                parent = level.up
                if parent is not None:
                    moved[_path_of(parent, False)] = (parent.t1, parent.t2)
                continue
            kind = _REPORTS.get(report)
            if kind is None:
                continue
            removed = kind in ("removed", "item_removed")
            path = _path_of(level, removed)
            old = _MISSING if kind in ("added", "item_added") else level.t1
            new = _MISSING if removed else level.t2
            changes.append(Change(kind, path, old, new, _line_diff(old, new)))
    for path, (old_list, new_list) in moved.items():
        if _order_changed(old_list, new_list):
            changes.append(Change("reordered", path, old_list, new_list))
    return changes


def _path_of(level: Any, removed: bool) -> tuple[PathPart, ...]:
    """The path of a DeepDiff level, naming list items that carry an id by it.

    Walks the chain of levels from the root: each link says which key or index led
    to the child on each side; the side that still has the value is used.
    """
    parts: list[PathPart] = []
    node = level.all_up
    while node is not level and node.down is not None:
        child = node.down
        new_rel = node.t2_child_rel
        old_rel = node.t1_child_rel
        rel = old_rel if removed or new_rel is None else new_rel
        if rel is None:
            rel = new_rel or old_rel
        param = getattr(rel, "param", None)
        container = node.t1 if removed else node.t2
        if param is None:  # a set item: the change names the set
            node = child
            continue
        item = child.t1 if removed else child.t2
        if (
            isinstance(param, int)
            and isinstance(container, list | tuple)
            and isinstance(item, dict)
            and "id" in item
            and _id_list(container)
        ):
            parts.append(("id", item["id"]))
        else:
            parts.append(param)
        node = child
    return tuple(parts)


def _id_list(items: list[Any] | tuple[Any, ...]) -> bool:
    return all(isinstance(i, dict) and "id" in i for i in items)


def _order_changed(old: Any, new: Any) -> bool:
    if not isinstance(old, list | tuple) or not isinstance(new, list | tuple):
        return False
    old_ids = [i.get("id") for i in old if isinstance(i, dict)]
    new_ids = [i.get("id") for i in new if isinstance(i, dict)]
    common = set(old_ids) & set(new_ids)
    return [i for i in old_ids if i in common] != [i for i in new_ids if i in common]


def _line_diff(old: Any, new: Any) -> tuple[str, ...]:
    if not isinstance(old, str) or not isinstance(new, str):
        return ()
    if not any(len(s) > LONG_STRING or "\n" in s for s in (old, new)):
        return ()
    lines = difflib.unified_diff(
        old.splitlines(), new.splitlines(), "before", "after", lineterm="", n=2
    )
    return tuple(line for line in lines if not line.startswith(("---", "+++")))


def _unchanged_beside(
    key: str, a: Any, b: Any, changes: list[Change]
) -> Iterator[Change]:
    """The keys of a changed top-level dict that did not change."""
    if not isinstance(a, Mapping) or not isinstance(b, Mapping):
        return
    touched = {c.path[1] for c in changes if len(c.path) > 1}
    for sub in a:
        if sub in b and sub not in touched and _equal(a[sub], b[sub]):
            yield Change("unchanged", (key, sub), old=a[sub], new=b[sub])


def _plain(value: Any) -> Any:
    """``value`` with inert values replaced by ``{"$type": name, **fields}``.

    Returns the very same object when there is nothing to replace, so a large state
    without inert values is not copied.
    """
    if isinstance(value, Inert):
        if value.fields is None:
            return {"$type": value.type_name, "$bytes": value.raw.hex()}
        return {
            "$type": value.type_name,
            **{k: _plain(v) for k, v in value.fields.items()},
        }
    if isinstance(value, dict):
        items = {k: _plain(v) for k, v in value.items()}
        if all(items[k] is v for k, v in value.items()):
            return value
        return items
    if isinstance(value, list | tuple):
        plain = [_plain(v) for v in value]
        if all(p is v for p, v in zip(plain, value, strict=True)):
            return value
        return plain if isinstance(value, list) else tuple(plain)
    return value


def _sort_key(path: tuple[PathPart, ...]) -> tuple[tuple[int, str, int], ...]:
    key = []
    for part in path:
        if isinstance(part, int):
            key.append((1, "", part))
        elif isinstance(part, tuple):
            key.append((2, str(part[1]), 0))
        else:
            key.append((0, str(part), 0))
    return tuple(key)


# -- showing paths and values -------------------------------------------------------


def format_path(path: tuple[PathPart, ...]) -> str:
    """``refund.amount``, ``messages[3].content``, ``messages[id=m1]``, ``["a b"]``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif isinstance(part, tuple):
            out += f"[id={preview(part[1], 30)}]"
        elif isinstance(part, str) and _IDENT.match(part):
            out += f".{part}" if out else part
        else:
            out += f"[{json.dumps(part, ensure_ascii=False, default=str)}]"
    return out or "(state)"


def preview(value: Any, limit: int = 60) -> str:
    """A one-line, shortened rendering of a value for a list of changes."""
    text = _render(value, limit + 1)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _render(value: Any, budget: int) -> str:
    if value is _MISSING:
        return "—"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value[:budget], ensure_ascii=False)
    if isinstance(value, int | float | Decimal | UUID):
        return str(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return str(value)
    if isinstance(value, bytes | bytearray):
        return f"<{len(value)} bytes {bytes(value[:8]).hex()}{'…' if len(value) > 8 else ''}>"
    if isinstance(value, Inert):
        if value.fields is None:
            return f"<{value.type_name}: {len(value.raw)} bytes>"
        return f"{value.type_name}{_render(dict(value.fields), budget)}"
    if isinstance(value, Mapping):
        return _join_items(
            ("{", "}"),
            (f"{_render(k, budget)}: {_render(v, budget)}" for k, v in value.items()),
            budget,
        )
    if isinstance(value, list):
        return _join_items(("[", "]"), (_render(v, budget) for v in value), budget)
    if isinstance(value, tuple):
        return _join_items(("(", ")"), (_render(v, budget) for v in value), budget)
    if isinstance(value, set | frozenset):
        items = sorted(_render(v, budget) for v in value)
        return _join_items(("{", "}"), iter(items), budget) if items else "set()"
    return repr(value)[:budget]


def _join_items(brackets: tuple[str, str], items: Iterator[str], budget: int) -> str:
    out = brackets[0]
    for i, item in enumerate(items):
        if len(out) > budget:
            return out + "…" + brackets[1]
        out += (", " if i else "") + item
    return out + brackets[1]
