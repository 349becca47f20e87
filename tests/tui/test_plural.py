"""Counts in words: one of a thing is singular, any other count plural."""

from __future__ import annotations

import pytest

from timeloom.tui.ops.plural import counted


@pytest.mark.parametrize(
    ("count", "noun", "plural", "expected"),
    [
        (1, "match", None, "1 match"),
        (0, "match", None, "0 matches"),
        (2, "thread", None, "2 threads"),
        (1, "checkpoint", None, "1 checkpoint"),
        (12000, "checkpoint", None, "12,000 checkpoints"),
        (3, "box", None, "3 boxes"),
        (2, "entry", "entries", "2 entries"),
        (1, "entry", "entries", "1 entry"),
    ],
)
def test_counted(count: int, noun: str, plural: str | None, expected: str) -> None:
    assert counted(count, noun, plural) == expected
