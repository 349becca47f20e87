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
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal, TypeAlias

from deepdiff import DeepDiff

from timeloom.backends.inert import Inert
from timeloom.tui.ops.preview import MISSING, PathPart, format_path

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
KIND_SIGNS: Final[Mapping[ChangeKind, str]] = {
    "changed": "~",
    "added": "+",
    "removed": "-",
    "item_added": "+",
    "item_removed": "-",
    "reordered": "↕",
    "unchanged": "=",
}
"""The sign a change's line starts with (diffs, blame, the diff view)."""

LONG_STRING: Final = 80
"""Strings longer than this (or with a newline) get a line diff."""


"""A key, a list index, or ``("id", value)`` for an item matched by its id."""


@dataclass(frozen=True, slots=True)
class Change:
    """One difference at one path."""

    kind: ChangeKind
    path: tuple[PathPart, ...]
    """From the top of the state; ``()`` for the state itself."""
    old: Any = MISSING
    """The value before (absent for added)."""
    new: Any = MISSING
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
        return self.old is not MISSING

    @property
    def has_new(self) -> bool:
        """Whether there is a value after."""
        return self.new is not MISSING


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
    for key in ordered_keys(old, new):
        if check():
            raise DiffCancelled()
        a, b = old.get(key, MISSING), new.get(key, MISSING)
        if a is MISSING:
            changes.append(Change("added", (key,), new=b))
        elif b is MISSING:
            changes.append(Change("removed", (key,), old=a))
        elif same_value(a, b):
            unchanged.append(Change("unchanged", (key,), old=a, new=b))
        else:
            found = _diff_one(key, *_align(a, b), check)
            changes.extend(found)
            unchanged.extend(_unchanged_beside(key, a, b, found))
    changes.sort(key=lambda c: (_sort_key(c.path), KIND_ORDER.index(c.kind)))
    return StateDiff(changes=tuple(changes), unchanged=tuple(unchanged))


def ordered_keys(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """The keys of both states: ``old``'s in order, then those only ``new`` has."""
    keys = list(old)
    keys.extend(k for k in new if k not in old)
    return keys


def same_value(a: Any, b: Any) -> bool:
    """Whether ``a`` and ``b`` are of one type and equal (an ``__eq__`` that raises:
    not the same, compared in depth)."""
    try:
        if type(a) is not type(b) or not bool(a == b):
            return False
    except Exception:  # an application __eq__ that raises: compare in depth
        return False
    return True


class _ById(dict[Any, Any]):
    """A list of dicts that all carry a unique ``"id"``, keyed by that id.

    Both sides of such a list are turned into this before DeepDiff sees them, so
    items are matched by id in linear time (DeepDiff's own pairing of list items is
    quadratic), and inserting one message does not shift every later one.
    """

    order: tuple[Any, ...] = ()
    """The ids in list order."""

    def __eq__(self, other: object) -> bool:
        # Order counts, so that a parent holding a reordered list is not "equal".
        if isinstance(other, _ById):
            return self.order == other.order and dict.__eq__(self, other)
        return NotImplemented

    def __ne__(self, other: object) -> bool:
        return not self == other

    __hash__ = None


def _by_id(items: list[Any] | tuple[Any, ...]) -> _ById | None:
    """``items`` keyed by id, or None when they do not all carry a unique id."""
    if not items or not all(isinstance(i, dict) and "id" in i for i in items):
        return None
    try:
        keyed = _ById((item["id"], item) for item in items)
    except TypeError:  # an unhashable id
        return None
    if len(keyed) != len(items):
        return None
    keyed.order = tuple(keyed)
    return keyed


def _align(a: Any, b: Any) -> tuple[Any, Any]:
    """Prepare two values for DeepDiff: id-keyed lists, inert values as dicts.

    Walks both sides together and only where they differ; equal sub-trees are left
    as they are (DeepDiff skips them too, see :class:`_SkipEqual`).
    """
    if same_value(a, b):
        return a, b
    if isinstance(a, dict) and isinstance(b, dict):
        a2, b2 = dict(a), dict(b)
        for key in a.keys() & b.keys():
            a2[key], b2[key] = _align(a[key], b[key])
        return a2, b2
    if isinstance(a, list) and isinstance(b, list):
        keyed_a, keyed_b = _by_id(a), _by_id(b)
        if keyed_a is not None and keyed_b is not None:
            for key in keyed_a.keys() & keyed_b.keys():
                keyed_a[key], keyed_b[key] = _align(keyed_a[key], keyed_b[key])
            return keyed_a, keyed_b
        if len(a) == len(b):
            pairs = [_align(x, y) for x, y in zip(a, b, strict=True)]
            return [x for x, _ in pairs], [y for _, y in pairs]
    return _plain(a), _plain(b)


class _SkipEqual:
    """A DeepDiff operator that skips equal sub-trees, notes reordered id lists, and
    polls for cancellation.

    DeepDiff walks into every item of a large list even when the two are equal;
    comparing with ``==`` first (at C speed) skips them.
    """

    def __init__(self, cancelled: Callable[[], bool]) -> None:
        self.cancelled = cancelled
        self.calls = 0
        self.reordered: list[Any] = []

    def match(self, level: Any) -> bool:
        self.calls += 1
        if self.calls % 64 == 0 and self.cancelled():
            raise DiffCancelled()
        a, b = level.t1, level.t2
        if isinstance(a, _ById) and isinstance(b, _ById) and _order_changed(a, b):
            self.reordered.append(level)
        return same_value(a, b)

    def give_up_diffing(self, level: Any, diff_instance: Any) -> bool:
        return True  # only called for equal sub-trees: nothing to report

    def normalize_value_for_hashing(self, parent: Any, obj: Any) -> Any:
        return obj


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
    operator = _SkipEqual(check)
    tree = DeepDiff(
        {key: a},
        {key: b},
        view="tree",
        threshold_to_diff_deeper=0,  # always report the deepest changed paths
        custom_operators=[operator],
        verbose_level=2,
    )
    changes: list[Change] = []
    for report, levels in tree.items():
        for level in levels:
            kind = _REPORTS.get(report)
            if kind is None:
                continue
            if kind in ("added", "removed") and isinstance(_container(level), _ById):
                kind = "item_added" if kind == "added" else "item_removed"
            removed = kind in ("removed", "item_removed")
            path = _path_of(level, removed)
            old = MISSING if kind in ("added", "item_added") else _restore(level.t1)
            new = MISSING if removed else _restore(level.t2)
            changes.append(Change(kind, path, old, new, _line_diff(old, new)))
    for level in operator.reordered:
        changes.append(
            Change(
                "reordered",
                _path_of(level, False),
                _restore(level.t1),
                _restore(level.t2),
            )
        )
    return changes


def _container(level: Any) -> Any:
    parent = level.up
    if parent is None:
        return None
    return parent.t2 if parent.t2 is not None else parent.t1


def _restore(value: Any) -> Any:
    """An id-keyed list back as the list it was (for showing a value)."""
    if isinstance(value, _ById):
        return [_restore(item) for item in value.values()]
    if isinstance(value, dict):
        restored = {k: _restore(v) for k, v in value.items()}
        same = all(restored[k] is v for k, v in value.items())
        return value if same else restored
    if isinstance(value, list):
        items = [_restore(v) for v in value]
        return (
            value if all(a is b for a, b in zip(items, value, strict=True)) else items
        )
    return value


def _path_of(level: Any, removed: bool) -> tuple[PathPart, ...]:
    """The path of a DeepDiff level; an item of an id-keyed list is named by its id.

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
        if isinstance(container, _ById):
            parts.append(("id", param))
        elif param is not None:  # None: a set item; the change names the set
            parts.append(param)
        node = child
    return tuple(parts[1:]) if parts and parts[0] == "root" else tuple(parts)


def _order_changed(old: _ById, new: _ById) -> bool:
    common = old.keys() & new.keys()
    return [i for i in old.order if i in common] != [
        i for i in new.order if i in common
    ]


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
        if sub in b and sub not in touched and same_value(a[sub], b[sub]):
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
