"""``timeloom demo``: rebuild the demo database, say what is in it, then open it.

The command deletes the database (and its WAL files) and writes it again, so
running it twice gives the same threads. Opening the app is the caller's part:
:func:`run_demo` hands the built database to ``start_app``, which the CLI provides
(it imports Textual; this module does not).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Final

from timeloom.core.checkpointer import BaseCheckpointer
from timeloom.core.errors import TimeloomError
from timeloom.core.graph import StateGraph
from timeloom.tui.demo.agent import build_graph
from timeloom.tui.demo.build import build_demo, default_path

DEMO_GRAPH: Final = "timeloom.tui.demo.agent:graph"
"""The ``--graph`` reference of the demo's support agent."""

_SIDE_FILES: Final = ("-wal", "-shm", "-journal")


@dataclass(frozen=True, slots=True)
class DemoDatabase:
    """The demo database that was just built, and how to open it with its graph."""

    path: Path
    graph: StateGraph
    """The support agent, uncompiled: bind it to the app's checkpointer
    (:func:`timeloom.tui.graphref.bind_graph`)."""
    graph_ref: str = DEMO_GRAPH

    @property
    def open_command(self) -> str:
        """The shell command that opens the demo."""
        return f"timeloom open {self.path} --graph {self.graph_ref}"


def prepare_demo(
    path: Path | None = None,
    *,
    out: IO[str] | None = None,
    checkpointer: Callable[[Path], BaseCheckpointer] | None = None,
) -> DemoDatabase:
    """Delete and rebuild the demo database, printing what each thread shows.

    Args:
        path: where to write it (default: :func:`default_path`).
        out: where to print (default: stdout).
        checkpointer: makes the writable checkpointer for ``path`` (tests pass a
            memory one); default: :class:`SqliteCheckpointer`.

    Returns:
        The database and its graph.

    Raises:
        TimeloomError: the database cannot be written.
        OSError: the old database cannot be deleted.
    """
    target = (path or default_path()).expanduser()
    write = out or sys.stdout
    target.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("", *_SIDE_FILES):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    write.write(f"Building the demo database at {target}\n")
    make: Callable[[Path], BaseCheckpointer]
    if checkpointer is None:
        # Imported here so that registering the command costs no driver import.
        from timeloom.backends.sqlite import SqliteCheckpointer

        def make(path: Path) -> BaseCheckpointer:
            return SqliteCheckpointer(str(path))
    else:
        make = checkpointer

    def say(line: str) -> None:
        write.write(f"  {line}\n")
        write.flush()

    async def build() -> None:
        async with make(target) as store:
            await build_demo(store, say)

    asyncio.run(build())
    return DemoDatabase(path=target, graph=build_graph())


def run_demo(
    path: Path | None,
    open_app: bool,
    *,
    start_app: Callable[[DemoDatabase], int] | None = None,
    out: IO[str] | None = None,
    err: IO[str] | None = None,
) -> int:
    """Rebuild the demo database, then open it (unless ``open_app`` is False).

    Args:
        path: where to write it (default: :func:`default_path`).
        open_app: whether to open the app afterwards (``--no-open`` for CI).
        start_app: opens the app on the database with its graph loaded and returns
            its exit code; without it the command to do so is printed.
        out: where to print progress (default: stdout).
        err: where to print errors (default: stderr).

    Returns:
        0 when built (and the app's exit code when it was opened), 2 when the
        database cannot be written.
    """
    write = out or sys.stdout
    try:
        demo = prepare_demo(path, out=write)
    except TimeloomError as exc:
        (err or sys.stderr).write(f"timeloom: {exc.title}: {exc.msg}\n")
        return 2
    except OSError as exc:
        (err or sys.stderr).write(f"timeloom: cannot write the demo database: {exc}\n")
        return 2
    if open_app and start_app is not None:
        return start_app(demo)
    write.write(f"Open it with:\n  {demo.open_command}\n")
    return 0


def add_demo_command(
    subparsers: Any, start_app: Callable[[DemoDatabase], int] | None = None
) -> None:
    """Register ``demo [--db PATH] [--no-open]``; it sets ``args.func``.

    Args:
        subparsers: what ``ArgumentParser.add_subparsers()`` returned.
        start_app: passed to :func:`run_demo` (the CLI's way to open the app).
    """
    demo = subparsers.add_parser(
        "demo",
        help="build the demo database and open it",
        description="Rebuild the demo database (a support agent's runs: finished, "
        "paused, failed, branched and forked threads) and open it with its graph.",
    )
    demo.add_argument(
        "--db",
        "--path",
        dest="path",
        type=Path,
        default=None,
        help=f"where to write it ({default_path()})",
    )
    demo.add_argument(
        "--no-open", action="store_true", help="only build it (for CI and scripts)"
    )

    def func(args: argparse.Namespace) -> int:
        return run_demo(args.path, not args.no_open, start_app=start_app)

    demo.set_defaults(func=func)
