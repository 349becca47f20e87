"""The text of every error the TUI and the ``timeloom`` commands show: one place.

The app shows an error as a dialog or a notification (:func:`describe_error`: a
title, a message, details); a command prints one line to stderr
(:func:`error_line`). Both name a failed node, and both give a Timeloom error's own
title and message. The text may quote the database (a thread id, a table): the
caller shows it through :mod:`timeloom.tui.ops.safetext`, never as markup.
"""

from __future__ import annotations

import traceback

from timeloom.core.errors import TimeloomError, node_failure


class CommandError(Exception):
    """A problem a command states as it is (``timeloom: MESSAGE``): no such
    checkpoint, arguments that do not fit."""


def describe_error(exc: BaseException) -> tuple[str, str, str]:
    """``(title, header, details)`` for the app's error dialog.

    A node's exception (see :func:`~timeloom.core.errors.node_failure`) names the
    node and its message, with its traceback as details; other Timeloom errors show
    their title and message.
    """
    failure = node_failure(exc)
    if failure is not None:
        return (
            "Node failed",
            f"Node {failure.node!r} failed: {type(exc).__name__}: {exc}",
            "".join(traceback.format_exception(exc)),
        )
    if isinstance(exc, TimeloomError):
        return exc.title, exc.msg, ""
    return (
        "Unexpected error",
        f"{type(exc).__name__}: {exc}",
        "".join(traceback.format_exception(exc)),
    )


def error_line(exc: BaseException) -> str:
    """The line a command prints for ``exc`` (without the newline).

    A :class:`CommandError` as it is; a Timeloom error with its title; a node's
    exception with the node's name; anything else as the run's failure.
    """
    if isinstance(exc, CommandError):
        return f"timeloom: {exc}"
    if isinstance(exc, TimeloomError):
        return f"timeloom: {exc.title}: {exc.msg}"
    failure = node_failure(exc)
    if failure is not None:
        return (
            f"timeloom: Node failed: node {failure.node!r} raised "
            f"{type(exc).__name__}: {exc}"
        )
    return f"timeloom: the run failed: {type(exc).__name__}: {exc}"
