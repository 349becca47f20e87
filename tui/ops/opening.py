"""Opening what the user named on the command line: the one check every command
(``open``, ``serve``, ``threads``, ``show``...) makes before connecting."""

from __future__ import annotations

from pathlib import Path

from timeloom.core.checkpointer import BaseCheckpointer
from timeloom.core.errors import StoreConnectionError


def open_url(url: str, *, read_only: bool) -> BaseCheckpointer:
    """Return the (not yet set up) checkpointer for ``url``: what every command opens.

    Raises:
        TimeloomError: the URL is not understood, or names a directory or a SQLite
            file that does not exist (browsing never creates a database by accident).
    """
    from timeloom.backends.urls import missing_file, open_checkpointer, sqlite_path

    path = sqlite_path(url)
    if path is not None and path != ":memory:":
        if Path(path).expanduser().is_dir():
            raise StoreConnectionError(
                f"{path} is a directory; give the database file in it.",
                title="Not a database file",
            )
        if not Path(path).expanduser().exists():
            raise StoreConnectionError(missing_file(url), title="Database not found")
    return open_checkpointer(url, read_only=read_only)
