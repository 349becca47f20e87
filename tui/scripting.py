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
from typing import IO, Any, Final, cast

from timeloom.core.checkpoint import ThreadInfo
from timeloom.core.checkpointer import BaseCheckpointer
from timeloom.core.errors import TimeloomError
from timeloom.tui.ops.errors import CommandError, error_line
from timeloom.tui.ops.plural import counted
from timeloom.tui.ops.refs import NotFound, resolve_ref, resolve_thread
from timeloom.tui.ops.safetext import SafeStream, json_text
from timeloom.tui.printing import (
    checkpoint_json,
    diff_json,
    indented,
    print_checkpoint,
    print_diff,
    print_json,
    print_threads,
    thread_json,
)
from timeloom.tui.widgets.formatting import STATUS_NAMES

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
    threads.add_argument(
        "--limit", type=positive_int, default=None, help="at most N threads"
    )
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


def positive_int(text: str) -> int:
    """An argparse ``type`` for counts such as ``--limit``: a whole number >= 1.

    Raises:
        argparse.ArgumentTypeError: anything else (0 or -1 would list nothing,
            and say so as if nothing were there).
    """
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(
            f"must be a whole number of 1 or more: {text!r}"
        )
    return value


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
            print_json(write, [thread_json(i) for i in infos])
        else:
            print_threads(write, infos)
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
            print_json(write, checkpoint_json(checkpoint))
        else:
            info = await cp.get_thread(checkpoint.thread_id)
            print_checkpoint(write, checkpoint, info.head_id if info else None)
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
            print_json(write, diff_json(a, b, diff, unchanged=args.unchanged))
        else:
            print_diff(write, a, b, diff, unchanged=args.unchanged)
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
        thread_id = await resolve_thread(cp, args.thread)
        info = await cp.get_thread(thread_id)
        if info is None:
            raise NotFound(f"No thread {args.thread!r}")
        target = getattr(args, "to", None)  # callers may build args without it
        if target:
            return await _export_to(cp, thread_id, target, write)
        # Streamed: one checkpoint in memory at a time, however long the thread
        # (only the ids are listed first, to print oldest first).
        ids = [meta.id async for meta in cp.summaries(thread_id)]
        if args.json:
            write.write('{\n  "thread": ')
            write.write(indented(json_text(thread_json(info)), 2))
            write.write(',\n  "checkpoints": [')
        else:
            print_threads(write, [info])
        first = True
        for cid in reversed(ids):
            checkpoint = await cp.get(thread_id, cid)
            if checkpoint is None:
                continue  # pruned while exporting
            if args.json:
                write.write("\n    " if first else ",\n    ")
                write.write(indented(json_text(checkpoint_json(checkpoint)), 4))
            else:
                write.write("\n")
                print_checkpoint(write, checkpoint, info.head_id)
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
    write.write(
        f"Copied {counted(count, 'checkpoint')} of {thread_id!r} into {path}.\n"
    )
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
