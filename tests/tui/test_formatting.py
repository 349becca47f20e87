"""How values, times and graphs are shown: pure functions, no app."""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest

from timeloom.backends.serde import Serializer
from timeloom.core.checkpoint import CheckpointMeta
from timeloom.tui.widgets.formatting import (
    children_of,
    copy_text,
    format_day_time,
    format_size,
    format_time,
    format_timestamp,
    path_text,
    summarize,
    type_label,
)
from timeloom.tui.widgets.lanes import LaneLayout
from timeloom.tui.widgets.thread_list import middle_ellipsis


class Color(enum.Enum):
    RED = "red"


@dataclass
class Point:
    x: int
    y: int


def _read_back(value: Any) -> Any:
    """What a checkpointer returns for ``value`` when its classes are unknown."""
    serde = Serializer()
    return serde.loads(serde.dumps(value))


def test_unknown_classes_are_labelled_with_their_type_name() -> None:
    point, color = _read_back([Point(1, 2), Color.RED])
    assert type_label(point) == "Point"
    assert summarize(point) == ("container", "{2 fields}")
    assert children_of(point) == [("x", 1), ("y", 2)]
    assert summarize(color) == ("type", "Color.RED")
    assert children_of(color) is None
    assert copy_text(color) == '"red"'
    assert '"__type__": "' in copy_text(point)  # the full module path travels along
    assert copy_text(point).count("Point") == 1


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, ("null", "null")),
        (True, ("bool", "true")),
        (Decimal("42.10"), ("number", "42.10")),
        (b"\0" * 2048, ("bytes", "<2.0 KB of bytes>")),
        (uuid.UUID(int=7), ("id", "00000000-0000-0000-0000-000000000007")),
        (
            datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
            ("time", "2026-01-02 03:04:05+00:00"),
        ),
        ([1, 2], ("container", "[2 items]")),
        ({"a": 1}, ("container", "{1 key}")),
        ((1,), ("container", "[1 item]")),
        ("line\nbreak", ("string", '"line↵break"')),
        ("x" * 100, ("string", '"' + "x" * 60 + '…" (100 chars)')),
    ],
)
def test_summaries_by_type(value: Any, expected: tuple[str, str]) -> None:
    assert summarize(value) == expected


def test_times_are_utc_in_a_fixed_format() -> None:
    moment = datetime(
        2026, 11, 2, 10, 4, 5, 678_000, tzinfo=timezone(timedelta(hours=1))
    )
    assert format_time(moment) == "09:04:05"
    assert format_day_time(moment) == "11-02 09:04"
    assert format_timestamp(moment) == "2026-11-02 09:04:05.678 UTC"


def test_sizes_paths_and_ellipses() -> None:
    assert [format_size(n) for n in (None, 12, 2048, 3 * 2**20)] == [
        "?",
        "12 B",
        "2.0 KB",
        "3.0 MB",
    ]
    assert path_text(("messages", 0, "content")) == "messages[0].content"
    assert path_text(("odd key", 1)) == '["odd key"][1]'
    assert middle_ellipsis("refund-3150-partial", 12) == "refund…rtial"
    assert middle_ellipsis("short", 12) == "short"


def _meta(cid: str, parent: str | None, thread: str = "t") -> CheckpointMeta:
    return CheckpointMeta(
        id=cid,
        thread_id=thread,
        parent_id=parent,
        parent_thread_id=(thread if parent else None),
        step=0,
        source="loop",
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
        nodes=(),
        next=(),
    )


def _picture(metas: list[CheckpointMeta], pages: int = 1) -> list[str]:
    layout = LaneLayout()
    size = -(-len(metas) // pages)
    rows = []
    for start in range(0, len(metas), size):  # fed page by page, like the tree
        rows += layout.add(metas[start : start + size])
    return [f"{r.before}○{r.after}".rstrip() + f" {r.meta.id}" for r in rows]


def test_lanes_draw_branches_newest_first_like_git_log_graph() -> None:
    # a ← b ← c ← d (head) and b ← e ← f: an older branch from b.
    metas = [
        _meta("g", "d"),
        _meta("f", "e"),
        _meta("e", "b"),
        _meta("d", "c"),
        _meta("c", "b"),
        _meta("b", "a"),
        _meta("a", None),
    ]
    expected = ["○ g", "│ ○ f", "│ ○ e", "○ │ d", "○ │ c", "○─╯ b", "○ a"]
    assert _picture(metas) == expected
    assert _picture(metas, pages=3) == expected  # the same when paged


def test_lanes_join_several_branches_and_end_at_a_fork_root() -> None:
    fork_root = CheckpointMeta(
        id="r",
        thread_id="t",
        parent_id="x",
        parent_thread_id="other",
        step=3,
        source="fork",
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
        nodes=(),
        next=(),
    )
    metas = [
        _meta("d", "a"),
        _meta("c", "a"),
        _meta("b", "a"),
        _meta("a", "r"),
        fork_root,
    ]
    assert _picture(metas) == ["○ d", "│ ○ c", "│ │ ○ b", "○─┴─╯ a", "○ r"]
