"""The ``timeloom`` command line.

Textual is imported inside the commands that start the app, so ``--help`` and the
headless commands do not pay for it.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of the ``timeloom`` command."""
    parser = argparse.ArgumentParser(
        prog="timeloom",
        description="A time-travel debugger for AI-agent graphs.",
    )
    parser.add_subparsers(dest="command", metavar="COMMAND")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``timeloom`` command; return its exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    return 0
