"""The state diff: paths, kinds, id-matched lists, line diffs, inert values."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from timeloom.backends.serde import Serializer
from timeloom.tui.ops.diffing import (
    Change,
    DiffCancelled,
    diff_values,
)
from timeloom.tui.ops.preview import format_path, preview


def kinds(changes: tuple[Change, ...]) -> list[tuple[str, str]]:
    return [(c.kind, c.path_text) for c in changes]


def test_added_removed_changed_and_summary() -> None:
    old = {"a": 1, "b": {"x": 1, "y": 2}, "gone": True}
    new = {"a": 1, "b": {"x": 5, "y": 2}, "fresh": [1]}
    diff = diff_values(old, new)
    assert kinds(diff.changes) == [
        ("changed", "b.x"),
        ("added", "fresh"),
        ("removed", "gone"),
    ]
    change = diff.changes[0]
    assert (change.old, change.new) == (1, 5)
    assert diff.summary() == "1 changed · 1 added · 1 removed"
    assert diff.counts() == {"changed": 1, "added": 1, "removed": 1}
    assert kinds(diff.unchanged) == [("unchanged", "a"), ("unchanged", "b.y")]


def test_identical_states() -> None:
    state = {"a": [1, {"b": Decimal("1.0")}]}
    diff = diff_values(state, {"a": [1, {"b": Decimal("1.0")}]})
    assert diff.identical
    assert diff.summary() == "No differences"
    assert kinds(diff.unchanged) == [("unchanged", "a")]


def test_lists_by_position() -> None:
    diff = diff_values({"l": [1, 2, 3]}, {"l": [1, 3]})
    assert kinds(diff.changes) == [("item_removed", "l[1]")]
    assert diff.changes[0].old == 2
    diff = diff_values({"l": [1, 2, 3]}, {"l": [1, 5, 3]})
    assert kinds(diff.changes) == [("changed", "l[1]")]
    diff = diff_values({"l": [1]}, {"l": [1, 2, 3]})
    assert kinds(diff.changes) == [("item_added", "l[1]"), ("item_added", "l[2]")]
    assert [c.new for c in diff.changes] == [2, 3]
    assert diff.summary() == "2 items added"


def test_lists_of_dicts_with_ids_match_by_identity() -> None:
    old = {"messages": [{"id": "m1", "text": "hi"}, {"id": "m2", "text": "yo"}]}
    new = {
        "messages": [
            {"id": "m0", "text": "first"},
            {"id": "m1", "text": "hi"},
            {"id": "m2", "text": "yo!"},
        ]
    }
    diff = diff_values(old, new)
    # Inserting m0 in front does not make m1 and m2 "changed".
    assert kinds(diff.changes) == [
        ("item_added", 'messages[id="m0"]'),
        ("changed", 'messages[id="m2"].text'),
    ]
    reordered = {"messages": list(reversed(old["messages"]))}
    assert kinds(diff_values(old, reordered).changes) == [("reordered", "messages")]
    removed = {"messages": old["messages"][1:]}
    assert kinds(diff_values(old, removed).changes) == [
        ("item_removed", 'messages[id="m1"]')
    ]


def test_long_and_multiline_strings_get_a_line_diff() -> None:
    old = {"doc": "line one\nline two\nline three"}
    new = {"doc": "line one\nline 2\nline three"}
    (change,) = diff_values(old, new).changes
    assert change.lines == (
        "@@ -1,3 +1,3 @@",
        " line one",
        "-line two",
        "+line 2",
        " line three",
    )
    long = "x" * 100
    (change,) = diff_values({"s": long}, {"s": long + "y"}).changes
    assert change.lines[1:] == (f"-{long}", f"+{long}y")
    (short,) = diff_values({"s": "a"}, {"s": "b"}).changes
    assert short.lines == ()


def test_codec_types() -> None:
    u1, u2 = uuid.UUID(int=1), uuid.UUID(int=2)
    old = {
        "at": datetime(2026, 1, 1, tzinfo=UTC),
        "amount": Decimal("749.00"),
        "id": u1,
        "blob": b"\x00",
        "tags": {"a", "b"},
        "pair": (1, 2),
    }
    new = {
        "at": datetime(2026, 1, 2, tzinfo=UTC),
        "amount": Decimal("500.00"),
        "id": u2,
        "blob": b"\x01",
        "tags": {"a", "c"},
        "pair": (1, 3),
    }
    diff = diff_values(old, new)
    assert kinds(diff.changes) == [
        ("changed", "amount"),
        ("changed", "at"),
        ("changed", "blob"),
        ("changed", "id"),
        ("changed", "pair[1]"),
        ("item_added", "tags"),
        ("item_removed", "tags"),
    ]
    by_kind = {c.kind: c for c in diff.changes if c.path == ("tags",)}
    assert by_kind["item_added"].new == "c"
    assert by_kind["item_removed"].old == "b"
    assert diff.changes[0].old == Decimal("749.00")


def test_type_change_is_a_change() -> None:
    diff = diff_values({"v": 1}, {"v": "1"})
    assert kinds(diff.changes) == [("changed", "v")]


@dataclasses.dataclass
class Point:
    x: int
    y: int


def test_inert_values_compare_by_type_name_and_fields() -> None:
    writer = Serializer([Point])
    reader = Serializer()  # does not know Point: reads inert values
    old = reader.loads(writer.dumps({"p": Point(1, 2)}))
    new = reader.loads(writer.dumps({"p": Point(1, 3)}))
    diff = diff_values(old, new)
    assert kinds(diff.changes) == [("changed", "p.y")]
    assert (diff.changes[0].old, diff.changes[0].new) == (2, 3)
    assert preview(old["p"]).endswith('Point{"x": 1, "y": 2}')


def test_cancel() -> None:
    old = {"l": [{"v": i} for i in range(2000)]}
    new = {"l": [{"v": i + 1} for i in range(2000)]}
    calls = 0

    def cancelled() -> bool:
        nonlocal calls
        calls += 1
        return calls > 3

    with pytest.raises(DiffCancelled):
        diff_values(old, new, cancelled=cancelled)


@pytest.mark.parametrize(
    ("path", "text"),
    [
        (("a", "b"), "a.b"),
        (("a", 3, "b"), "a[3].b"),
        (("m", ("id", "x")), 'm[id="x"]'),
        (("with space",), '["with space"]'),
        ((), "(state)"),
    ],
)
def test_format_path(path: tuple[Any, ...], text: str) -> None:
    assert format_path(path) == text


def test_preview_shortens() -> None:
    assert preview("x" * 200, 20) == '"xxxxxxxxxxxxxxxxxx…'
    assert len(preview(list(range(1000)), 30)) == 30
    assert (
        preview({"amount": Decimal("1.50"), "ok": None})
        == '{"amount": 1.50, "ok": null}'
    )
    assert preview(b"\x00" * 20) == "<20 bytes 0000000000000000…>"
