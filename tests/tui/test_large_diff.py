"""A diff of two large states: a per-key summary first, one key's full diff on demand."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

import pytest
from textual.widgets import OptionList, Static

from tests.tui.conftest import SIZE, frozen_checkpoint, wait_for_workers, wait_until
from timeloom.backends.memory import MemoryCheckpointer
from timeloom.tui.app import TimeloomApp
from timeloom.tui.ops import keysummary
from timeloom.tui.ops.diffing import StateDiff, diff_values
from timeloom.tui.ops.keysummary import summarize_keys
from timeloom.tui.screens.diff import DiffScreen
from timeloom.tui.widgets import diff_view
from timeloom.tui.widgets.diff_view import DiffView


def _messages(word: str, n: int) -> list[dict[str, str]]:
    return [{"id": f"m{i}", "content": f"{word} {i} " + "x" * 300} for i in range(n)]


def test_keys_are_compared_by_their_encoded_bytes() -> None:
    old = {"a": 1, "b": [1, 2], "c": "same", "gone": None}
    new = {"a": True, "b": [1, 2], "c": "same", "new": "x"}
    keys, total = summarize_keys(old, new)
    assert [(k.key, k.kind) for k in keys] == [
        ("a", "changed"),  # 1 == True, but not the same bytes
        ("b", "unchanged"),
        ("c", "unchanged"),
        ("gone", "removed"),
        ("new", "added"),
    ]
    assert keys[3].old_size == 1
    assert keys[3].new_size is None
    assert total == sum((k.old_size or 0) + (k.new_size or 0) for k in keys)


async def test_a_large_state_shows_a_summary_and_one_key_on_demand(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(keysummary, "SUMMARY_BYTES", 500_000)
    started, stopped = threading.Event(), threading.Event()

    def slow_diff(
        old: Mapping[str, Any],
        new: Mapping[str, Any],
        *,
        cancelled: Callable[[], bool] | None = None,
    ) -> StateDiff:
        """The real diff, held back on the big key until the worker is cancelled."""
        if "messages" in old:
            started.set()
            assert cancelled is not None
            while not cancelled():
                time.sleep(0.01)
            stopped.set()
        return diff_values(old, new, cancelled=cancelled)

    monkeypatch.setattr(diff_view, "diff_values", slow_diff)
    old = {"messages": _messages("old", 4000), "n": 1, "notes": "same " * 200}
    new = {"messages": _messages("new", 4000), "n": 2, "notes": "same " * 200}
    app = TimeloomApp(MemoryCheckpointer())
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_workers(pilot)
        await app.push_screen(
            DiffScreen(frozen_checkpoint(2, new), frozen_checkpoint(1, old))
        )
        view = app.screen.query_one(DiffView)
        options = view.query_one(OptionList)
        summary = view.query_one("#diff-summary", Static)
        assert await wait_until(pilot, lambda: "Large state" in str(summary.render()))
        assert "2 of 3 keys differ" in str(summary.render())
        rows = [str(options.get_option_at_index(i).prompt) for i in range(2)]
        assert options.option_count == 2
        assert rows[0].startswith("~ messages")
        assert "MB → " in rows[0]
        assert rows[1].startswith("~ n")
        assert view.entries == []  # no full diff was computed
        # The full diff of the big key runs in a thread: the app answers meanwhile.
        options.focus()
        options.highlighted = 0
        await pilot.press("enter")
        assert await wait_until(pilot, started.is_set)
        assert "Comparing messages" in str(summary.render())
        await pilot.press("u")  # handled while the diff is still running
        assert view.show_unchanged
        assert view.entries == []
        await pilot.press("backspace")  # cancels it, back to the summary
        assert await asyncio.to_thread(stopped.wait, 3.0)
        assert "Large state" in str(summary.render())
        assert options.option_count == 3  # the unchanged key too, now
        # One small key's full diff, and back.
        options.highlighted = 1
        await pilot.press("enter")
        assert await wait_until(pilot, lambda: len(view.entries) > 0)
        assert [c.path_text for c in view.entries] == ["n"]
        assert str(summary.render()).startswith("n: 1 changed")
        await pilot.press("backspace")
        assert "Large state" in str(summary.render())
        assert view.entries == []
