"""The headless twins of the TUI, for scripts: ``threads``, ``show``, ``diff``, ``export``.

Each opens the database read-only (they never write), prints human-readable text, or
JSON with ``--json`` (values in the editor's type-aware encoding, see
:mod:`timeloom.tui.ops.jsonedit`), and returns an exit code:

====  ===============================================================================
code  meaning
====  ===============================================================================
0     success; for ``diff``: the two states are identical
1     ``diff``: the states differ; ``threads``/``show``/``export``: the thread or
      checkpoint was not found (or ``threads`` matched none)
2     the database cannot be opened, the arguments are wrong, or (``diff``, as with
      diff(1)) a checkpoint to compare was not found
====  ===============================================================================

A checkpoint is named ``THREAD@CHECKPOINT`` (the id, or a unique prefix of it of at
least 6 characters), ``THREAD`` for the thread's head, or a checkpoint id alone (ids
are unique across threads).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable, Coroutine
from datetime import datetime
from typing import IO, TYPE_CHECKING, Any, Final, cast

from timeloom.core.checkpoint import Checkpoint, ThreadInfo
from timeloom.core.checkpointer import BaseCheckpointer
from timeloom.core.errors import TimeloomError
from timeloom.tui.ops.errors import CommandError, error_line
from timeloom.tui.ops.refs import NotFound, resolve_ref
from timeloom.tui.ops.safetext import SafeStream, json_text, safe
from timeloom.tui.widgets.formatting import (
    STATUS_NAMES,
    chat_message,
    status_icon,
    status_name,
)

if TYPE_CHECKING:
    from timeloom.tui.ops.diffing import Change, StateDiff

# The backends, the codec and DeepDiff are imported by the commands that use them,
# so that `timeloom --help` (which registers these commands) stays quick.

EXIT_OK: Final = 0
EXIT_NOT_FOUND: Final = 1
EXIT_DIFFERENT: Final = 1
EXIT_TROUBLE: Final = 2

Opener = Callable[[str], BaseCheckpointer]
"""Opens a URL read-only; tests pass one that returns a prepared checkpointer."""

_PAGE: Final = 500


def add_script_commands(subparsers: Any) -> None:
    """Register ``threads``, ``show``, ``diff`` and ``export`` on ``subparsers``.

    Each subcommand sets ``args.func``: call ``args.func(args)`` for the exit code.

    Args:
        subparsers: what ``ArgumentParser.add_subparsers()`` returned.
    """
    threads = subparsers.add_parser(
        "threads",
        help="list the threads of a database",
        description=run_threads.__doc__,
    )
    add_url_arguments(threads)
    threads.add_argument(
        "--status",
        choices=list(STATUS_NAMES.values()),
        help="only threads that stand so (idle: nodes are due, nothing says a run "
        "is going)",
    )
    threads.add_argument("--search", metavar="PREFIX", help="thread ids starting so")
    threads.add_argument("--limit", type=int, default=None, help="at most N threads")
    threads.set_defaults(func=run_threads)

    show = subparsers.add_parser(
        "show", help="print one checkpoint", description=run_show.__doc__
    )
    add_url_arguments(show)
    show.add_argument("ref", metavar="THREAD[@CHECKPOINT]")
    show.set_defaults(func=run_show)

    diff = subparsers.add_parser(
        "diff", help="compare two checkpoints", description=run_diff.__doc__
    )
    add_url_arguments(diff)
    diff.add_argument("a", metavar="A", help="THREAD@CHECKPOINT, THREAD or CHECKPOINT")
    diff.add_argument("b", metavar="B", help="THREAD@CHECKPOINT, THREAD or CHECKPOINT")
    diff.add_argument(
        "--unchanged", action="store_true", help="also list the unchanged keys"
    )
    diff.add_argument(
        "--steps",
        action="store_true",
        help="compare two branches or threads step by step (A and B are their tips)",
    )
    diff.set_defaults(func=run_diff)

    export = subparsers.add_parser(
        "export",
        help="print every checkpoint of a thread with its values",
        description=run_export.__doc__,
    )
    add_url_arguments(export)
    export.add_argument("thread", metavar="THREAD")
    export.add_argument(
        "--to",
        metavar="FILE",
        help="copy the thread into this Timeloom SQLite database (created if need "
        "be) instead of printing it; there it can be forked, edited and replayed",
    )
    export.set_defaults(func=run_export)


def add_url_arguments(parser: argparse.ArgumentParser) -> None:
    """Give a read-only command its ``URL`` argument and ``--json`` flag."""
    parser.add_argument("url", metavar="URL", help="a database path or URL")
    parser.add_argument(
        "--json", action="store_true", help="print JSON for machines instead of text"
    )


# -- the commands ---------------------------------------------------------------------


def run_threads(
    args: argparse.Namespace,
    *,
    opener: Opener | None = None,
    out: IO[str] | None = None,
    err: IO[str] | None = None,
) -> int:
    """List the threads, most recently updated first."""

    status = next((s for s, n in STATUS_NAMES.items() if n == args.status), None)

    async def body(cp: BaseCheckpointer, write: IO[str]) -> int:
        infos: list[ThreadInfo] = []
        while args.limit is None or len(infos) < args.limit:
            page = _PAGE if args.limit is None else min(_PAGE, args.limit - len(infos))
            batch = await cp.threads(
                search=args.search, status=status, limit=page, offset=len(infos)
            )
            infos.extend(batch)
            if len(batch) < page:
                break
        if args.json:
            _print_json(write, [_thread_json(i) for i in infos])
        else:
            _print_threads(write, infos)
        return EXIT_OK if infos else EXIT_NOT_FOUND

    return run_read_only(args.url, body, opener, out, err)


def run_show(
    args: argparse.Namespace,
    *,
    opener: Opener | None = None,
    out: IO[str] | None = None,
    err: IO[str] | None = None,
) -> int:
    """Print a checkpoint: values, next nodes, pending writes, errors, interrupts."""

    async def body(cp: BaseCheckpointer, write: IO[str]) -> int:
        checkpoint = await resolve_ref(cp, args.ref)
        if args.json:
            _print_json(write, checkpoint_json(checkpoint))
        else:
            info = await cp.get_thread(checkpoint.thread_id)
            _print_checkpoint(write, checkpoint, info.head_id if info else None)
        return EXIT_OK

    return run_read_only(args.url, body, opener, out, err)


def run_diff(
    args: argparse.Namespace,
    *,
    opener: Opener | None = None,
    out: IO[str] | None = None,
    err: IO[str] | None = None,
) -> int:
    """Compare the states of checkpoints A and B (what changed from A to B); with
    --steps, two branches or threads step by step."""
    if getattr(args, "steps", False):
        from timeloom.tui.investigate.commands import run_diff_steps

        return run_diff_steps(args, opener=opener, out=out, err=err)

    async def body(cp: BaseCheckpointer, write: IO[str]) -> int:
        try:
            a = await resolve_ref(cp, args.a)
            b = await resolve_ref(cp, args.b)
        except NotFound as exc:
            raise _Trouble(str(exc)) from exc
        from timeloom.tui.ops.diffing import diff_values

        diff = diff_values(a.values, b.values)
        if args.json:
            _print_json(write, diff_json(a, b, diff, unchanged=args.unchanged))
        else:
            _print_diff(write, a, b, diff, unchanged=args.unchanged)
        return EXIT_OK if diff.identical else EXIT_DIFFERENT

    return run_read_only(args.url, body, opener, out, err)


def run_export(
    args: argparse.Namespace,
    *,
    opener: Opener | None = None,
    out: IO[str] | None = None,
    err: IO[str] | None = None,
) -> int:
    """Print every checkpoint of a thread, oldest first, with its values (or, with
    --to FILE, copy the thread into a Timeloom SQLite database)."""

    async def body(cp: BaseCheckpointer, write: IO[str]) -> int:
        info = await cp.get_thread(args.thread)
        if info is None:
            raise NotFound(f"No thread {args.thread!r}")
        target = getattr(args, "to", None)  # callers may build args without it
        if target:
            return await _export_to(cp, args.thread, target, write)
        # Streamed: one checkpoint in memory at a time, however long the thread
        # (only the ids are listed first, to print oldest first).
        ids = [meta.id async for meta in cp.list(args.thread)]
        if args.json:
            write.write('{\n  "thread": ')
            write.write(_indented(json_text(_thread_json(info)), 2))
            write.write(',\n  "checkpoints": [')
        else:
            _print_threads(write, [info])
        first = True
        for cid in reversed(ids):
            checkpoint = await cp.get(args.thread, cid)
            if checkpoint is None:
                continue  # pruned while exporting
            if args.json:
                write.write("\n    " if first else ",\n    ")
                write.write(_indented(json_text(checkpoint_json(checkpoint)), 4))
            else:
                write.write("\n")
                _print_checkpoint(write, checkpoint, info.head_id)
            first = False
        if args.json:
            write.write("]\n}\n" if first else "\n  ]\n}\n")
        return EXIT_OK

    return run_read_only(args.url, body, opener, out, err)


async def _export_to(
    source: BaseCheckpointer, thread_id: str, path: str, write: IO[str]
) -> int:
    from timeloom.backends.export import export_thread
    from timeloom.backends.sqlite import SqliteCheckpointer

    target = SqliteCheckpointer(path)
    await target.setup()
    try:
        count = await export_thread(source, thread_id, target)
    finally:
        await target.aclose()
    write.write(f"Copied {count} checkpoints of {thread_id!r} into {path}.\n")
    return EXIT_OK


class _Trouble(CommandError):
    """Exit 2 with this message."""


def run_read_only(
    url: str,
    body: Callable[[BaseCheckpointer, IO[str]], Any],
    opener: Opener | None,
    out: IO[str] | None,
    err: IO[str] | None,
) -> int:
    """Open ``url`` read-only, run ``body(checkpointer, out)`` and return its exit
    code; :class:`NotFound` exits 1, a :class:`TimeloomError` exits 2 with its
    message."""
    # Everything printed may hold data: no control character reaches the terminal.
    # (A SafeStream writes like a text stream; it is not a full IO[str].)
    write = cast(IO[str], SafeStream(out or sys.stdout))

    async def main() -> int:
        checkpointer = (opener or _open_read_only)(url)
        await checkpointer.setup()
        try:
            code: int = await body(checkpointer, write)
            return code
        finally:
            await checkpointer.aclose()

    return run_command(main, err)


def run_command(
    main: Callable[[], Coroutine[Any, Any, int]],
    err: IO[str] | None,
    *,
    any_error: bool = False,
) -> int:
    """Run a command's ``main`` and return its exit code.

    A failure prints one line (:func:`~timeloom.tui.ops.errors.error_line`) and
    exits 1 for :class:`NotFound`, 2 for other command and Timeloom errors (and,
    with ``any_error``, for any exception: what the user's graph raised).
    """
    error = cast(IO[str], SafeStream(err or sys.stderr))
    try:
        return asyncio.run(main())
    except NotFound as exc:
        failure: BaseException = exc
        code = EXIT_NOT_FOUND
    except (CommandError, TimeloomError) as exc:
        failure, code = exc, EXIT_TROUBLE
    except Exception as exc:
        if not any_error:
            raise
        failure, code = exc, EXIT_TROUBLE
    error.write(error_line(failure) + "\n")
    return code


def _open_read_only(url: str) -> BaseCheckpointer:
    from timeloom.tui.ops.opening import open_url

    return open_url(url, read_only=True)


# -- JSON ----------------------------------------------------------------------------


def _indented(text: str, spaces: int) -> str:
    """JSON text nested ``spaces`` deep, as ``json.dumps(indent=2)`` lays it out."""
    return text.replace("\n", "\n" + " " * spaces)


def _print_json(write: IO[str], data: Any) -> None:
    write.write(json_text(data))
    write.write("\n")


def _time(moment: datetime) -> str:
    return moment.isoformat()


def _thread_json(info: ThreadInfo) -> dict[str, Any]:
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


def _print_threads(write: IO[str], infos: list[ThreadInfo]) -> None:
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


def _print_checkpoint(
    write: IO[str], checkpoint: Checkpoint, head_id: str | None
) -> None:
    """A checkpoint as text; the thread's status is said on its head only (an older
    checkpoint's next nodes are history, not something waiting to run)."""
    from timeloom.tui.ops.diffing import preview
    from timeloom.tui.ops.jsonedit import dumps

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


def _print_diff(
    write: IO[str], a: Checkpoint, b: Checkpoint, diff: StateDiff, *, unchanged: bool
) -> None:
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
    from timeloom.tui.ops.diffing import preview

    if change.kind == "changed":
        if change.lines:
            return "text changed"
        return f"{preview(change.old)} → {preview(change.new)}"
    if change.kind == "reordered":
        return "items reordered"
    if change.has_new:
        return preview(change.new)
    return preview(change.old)
