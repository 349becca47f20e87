"""``timeloom du`` as text and JSON, and the storage report the app's storage screen
shows (:func:`thread_report`): bytes per key, their growth as a sparkline, and what
re-stored copies cost."""

from __future__ import annotations

from typing import IO, TYPE_CHECKING, Any

from timeloom.tui.investigate.output import human, meta_json, meta_text, sparkline
from timeloom.tui.ops.plural import counted
from timeloom.tui.ops.safetext import safe

if TYPE_CHECKING:
    from timeloom.tui.investigate.du import ThreadUsage


def thread_json(usage: ThreadUsage, checkpoints: bool) -> dict[str, Any]:
    data: dict[str, Any] = {
        "thread_id": usage.thread_id,
        "layout": usage.layout,
        "checkpoints": len(usage.checkpoints),
        "stored": usage.stored,
        "keys": {
            key: {
                "stored": t.stored,
                "shared": t.shared,
                "restored": t.restored,
                "growth": usage.growth(key),
            }
            for key, t in usage.totals().items()
        },
        "timeloom_estimate": usage.timeloom_estimate,
        "notes": usage.notes,
    }
    if checkpoints:
        data["per_checkpoint"] = [
            {
                **meta_json(c.meta),
                "overhead": c.overhead,
                "keys": {
                    k: {"stored": b.stored, "shared": b.shared, "restored": b.restored}
                    for k, b in c.keys.items()
                },
            }
            for c in usage.checkpoints
        ]
    return data


def thread_report(usage: ThreadUsage) -> list[str]:
    """A thread's storage as lines of text: per key what is stored and shared (or
    re-stored, on LangGraph) with its growth as a sparkline, and for LangGraph what
    the re-storing costs and what Timeloom's layout would take."""
    totals = usage.totals()
    lines = [
        f"{safe(usage.thread_id)}: {counted(len(usage.checkpoints), 'checkpoint')}, "
        f"{human(usage.stored)} stored ({usage.layout} layout)"
    ]
    langgraph = usage.layout == "langgraph"
    third = "re-stored" if langgraph else "shared"
    width = max([len(safe(k)) for k in totals] + [6])
    lines.append(
        f"{'key':<{width}}  {'stored':>10}  {third:>10}  growth per checkpoint"
    )
    for key, t in totals.items():
        other = t.restored if langgraph else t.shared
        lines.append(
            f"{safe(key):<{width}}  {human(t.stored):>10}  {human(other):>10}  "
            f"{sparkline(usage.growth(key))}"
        )
    overhead = sum(c.overhead for c in usage.checkpoints)
    lines.append(f"{'(rows)':<{width}}  {human(overhead):>10}")
    if langgraph:
        restored = sum(t.restored for t in totals.values())
        shared = sum(t.shared for t in totals.values())
        share = restored * 100 // max(1, usage.stored)
        # PostgresSaver shares an unchanged channel's version; SqliteSaver does not.
        how, what = (
            (
                "LangGraph stores each new version of a channel whole (unchanged "
                f"ones are shared: {human(shared)})",
                "the old items of lists that grew",
            )
            if shared
            else (
                "LangGraph stores every channel whole in every checkpoint",
                "unchanged channels, and the old items of lists that grew",
            )
        )
        lines.append(
            f"{how}: {human(restored)} of {human(usage.stored)} ({share}%) repeats "
            f"what the parent checkpoint already stored ({what})."
        )
        if usage.timeloom_estimate is not None:
            ratio = usage.stored / max(1, usage.timeloom_estimate)
            lines.append(
                f"The same values in Timeloom's layout: ≈ {human(usage.timeloom_estimate)}"
                f" ({ratio:.1f}× less; values by content, lists as chunks and deltas)."
            )
    lines.extend(safe(note) for note in usage.notes)
    return lines


def thread_text(write: IO[str], usage: ThreadUsage, checkpoints: bool) -> None:
    for line in thread_report(usage):
        write.write(line + "\n")
    if checkpoints:
        for c in usage.checkpoints:
            parts = ", ".join(
                f"{safe(k)} {human(b.stored)}" for k, b in c.keys.items() if b.stored
            )
            write.write(f"  {meta_text(c.meta)}  {human(c.stored)}: {parts}\n")


def database_json(usage: Any, top: int) -> dict[str, Any]:
    data: dict[str, Any] = {"url": usage.url, "layout": usage.layout}
    if usage.totals is not None:
        t = usage.totals
        data.update(
            threads=t.threads,
            checkpoints=t.checkpoints,
            header_bytes=t.header_bytes,
            row_bytes=t.row_bytes,
            blobs=t.blobs,
            blob_bytes=t.blob_bytes,
            pending_write_bytes=t.pending_write_bytes,
            file_bytes=t.file_bytes,
        )
    else:
        data.update(
            threads=len(usage.threads),
            checkpoints=sum(r[1] for r in usage.threads),
            stored_bytes=sum(r[2] for r in usage.threads),
            restored_bytes=sum(r[3] for r in usage.threads),
        )
    data["top_threads"] = [
        {"thread_id": t, "checkpoints": n, "bytes": b, "restored": r}
        for t, n, b, r in usage.threads[:top]
    ]
    return data


def database_text(write: IO[str], usage: Any, top: int) -> None:
    if usage.totals is not None:
        t = usage.totals
        values = t.header_bytes + t.blob_bytes
        write.write(
            f"{safe(usage.url)}: {counted(t.threads, 'thread')}, "
            f"{counted(t.checkpoints, 'checkpoint')}\n"
            f"  values     {human(values)} ({human(t.header_bytes)} in headers, "
            f"{human(t.blob_bytes)} in {counted(t.blobs, 'shared blob')})\n"
            f"  rows       {human(t.row_bytes)} (metadata and node writes)\n"
            f"  pending    {human(t.pending_write_bytes)}\n"
        )
        if t.file_bytes is not None:
            write.write(f"  on disk    {human(t.file_bytes)}\n")
        write.write("Biggest threads (by header bytes; values are shared):\n")
    else:
        stored = sum(r[2] for r in usage.threads)
        restored = sum(r[3] for r in usage.threads)
        write.write(
            f"{safe(usage.url)}: {counted(len(usage.threads), 'thread')}, "
            f"{counted(sum(r[1] for r in usage.threads), 'checkpoint')}, {human(stored)} "
            f"stored, {human(restored)} of it re-stored copies of the parent's "
            "channels\nBiggest threads:\n"
        )
    for thread, count, size, restored in usage.threads[:top]:
        extra = f"  {human(restored)} re-stored" if usage.layout == "langgraph" else ""
        write.write(
            f"  {safe(thread)}  {counted(count, 'checkpoint')}  {human(size)}{extra}\n"
        )
