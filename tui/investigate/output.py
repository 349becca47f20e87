"""How the investigation commands print: JSON, a checkpoint in one line, byte sizes
and growth sparklines."""

from __future__ import annotations

from collections.abc import Sequence
from typing import IO, Any, Final

from timeloom.core.checkpoint import CheckpointMeta
from timeloom.tui.ops.safetext import json_text, safe

SPARKS: Final = "▁▂▃▄▅▆▇█"
"""The eight heights of a sparkline's bars."""
SPARK_WIDTH: Final = 32
"""Columns of a growth sparkline."""


def sparkline(values: Sequence[int], width: int = SPARK_WIDTH) -> str:
    """Values as a row of bars (the largest of each bucket when there are more
    values than ``width``)."""
    if not values:
        return ""
    size = max(1, -(-len(values) // width))
    buckets = [max(values[i : i + size]) for i in range(0, len(values), size)]
    top = max(buckets) or 1
    return "".join(SPARKS[min(7, v * 8 // (top + 1))] if v else " " for v in buckets)


def human(size: int) -> str:
    """A byte count for humans."""
    amount = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if amount < 1024 or unit == "GB":
            return f"{amount:.0f} {unit}" if unit == "B" else f"{amount:.1f} {unit}"
        amount /= 1024
    return f"{size} B"  # pragma: no cover


def write_json(write: IO[str], data: Any) -> None:
    """``data`` as indented JSON, ASCII only."""
    write.write(json_text(data, ascii=True, default=str))
    write.write("\n")


def meta_json(meta: CheckpointMeta) -> dict[str, Any]:
    """A checkpoint's summary as JSON data."""
    return {
        "thread_id": meta.thread_id,
        "checkpoint_id": meta.id,
        "step": meta.step,
        "source": meta.source,
        "nodes": list(meta.nodes),
        "created_at": meta.created_at.isoformat(),
    }


def meta_text(meta: CheckpointMeta) -> str:
    nodes = ", ".join(meta.nodes) or "-"
    return safe(
        f"{meta.thread_id}@{meta.id}  step {meta.step}  {nodes} ({meta.source})"
    )
