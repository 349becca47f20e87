"""How long the diff screen takes on two ~1 MB states, and whether the app stays live.

Run: ``python tests/benchmarks/bench_diff.py``. Builds a chat-style state of about
1 MB (messages with ids, a table of records, Decimals, datetimes, UUIDs, sets and
long multi-line notes) and a copy with a few hundred changes of every kind, then
prints:

- the encoded size of each state (the codec's bytes, what a checkpoint stores);
- ``diff_values``: best and median of several runs, and the number of changes;
- the diff view in a headless app: the time until the first changes are shown and
  until all are listed, and the longest the event loop was blocked meanwhile (a
  timer ticks every 10 ms; its worst lateness is how long a keypress could have
  waited).
"""

from __future__ import annotations

import asyncio
import copy
import random
import statistics
import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from textual.app import App, ComposeResult
from textual.widgets import OptionList

from timeloom.backends.serde import Serializer
from timeloom.tui.ops.diffing import diff_values
from timeloom.tui.widgets.diff_view import DiffView

MESSAGES = 1700
RECORDS = 1700
NOTE = "\n".join(
    f"Line {i}: the customer said something worth keeping." for i in range(40)
)


def big_state(seed: int = 7) -> dict[str, Any]:
    """About 1 MB once encoded."""
    rng = random.Random(seed)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    messages = [
        {
            "id": f"m{i}",
            "role": ("user", "assistant")[i % 2],
            "content": f"{i}: " + " ".join(rng.choice(WORDS) for _ in range(60)),
            "at": start + timedelta(seconds=i),
        }
        for i in range(MESSAGES)
    ]
    records = {
        f"order-{i}": {
            "id": uuid.UUID(int=rng.getrandbits(128)),
            "total": Decimal(rng.randint(100, 99_999)) / 100,
            "tags": {rng.choice(WORDS) for _ in range(3)},
            "lines": [rng.randint(1, 9) for _ in range(5)],
        }
        for i in range(RECORDS)
    }
    return {"messages": messages, "records": records, "notes": NOTE, "step": 1}


WORDS = (
    "refund order payment bike desk grinder delivered damaged approve decline "
    "customer support agent parcel label invoice credit account address"
).split()


def changed_copy(state: dict[str, Any], seed: int = 11) -> dict[str, Any]:
    """A copy with ~400 changes: edits, inserts, removals, set items, a text edit."""
    rng = random.Random(seed)
    new = copy.deepcopy(state)
    for i in rng.sample(range(MESSAGES), 150):
        new["messages"][i]["content"] += " (edited)"
    for i in sorted(rng.sample(range(MESSAGES), 30), reverse=True):
        del new["messages"][i]
    new["messages"][10:10] = [
        {"id": f"new{i}", "role": "assistant", "content": "inserted", "at": None}
        for i in range(20)
    ]
    for key in rng.sample(sorted(new["records"]), 150):
        new["records"][key]["total"] += Decimal("0.01")
    for key in rng.sample(sorted(new["records"]), 40):
        new["records"][key]["tags"].add("flagged")
    for key in rng.sample(sorted(new["records"]), 10):
        del new["records"][key]
    new["notes"] = NOTE.replace("Line 20:", "Line twenty:")
    new["step"] = 2
    new["summary"] = "added key"
    return new


class _Host(App[None]):
    def compose(self) -> ComposeResult:
        yield DiffView()


async def _in_app(
    old: dict[str, Any], new: dict[str, Any]
) -> tuple[float, float, float, int]:
    app = _Host()
    async with app.run_test(size=(100, 30)) as pilot:
        view = app.query_one(DiffView)
        lateness: list[float] = []
        done = asyncio.Event()

        async def ticker() -> None:
            while not done.is_set():
                before = time.perf_counter()
                await asyncio.sleep(0.01)
                lateness.append(time.perf_counter() - before - 0.01)

        tick = asyncio.create_task(ticker())
        started = time.perf_counter()
        view.compare(old, new)
        options = view.query_one(OptionList)
        while view.diff is None:
            await pilot.pause(0.01)
        shown = time.perf_counter() - started
        while options.option_count < len(view.entries):
            await pilot.pause(0.01)
        listed = time.perf_counter() - started
        done.set()
        await tick
        return shown, listed, max(lateness), len(view.entries)


def main() -> None:
    old = big_state()
    new = changed_copy(old)
    serde = Serializer()
    print(
        f"states: {len(serde.dumps(old)) / 1e6:.2f} MB and "
        f"{len(serde.dumps(new)) / 1e6:.2f} MB encoded"
    )
    times = []
    diff = None
    for _ in range(5):
        started = time.perf_counter()
        diff = diff_values(old, new)
        times.append(time.perf_counter() - started)
    assert diff is not None
    print(
        f"diff_values: best {min(times) * 1000:.0f} ms, median "
        f"{statistics.median(times) * 1000:.0f} ms, {len(diff.changes)} changes "
        f"({diff.summary()})"
    )
    shown, listed, worst, entries = asyncio.run(_in_app(old, new))
    print(
        f"diff view in the app: first changes shown after {shown * 1000:.0f} ms, all "
        f"{entries} listed after {listed * 1000:.0f} ms; event loop blocked at most "
        f"{worst * 1000:.0f} ms meanwhile"
    )


if __name__ == "__main__":
    main()
