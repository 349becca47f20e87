"""The command-line twins: ``find``, ``bisect``, ``blame``, ``du``, ``eval`` and
``diff --steps``.

Each opens the database read-only, prints text (anything read from the database
with control characters escaped) or JSON with ``--json``, and returns an exit code:
0 found (or success), 1 nothing found (no match, no change, no such thread), 2 the
database cannot be opened or the arguments (a query, a path) are wrong.
"""

from __future__ import annotations

import argparse
import inspect
from pathlib import Path
from typing import IO, Any

from timeloom.core.checkpointer import BaseCheckpointer
from timeloom.core.errors import TimeloomError
from timeloom.tui.investigate.du_report import (
    database_json,
    database_text,
    thread_json,
    thread_text,
)
from timeloom.tui.investigate.output import (
    meta_json,
    meta_text,
    write_json,
)
from timeloom.tui.ops.plural import counted
from timeloom.tui.ops.refs import resolve_thread, split_ref
from timeloom.tui.ops.safetext import json_text, safe
from timeloom.tui.scripting import (
    EXIT_NOT_FOUND,
    EXIT_OK,
    Opener,
    add_url_arguments,
    positive_int,
    run_read_only,
)


def add_investigate_commands(subparsers: Any) -> None:
    """Register ``find``, ``bisect``, ``blame``, ``du`` and ``eval``.

    Args:
        subparsers: what ``ArgumentParser.add_subparsers()`` returned.
    """
    find = subparsers.add_parser(
        "find",
        help="checkpoints where a JMESPath query holds",
        # Raw, to keep the example queries whole: so without the docstring indent.
        description=inspect.cleandoc(run_find.__doc__ or ""),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_url_arguments(find)
    find.add_argument("query", metavar="QUERY", help="a JMESPath query")
    find.add_argument("--thread", metavar="T", help="search this thread only")
    find.add_argument(
        "--limit",
        type=positive_int,
        default=100,
        help="stop after N matches (default 100)",
    )
    find.set_defaults(func=run_find)

    bisect = subparsers.add_parser(
        "bisect",
        help="the first checkpoint along a branch where a query holds",
        description=run_bisect.__doc__,
    )
    add_url_arguments(bisect)
    bisect.add_argument("ref", metavar="THREAD[@CHECKPOINT]", help="the branch tip")
    bisect.add_argument("query", metavar="QUERY", help="a JMESPath query")
    bisect.add_argument(
        "--linear",
        action="store_true",
        help="check every checkpoint in order (exact even if the query flips back)",
    )
    bisect.set_defaults(func=run_bisect)

    blame = subparsers.add_parser(
        "blame",
        help="the checkpoints where the value at a path changed",
        description=run_blame.__doc__,
    )
    add_url_arguments(blame)
    blame.add_argument("ref", metavar="THREAD[@CHECKPOINT]", help="the branch tip")
    blame.add_argument("path", metavar="PATH", help="e.g. refund.amount, messages[3]")
    blame.set_defaults(func=run_blame)

    du = subparsers.add_parser(
        "du", help="storage per key, thread and database", description=run_du.__doc__
    )
    add_url_arguments(du)
    du.add_argument("thread", metavar="THREAD", nargs="?", help="account one thread")
    du.add_argument(
        "--top", type=positive_int, default=10, help="threads to list (default 10)"
    )
    du.add_argument(
        "--checkpoints", action="store_true", help="also list every checkpoint"
    )
    du.set_defaults(func=run_du)

    export = subparsers.add_parser(
        "eval",
        help="checkpoints as eval dataset rows (JSONL), or a regression test",
        description=run_eval.__doc__,
    )
    export.add_argument("url", metavar="URL", help="a database path or URL")
    export.add_argument(
        "ref",
        metavar="THREAD[@CHECKPOINT]",
        help="a thread (every checkpoint up to its newest) or one checkpoint",
    )
    export.add_argument(
        "--next",
        action="store_true",
        help="add the next state along the branch as reference_outputs",
    )
    export.add_argument(
        "--pytest",
        metavar="FILE",
        type=Path,
        help="write a pytest file resuming --graph from the checkpoint instead",
    )
    export.add_argument(
        "--graph", metavar="MODULE:ATTR", help="the graph the test resumes"
    )
    export.set_defaults(func=run_eval)


# -- find ----------------------------------------------------------------------------


def run_find(
    args: argparse.Namespace,
    *,
    opener: Opener | None = None,
    out: IO[str] | None = None,
    err: IO[str] | None = None,
) -> int:
    """List the checkpoints where a JMESPath query holds, in one thread (--thread)
    or in every thread. Each checkpoint is queried as {"thread_id", "checkpoint_id",
    "step", "source", "nodes", "next", "created_at", "metadata", "values"}, e.g.
    "values.amount > `500`" or
    "values.messages[?role == 'tool' && contains(content, 'timeout')]"."""
    from timeloom.tui.investigate.find import find_everywhere, find_in_thread
    from timeloom.tui.investigate.query import compile_query, plain
    from timeloom.tui.investigate.timeline import ThreadStates

    async def body(cp: BaseCheckpointer, write: IO[str]) -> int:
        query = compile_query(args.query)
        if args.thread is not None:
            thread = await resolve_thread(cp, args.thread)
            matches = find_in_thread(await ThreadStates.load(cp, thread), query)
        else:
            matches = find_everywhere(cp, query)
        found = []
        async for match in matches:
            found.append(match)
            if len(found) >= args.limit:
                break
        if args.json:
            write_json(
                write,
                {
                    "query": args.query,
                    "matches": [
                        {**meta_json(m.meta), "result": plain(m.result)} for m in found
                    ],
                    "truncated": len(found) >= args.limit,
                },
            )
        else:
            from timeloom.tui.ops.preview import preview

            for m in found:
                write.write(f"{meta_text(m.meta)}  → {safe(preview(m.result, 60))}\n")
            threads = len({m.meta.thread_id for m in found})
            more = " (limit reached)" if len(found) >= args.limit else ""
            write.write(
                f"{counted(len(found), 'match')} in "
                f"{counted(threads, 'thread')}{more}\n"
            )
        return EXIT_OK if found else EXIT_NOT_FOUND

    return run_read_only(args.url, body, opener, out, err)


# -- bisect ----------------------------------------------------------------------------


def run_bisect(
    args: argparse.Namespace,
    *,
    opener: Opener | None = None,
    out: IO[str] | None = None,
    err: IO[str] | None = None,
) -> int:
    """Find the first checkpoint along a branch (THREAD: up to its newest
    checkpoint) where a JMESPath query holds, and the node write that made it so.
    Binary search (O(log n) state reads) when the query is false at the start and
    true at the tip; every checkpoint in order with --linear or when it does not
    hold at the tip."""
    from timeloom.tui.investigate.bisect import bisect
    from timeloom.tui.investigate.query import compile_query, plain
    from timeloom.tui.investigate.timeline import ThreadStates

    thread, tip = split_ref(args.ref)

    async def body(cp: BaseCheckpointer, write: IO[str]) -> int:
        query = compile_query(args.query)
        states = await ThreadStates.load(
            cp, await resolve_thread(cp, thread), summaries=False
        )
        result = await bisect(states, query, tip=tip, linear=args.linear)
        if args.json:
            write_json(
                write,
                {
                    "query": args.query,
                    "mode": result.mode,
                    "reason": result.reason,
                    "reads": result.reads,
                    "read_mode": states.mode,
                    "checkpoints": result.checkpoints,
                    "first": meta_json(result.first) if result.first else None,
                    "before": meta_json(result.before) if result.before else None,
                    "writes": plain(result.writes),
                    "diff": result.diff,
                },
            )
        else:
            _bisect_text(write, result)
        return EXIT_OK if result.first is not None else EXIT_NOT_FOUND

    return run_read_only(args.url, body, opener, out, err)


def _bisect_text(write: IO[str], result: Any) -> None:
    from timeloom.tui.ops.preview import preview

    if result.first is None:
        write.write("The query never holds along the branch.\n")
    else:
        write.write(f"First holds at {meta_text(result.first)}\n")
        if result.before is not None:
            write.write(f"  after       {meta_text(result.before)}\n")
        if result.diff:
            write.write(f"  changed     {result.diff}\n")
        for node, update in result.writes.items():
            write.write(safe(f"  {node} wrote {preview(update, 70)}") + "\n")
    write.write(
        f"{result.mode} search: {counted(result.reads, 'state read')} over "
        f"{counted(result.checkpoints, 'checkpoint')} ({result.reason})\n"
    )


# -- blame ----------------------------------------------------------------------------


def run_blame(
    args: argparse.Namespace,
    *,
    opener: Opener | None = None,
    out: IO[str] | None = None,
    err: IO[str] | None = None,
) -> int:
    """List the checkpoints along a branch (THREAD: up to its newest checkpoint;
    a fork is followed back into the thread it came from) where the value at PATH
    changed (messages[3].content, refund.amount,
    ["a key"]), with step, node, source and the change."""
    from timeloom.tui.investigate.blame import blame
    from timeloom.tui.investigate.paths import MISSING, parse_path, path_text
    from timeloom.tui.investigate.query import plain
    from timeloom.tui.investigate.timeline import lineage

    async def body(cp: BaseCheckpointer, write: IO[str]) -> int:
        path = parse_path(args.path)
        branch = await lineage(cp, args.ref)
        found = await blame(branch, path)
        if args.json:
            write_json(
                write,
                {
                    "path": path_text(path),
                    "read_modes": sorted({s.mode for s in branch.states.values()}),
                    "checkpoints": len(branch.checkpoints),
                    "changes": [
                        {
                            **meta_json(p.meta),
                            "kind": p.kind,
                            "old": None if p.old is MISSING else plain(p.old),
                            "new": None if p.new is MISSING else plain(p.new),
                            "diff": p.diff,
                        }
                        for p in found
                    ],
                },
            )
        else:
            for p in found:
                nodes = safe(", ".join(p.meta.nodes) or "-")
                thread = ""
                if len(branch.states) > 1:
                    thread = f"{safe(p.meta.thread_id)}  "
                write.write(
                    f"step {p.meta.step:>5}  {thread}{p.meta.id}  {nodes:<12} "
                    f"{p.meta.source:<6}  {p.diff}\n"
                )
            write.write(
                f"{counted(len(found), 'change')} to {safe(path_text(path))} along "
                f"{counted(len(branch.checkpoints), 'checkpoint')}\n"
            )
        return EXIT_OK if found else EXIT_NOT_FOUND

    return run_read_only(args.url, body, opener, out, err)


# -- du ----------------------------------------------------------------------------


def run_du(
    args: argparse.Namespace,
    *,
    opener: Opener | None = None,
    out: IO[str] | None = None,
    err: IO[str] | None = None,
) -> int:
    """Account for storage: with THREAD, bytes per key per checkpoint (stored by
    it, shared with earlier checkpoints; on LangGraph databases, re-stored copies
    of the parent's) and growth over steps; without, the database's totals and
    its biggest threads."""
    from timeloom.tui.investigate.du import database_usage, thread_usage

    async def body(cp: BaseCheckpointer, write: IO[str]) -> int:
        if args.thread is None:
            usage = await database_usage(cp, top=args.top)
            if args.json:
                write_json(write, database_json(usage, args.top))
            else:
                database_text(write, usage, args.top)
            return EXIT_OK
        thread = await thread_usage(cp, await resolve_thread(cp, args.thread))
        if args.json:
            write_json(write, thread_json(thread, args.checkpoints))
        else:
            thread_text(write, thread, args.checkpoints)
        return EXIT_OK

    return run_read_only(args.url, body, opener, out, err)


# -- diff --steps -------------------------------------------------------------------


def run_diff_steps(
    args: argparse.Namespace,
    *,
    opener: Opener | None = None,
    out: IO[str] | None = None,
    err: IO[str] | None = None,
) -> int:
    """Compare two branches or threads (A and B: THREAD or THREAD@CHECKPOINT tips)
    step by step: the nodes that ran and what differs. Exit 1 if they differ."""
    from timeloom.tui.investigate.compare import compare_steps
    from timeloom.tui.investigate.timeline import lineage

    async def body(cp: BaseCheckpointer, write: IO[str]) -> int:
        a = await lineage(cp, args.a)
        b = await lineage(cp, args.b)
        rows = await compare_steps(a, b)
        differ = any(not r.same and (r.changes or r.nodes_differ) for r in rows)
        if args.json:
            write_json(
                write,
                {
                    "a": args.a,
                    "b": args.b,
                    "identical": not differ,
                    "steps": [
                        {
                            "step": r.step,
                            "a": meta_json(r.a) if r.a else None,
                            "b": meta_json(r.b) if r.b else None,
                            "same_checkpoint": r.same,
                            "nodes_differ": r.nodes_differ,
                            "changes": r.changes,
                            "diff": r.diff,
                        }
                        for r in rows
                    ],
                },
            )
        else:
            write.write(f"A {safe(args.a)}\nB {safe(args.b)}\n")
            for r in rows:
                na = safe(", ".join(r.a.nodes) or r.a.source) if r.a else "—"
                nb = safe(", ".join(r.b.nodes) or r.b.source) if r.b else "—"
                what = "same checkpoint" if r.same else r.diff or "same state"
                mark = "!" if r.nodes_differ and not r.same else " "
                write.write(f"{r.step:>5} {mark} {na:<14} {nb:<14} {what}\n")
        return 1 if differ else EXIT_OK

    return run_read_only(args.url, body, opener, out, err)


# -- eval ----------------------------------------------------------------------------


def run_eval(
    args: argparse.Namespace,
    *,
    opener: Opener | None = None,
    out: IO[str] | None = None,
    err: IO[str] | None = None,
) -> int:
    """Write checkpoints as eval dataset rows, one JSON object per line: THREAD
    gives every checkpoint along its branch up to the newest, THREAD@CHECKPOINT
    that one. Each row has inputs (the state), metadata (thread, checkpoint, step,
    graph version, time) and, with --next, reference_outputs (the next state). With
    --pytest FILE --graph MODULE:ATTR, write a pytest file that resumes the graph
    from the checkpoint (the thread's newest without @), to complete with an
    assertion."""
    from timeloom.tui.investigate.evalexport import pytest_file, rows
    from timeloom.tui.investigate.timeline import ThreadStates

    thread, checkpoint = split_ref(args.ref)

    async def body(cp: BaseCheckpointer, write: IO[str]) -> int:
        if args.pytest is not None and not args.graph:
            raise TimeloomError(
                "--pytest needs --graph MODULE:ATTR: the graph the test resumes",
                title="Missing --graph",
            )
        states = await ThreadStates.load(cp, await resolve_thread(cp, thread))
        if args.pytest is not None:
            meta = states.resolve(checkpoint)
            values = await states.values(meta.id)
            args.pytest.write_text(
                pytest_file(meta, values, args.graph, cp.url), encoding="utf-8"
            )
            write.write(f"wrote {safe(str(args.pytest))}\n")
            return EXIT_OK
        count = 0
        async for data in rows(states, only=checkpoint, reference=args.next):
            write.write(json_text(data, indent=None, ascii=True) + "\n")
            count += 1
        return EXIT_OK if count else EXIT_NOT_FOUND

    return run_read_only(args.url, body, opener, out, err)
