"""``timeloom serve``: the app in a web browser, through textual-serve.

Every browser tab gets its own ``timeloom open ...`` process. Stopping the server
(ctrl+c, SIGTERM) closes the open tabs' sessions first, so it stops at once even
with a browser connected (textual-serve alone waits for each tab to go away).
"""

from __future__ import annotations

import asyncio
import importlib
import shlex
import sys
from collections.abc import Callable
from typing import Any

EXIT_ERROR = 2
SESSION_GRACE = 5.0
"""Seconds the server waits for its browser sessions' apps to quit when stopping."""


def open_command(url: str, *, read_only: bool, graph_ref: str | None) -> list[str]:
    """The ``timeloom open`` arguments that each browser session runs."""
    command = ["open", url]
    if read_only:
        command.append("--read-only")
    if graph_ref:
        command += ["--graph", graph_ref]
    return command


def run_serve(
    url: str,
    *,
    read_only: bool,
    graph_ref: str | None,
    host: str,
    port: int,
    check: Callable[[], int] | None = None,
) -> int:
    """Serve ``timeloom open URL`` (with the same options) to a browser.

    Args:
        url: the database.
        read_only: open it read-only.
        graph_ref: the graph to bind (``--graph``).
        host: the address to listen on.
        port: the port to listen on.
        check: run once textual-serve is found, before serving; an exit code
            other than 0 is returned instead of serving.

    Returns:
        0 when the server was stopped, 2 when textual-serve is not installed, or
        what ``check`` returned.
    """
    arguments = open_command(url, read_only=read_only, graph_ref=graph_ref)
    try:
        server_module = importlib.import_module("textual_serve.server")
    except ImportError:
        hint = f"textual serve {shlex.quote(shlex.join(['timeloom', *arguments]))}"
        print(
            "timeloom serve needs the textual-serve package "
            "(pip install textual-serve, or timeloom[web]).\n"
            f"With textual-dev installed you can also run: {hint}",
            file=sys.stderr,
        )
        return EXIT_ERROR
    checked = check() if check is not None else 0
    if checked != 0:
        return checked
    command = shlex.join([sys.executable, "-m", "timeloom.tui", *arguments])
    server = server_module.Server(command, host=host, port=port, title="Timeloom")
    _close_sessions_on_shutdown(server)
    server.serve()
    return 0


def _close_sessions_on_shutdown(server: Any) -> None:
    """Make the server end its browser sessions when it shuts down.

    textual-serve's websocket handler runs until the browser leaves, and the web
    server waits for it (a minute) before stopping: cancelling the handlers
    closes each websocket and stops its app process right away.
    """
    sessions: set[asyncio.Task[Any]] = set()
    handle = server.handle_websocket

    async def tracked(request: Any) -> Any:
        task = asyncio.current_task()
        assert task is not None
        sessions.add(task)
        try:
            return await handle(request)
        finally:
            sessions.discard(task)

    async def end_sessions(app: Any) -> None:
        for task in list(sessions):
            task.cancel()
        if sessions:  # an app still starting may miss its quit: do not wait long
            await asyncio.wait(list(sessions), timeout=SESSION_GRACE)

    server.handle_websocket = tracked
    server.on_shutdown = end_sessions
