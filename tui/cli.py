"""The ``timeloom`` command line.

Textual is imported inside the commands that start the app, so ``--help`` and the
headless commands do not pay for it.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from timeloom.core.errors import TimeloomError
from timeloom.tui.demo.command import add_demo_command
from timeloom.tui.investigate.commands import add_investigate_commands
from timeloom.tui.ops.errors import error_line
from timeloom.tui.ops.opening import open_url
from timeloom.tui.ops.safetext import safe_lines
from timeloom.tui.scripting import add_script_commands, run_command
from timeloom.tui.write_commands import add_write_commands

if TYPE_CHECKING:
    from timeloom.tui.demo.command import DemoDatabase

EXIT_ERROR = 2
"""Exit code when the database cannot be opened (or the arguments are wrong)."""
EXIT_BROKEN_PIPE = 141
"""Exit code when the reader of the output went away (``| head``): what a shell
reports for a program that SIGPIPE ended, as it ends ``cat`` or ``grep``."""

URL_HELP = (
    "what to open: a SQLite file (checkpoints.db), sqlite:///relative.db, "
    "sqlite:////absolute.db, postgresql://user@host/db, or memory:"
)


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of the ``timeloom`` command."""
    parser = argparse.ArgumentParser(
        prog="timeloom",
        description="A time-travel debugger for AI-agent graphs.",
    )
    parser.add_argument(
        "--version",
        action="version",
        version=f"%(prog)s {importlib.metadata.version('timeloom')}",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    open_cmd = commands.add_parser(
        "open",
        help="browse a checkpoint database in the terminal",
        description="Browse the threads and checkpoints of a checkpoint database.",
    )
    _open_options(open_cmd)

    serve = commands.add_parser(
        "serve",
        help="browse a checkpoint database in a web browser (needs textual-serve)",
        description=(
            "Serve `timeloom open URL` (with the same options) to a web browser with "
            'textual-serve. Without it, run: textual serve "timeloom open URL"'
        ),
    )
    _open_options(serve)
    serve.add_argument("--host", default="localhost", help="address to listen on")
    serve.add_argument(
        "--port", type=port_number, default=8000, help="port to listen on"
    )

    add_script_commands(commands)
    add_write_commands(commands)
    add_investigate_commands(commands)
    add_demo_command(commands, start_app=_start_demo)
    return parser


def _open_options(command: argparse.ArgumentParser) -> None:
    """The arguments of ``open``, which ``serve`` passes on to it."""
    command.add_argument("url", metavar="URL", help=URL_HELP)
    command.add_argument(
        "-r",
        "--read-only",
        action="store_true",
        help="never write: the database itself refuses writes (safe on production)",
    )
    command.add_argument(
        "--graph",
        metavar="MODULE:ATTR",
        default=None,
        help="the graph that wrote the database (package.module:attribute or "
        "file.py:attribute), to resume runs and check edits against its schema; on "
        "a LangGraph database, your LangGraph graph: edit, branch and resume then "
        "write through it and LangGraph's own saver",
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``timeloom`` command; return its exit code.

    A closed output pipe (``timeloom export ... | head``) ends the command quietly,
    as it ends other Unix tools.
    """
    try:
        return _main(argv)
    except BrokenPipeError:
        # Python would complain again when it flushes stdout at exit.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
        return EXIT_BROKEN_PIPE


def _main(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    if hasattr(args, "func"):
        code: int = args.func(args)
        return code
    if args.command == "open":
        return run_open(args.url, read_only=args.read_only, graph_ref=args.graph)
    if args.command == "serve":
        from timeloom.tui.serve import run_serve

        return run_serve(
            args.url,
            read_only=args.read_only,
            graph_ref=args.graph,
            # A database that cannot be opened fails in one line, before serving,
            # rather than in every browser tab (opened as each tab opens it).
            check=lambda: run_command(
                lambda: _opens(args.url, read_only=args.read_only), None
            ),
            host=args.host,
            port=args.port,
        )
    parser.error(f"unknown command {args.command!r}")  # pragma: no cover


def port_number(text: str) -> int:
    """An argparse ``type`` for ``--port``: a TCP port, 1 to 65535.

    Raises:
        argparse.ArgumentTypeError: anything else.
    """
    try:
        port = int(text)
    except ValueError:
        port = 0
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"not a TCP port (1 to 65535): {text!r}")
    return port


async def _opens(url: str, *, read_only: bool) -> int:
    """Open ``url`` and close it: 0, or the error :func:`run_command` reports."""
    checkpointer = open_url(url, read_only=read_only)
    await checkpointer.setup()
    await checkpointer.aclose()
    return 0


def run_open(url: str, *, read_only: bool, graph_ref: str | None = None) -> int:
    """Open ``url`` in the TUI; return the exit code (2 if it cannot be opened).

    Args:
        url: the database.
        read_only: open it read-only.
        graph_ref: ``package.module:attribute`` of the graph to bind (``--graph``).
    """
    try:
        checkpointer = open_url(url, read_only=read_only)
        from timeloom.tui.ops.runners import open_runner

        runner = open_runner(checkpointer, graph_ref, read_only=read_only)
    except TimeloomError as error:
        return _fail(error)
    from timeloom.tui.app import TimeloomApp  # Textual only when the app runs

    app = TimeloomApp(checkpointer, runner=runner)
    app.run()
    # A startup-fatal error was printed by the app as it exited (no traceback).
    return app.return_code or 0


def _start_demo(demo: DemoDatabase) -> int:
    """Open the demo database just built, writable, with its graph loaded."""
    from timeloom.backends.sqlite import SqliteCheckpointer
    from timeloom.tui.app import TimeloomApp
    from timeloom.tui.ops.graphref import bind_graph

    checkpointer = SqliteCheckpointer(str(demo.path))
    graph = bind_graph(demo.graph, checkpointer, demo.graph_ref)
    app = TimeloomApp(checkpointer, graph=graph)
    app.run()
    return app.return_code or 0


def _fail(error: TimeloomError) -> int:
    # The message may quote the database (a table, a thread id): shown safe.
    print(safe_lines(error_line(error)), file=sys.stderr)
    return EXIT_ERROR


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
