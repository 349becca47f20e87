"""How the read-only commands print threads, checkpoints and diffs: as text for a
person, or as JSON (``--json``, values in the editor's encoding, see
:mod:`timeloom.tui.ops.jsonedit`). Everything printed goes through a safe stream
(:mod:`timeloom.tui.ops.safetext`): data never reaches the terminal raw.
"""

from __future__ import annotations

from datetime import datetime
from typing import IO, TYPE_CHECKING, Any

from timeloom.core.checkpoint import Checkpoint, ThreadInfo
from timeloom.tui.ops.safetext import json_text, safe
from timeloom.tui.widgets.formatting import (
    STATUS_NAMES,
    chat_message,
    status_icon,
    status_name,
)

if TYPE_CHECKING:
    from timeloom.tui.ops.diffing import Change, StateDiff


# -- JSON ----------------------------------------------------------------------------


def indented(text: str, spaces: int) -> str:
    """JSON text nested ``spaces`` deep, as ``json.dumps(indent=2)`` lays it out."""
    return text.replace("\n", "\n" + " " * spaces)


def print_json(write: IO[str], data: Any) -> None:
    """``data`` as JSON text, on its own lines."""
    write.write(json_text(data))
    write.write("\n")


def _time(moment: datetime) -> str:
    return moment.isoformat()


def thread_json(info: ThreadInfo) -> dict[str, Any]:
    """A thread's summary as JSON data."""
    from timeloom.tui.ops.jsonedit import encode

    return {
        "thread_id": info.thread_id,
        "status": STATUS_NAMES.get(info.status, info.status),
        "head_id": info.head_id,
        "checkpoint_count": info.checkpoint_count,
        "created_at": _time(info.created_at),
        "updated_at": _time(info.updated_at),
        "forked_from": (
            {"thread_id": info.forked_from[0], "checkpoint_id": info.forked_from[1]}
            if info.forked_from
            else None
        ),
        "metadata": encode(dict(info.metadata)),
    }


def checkpoint_json(checkpoint: Checkpoint) -> dict[str, Any]:
    """A checkpoint as JSON data (values in the type-aware encoding)."""
    from timeloom.tui.ops.jsonedit import encode

    return {
        "thread_id": checkpoint.thread_id,
        "checkpoint_id": checkpoint.id,
        "parent": (
            {
                "thread_id": checkpoint.parent_thread_id or checkpoint.thread_id,
                "checkpoint_id": checkpoint.parent_id,
            }
            if checkpoint.parent_id
            else None
        ),
        "step": checkpoint.step,
        "source": checkpoint.source,
        "created_at": _time(checkpoint.created_at),
        "status": STATUS_NAMES[checkpoint.status],
        "next": list(checkpoint.next),
        "writes": encode(dict(checkpoint.writes)),
        "metadata": encode(dict(checkpoint.metadata)),
        "pending_writes": [
            {"node": w.node, "kind": w.kind, "value": encode(w.value)}
            for w in checkpoint.pending_writes
        ],
        "errors": [
            {"node": w.node, **encode(dict(w.value))} for w in checkpoint.errors
        ],
        "interrupts": [
            {"node": w.node, **encode(dict(w.value))} for w in checkpoint.interrupts
        ],
        "values": encode(dict(checkpoint.values)),
    }


def _change_json(change: Change) -> dict[str, Any]:
    from timeloom.tui.ops.jsonedit import encode

    data: dict[str, Any] = {"kind": change.kind, "path": change.path_text}
    if change.has_old:
        data["old"] = encode(change.old)
    if change.has_new:
        data["new"] = encode(change.new)
    if change.lines:
        data["lines"] = list(change.lines)
    return data


def _ref_json(checkpoint: Checkpoint) -> dict[str, Any]:
    return {
        "thread_id": checkpoint.thread_id,
        "checkpoint_id": checkpoint.id,
        "step": checkpoint.step,
    }


def diff_json(
    a: Checkpoint, b: Checkpoint, diff: StateDiff, *, unchanged: bool = False
) -> dict[str, Any]:
    """A diff as JSON data: both ends, the summary, the counts and the changes."""
    data: dict[str, Any] = {
        "a": _ref_json(a),
        "b": _ref_json(b),
        "identical": diff.identical,
        "summary": diff.summary(),
        "counts": dict(diff.counts()),
        "changes": [_change_json(c) for c in diff.changes],
    }
    if unchanged:
        data["unchanged"] = [c.path_text for c in diff.unchanged]
    return data


# -- text -----------------------------------------------------------------------------


def _human_time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S %Z").strip()


def print_threads(write: IO[str], infos: list[ThreadInfo]) -> None:
    """One line per thread: status, id, fork origin, checkpoints, last update."""
    if not infos:
        write.write("No threads.\n")
        return
    width = max(len(safe(i.thread_id)) for i in infos)
    for info in infos:
        fork = ""
        if info.forked_from:
            fork = (
                f"  forked from {safe(info.forked_from[0])}@{safe(info.forked_from[1])}"
            )
        count = info.checkpoint_count
        noun = "checkpoint " if count == 1 else "checkpoints"
        write.write(
            f"{status_icon(info.status)} {safe(info.thread_id):<{width}}  "
            f"{STATUS_NAMES.get(info.status, safe(info.status)):<7}  {count:>4} {noun}  "
            f"{_human_time(info.updated_at)}{fork}\n"
        )


def print_checkpoint(
    write: IO[str], checkpoint: Checkpoint, head_id: str | None
) -> None:
    """A checkpoint as text; the thread's status is said on its head only (an older
    checkpoint's next nodes are history, not something waiting to run)."""
    from timeloom.tui.ops.jsonedit import dumps
    from timeloom.tui.ops.preview import preview

    standing = ""
    if checkpoint.id == head_id:
        where = status_name(checkpoint.status, next_nodes=checkpoint.next)
        standing = f", head of the thread: {where}"
    lines = [
        f"{safe(checkpoint.thread_id)}@{safe(checkpoint.id)}",
        f"  step {safe(checkpoint.step)}, {safe(checkpoint.source)}, "
        f"{_human_time(checkpoint.created_at)}{standing}",
    ]
    if checkpoint.parent_id:
        parent_thread = checkpoint.parent_thread_id or checkpoint.thread_id
        lines.append(f"  parent    {safe(parent_thread)}@{safe(checkpoint.parent_id)}")
    lines.append(f"  next      {safe(', '.join(checkpoint.next)) or '(done)'}")
    if checkpoint.writes:
        lines.append(f"  written by {safe(', '.join(checkpoint.writes))}")
    for key, value in checkpoint.metadata.items():
        lines.append(f"  metadata  {safe(key)} = {safe(preview(value, 60))}")
    for w in checkpoint.errors:
        lines.append(
            f"  error     {safe(w.node)}: {safe(w.value.get('type'))}: "
            f"{safe(w.value.get('message'))}"
        )
    for w in checkpoint.interrupts:
        lines.append(
            f"  interrupt {safe(w.node)} ({safe(w.value.get('when', 'during'))}): "
            f"{safe(preview(w.value.get('value'), 100))}"
        )
    for w in checkpoint.pending_writes:
        if w.kind in ("update", "resume"):
            lines.append(
                f"  pending   {w.kind} from {safe(w.node)}: {safe(preview(w.value, 80))}"
            )
    chats = {key: _chat(value) for key, value in checkpoint.values.items()}
    plain = {k: v for k, v in checkpoint.values.items() if chats[k] is None}
    lines.append("  values")
    lines.extend(f"    {line}" for line in dumps(plain).splitlines())
    for key, chat in chats.items():
        if chat is not None:  # a conversation reads as one: a line per message
            lines.append(f"  {safe(key)} ({len(chat)})")
            for role, text in chat:
                first, *more = text.splitlines() or [""]
                lines.append(f"    {safe(role)}: {safe(first)}")
                lines.extend(f"    {' ' * len(role)}  {safe(line)}" for line in more)
    write.write("\n".join(lines) + "\n")


def _chat(value: Any) -> list[tuple[str, str]] | None:
    """The messages of a list that holds only chat messages, else ``None``."""
    if not isinstance(value, list) or not value:
        return None
    messages = [chat_message(item) for item in value]
    if any(m is None for m in messages):
        return None
    return [m for m in messages if m is not None]


def print_diff(
    write: IO[str], a: Checkpoint, b: Checkpoint, diff: StateDiff, *, unchanged: bool
) -> None:
    """A diff as text, ``diff -u`` style: one line per change."""
    from timeloom.tui.ops.diffing import KIND_SIGNS

    write.write(f"--- {safe(a.thread_id)}@{safe(a.id)} (step {safe(a.step)})\n")
    write.write(f"+++ {safe(b.thread_id)}@{safe(b.id)} (step {safe(b.step)})\n")
    write.write(f"{diff.summary()}\n")
    changes = list(diff.changes)
    if unchanged:
        changes.extend(diff.unchanged)
    for change in changes:
        write.write(
            f"{KIND_SIGNS[change.kind]} {safe(change.path_text)}: "
            f"{safe(_change_text(change))}\n"
        )
        for line in change.lines:
            write.write(f"    {line}\n")


def _change_text(change: Change) -> str:
    from timeloom.tui.ops.preview import preview

    if change.kind == "changed":
        if change.lines:
            return "text changed"
        return f"{preview(change.old)} → {preview(change.new)}"
    if change.kind == "reordered":
        return "items reordered"
    if change.has_new:
        return preview(change.new)
    return preview(change.old)
