"""``timeloom demo``: rebuild the demo database, say what is in it, then open it.

The database is built beside the old one and renamed over it once complete, so
running it twice gives the same threads and an interrupted build (ctrl+c, a closed
pipe) leaves the old database as it was. A database that another program has open
is never replaced: that program would go on showing (and writing) a deleted file.
Opening the app is the caller's part:
:func:`run_demo` hands the built database to ``start_app``, which the CLI provides
(it imports Textual; this module does not).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sqlite3
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Final

from timeloom.core.errors import TimeloomError
from timeloom.core.graph import StateGraph
from timeloom.tui.demo.agent import build_graph
from timeloom.tui.demo.build import build_demo, default_path
from timeloom.tui.ops.errors import error_line

try:
    import fcntl
except ImportError:  # Windows: an open file cannot be replaced there anyway
    fcntl = None  # type: ignore[assignment]

DEMO_GRAPH: Final = "timeloom.tui.demo.agent:graph"
"""The ``--graph`` reference of the demo's support agent."""

_SIDE_FILES: Final = ("-wal", "-shm", "-journal")
_SHM_DMS_BYTE: Final = 128
"""The byte of a WAL database's ``-shm`` file that every connection to it holds a
shared lock on while it is open (SQLite's "dead man switch")."""


class DemoInUse(TimeloomError):
    """The demo database is open in another program, so it is not rebuilt."""


def sqlite_in_use(path: Path) -> bool:
    """Whether another process has the SQLite database at ``path`` open.

    Every connection to a WAL database holds a shared lock on one byte of its
    ``-shm`` file until it closes; if an exclusive lock on that byte cannot be
    had, someone is connected. (Taken and released at once, never waited for.)
    """
    if fcntl is None:
        return False
    try:
        fd = os.open(f"{path}-shm", os.O_RDWR)
    except OSError:
        return False  # no -shm file: nobody has it open in WAL mode
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, _SHM_DMS_BYTE)
    except OSError:
        return True
    else:
        fcntl.lockf(fd, fcntl.LOCK_UN, 1, _SHM_DMS_BYTE)
        return False
    finally:
        os.close(fd)


@dataclass(frozen=True, slots=True)
class DemoDatabase:
    """The demo database that was just built, and how to open it with its graph."""

    path: Path
    graph: StateGraph
    """The support agent, uncompiled: bind it to the app's checkpointer
    (:func:`timeloom.tui.ops.graphref.bind_graph`)."""
    graph_ref: str = DEMO_GRAPH

    @property
    def open_command(self) -> str:
        """The shell command that opens the demo."""
        return f"timeloom open {self.path} --graph {self.graph_ref}"


def prepare_demo(
    path: Path | None = None,
    *,
    out: IO[str] | None = None,
) -> DemoDatabase:
    """Build the demo database beside ``path`` and rename it over the old one,
    printing what each thread shows.

    Args:
        path: where to write it (default: :func:`default_path`).
        out: where to print (default: stdout).

    Returns:
        The database and its graph.

    Raises:
        DemoInUse: another program has the database open; it is left alone.
        TimeloomError: the database cannot be written.
        OSError: the database cannot be written or replaced.
    """
    target = (path or default_path()).expanduser()
    write = out or sys.stdout
    if sqlite_in_use(target):
        raise DemoInUse(
            f"{target} is open in another program (another timeloom?). Close it "
            f"and run timeloom demo again, or build one elsewhere with --db PATH.",
            title="The demo database is in use",
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    building = target.with_name(f".{target.name}.building-{os.getpid()}")
    write.write(f"Building the demo database at {target}\n")
    write.flush()
    # Imported here so that registering the command costs no driver import.
    from timeloom.backends.sqlite import SqliteCheckpointer

    def say(line: str) -> None:
        write.write(f"  {line}\n")
        write.flush()

    async def build() -> None:
        async with SqliteCheckpointer(str(building)) as store:
            await build_demo(store, say)

    try:
        _remove(building)
        asyncio.run(build())
        _fold_wal(building)
        _remove(target, main_file=False)  # the old file's WAL is not the new one's
        os.replace(building, target)
    finally:
        _remove(building)
    return DemoDatabase(path=target, graph=build_graph())


def _fold_wal(path: Path) -> None:
    """Move everything from the WAL into the database file, so that it can be renamed
    alone (SQLite deletes the WAL and shared-memory files when the last connection
    closes)."""
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()


def _remove(path: Path, *, main_file: bool = True) -> None:
    for suffix in ("", *_SIDE_FILES) if main_file else _SIDE_FILES:
        Path(f"{path}{suffix}").unlink(missing_ok=True)


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
        0 when built (and the app's exit code when it was opened), 1 when another
        program has the database open (it is left as it was), 2 when the
        database cannot be written.
    """
    write = out or sys.stdout
    try:
        demo = prepare_demo(path, out=write)
    except DemoInUse as exc:
        (err or sys.stderr).write(error_line(exc) + "\n")
        return 1
    except TimeloomError as exc:
        (err or sys.stderr).write(error_line(exc) + "\n")
        return 2
    except BrokenPipeError:
        raise  # the reader went away: the CLI exits quietly, nothing was replaced
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
