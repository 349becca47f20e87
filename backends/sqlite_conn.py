"""The connections of a SQLite checkpointer, and where its transactions run.

aiosqlite gives each connection a thread of its own, and each event loop gets one
such connection (the sync runtime gives every calling thread its own loop; SQLite's
file locks, not ours, serialize their transactions). Beside it, each loop has a
plain ``sqlite3`` connection for short work run right on the loop's thread, which
costs less than the trip to aiosqlite's thread and back (see :meth:`Connections.run`).
Within a loop, each operation on the aiosqlite connection holds that loop's lock, so
no caller sees another's transaction half done. (``":memory:"`` has one connection:
a private in-memory database cannot be shared; use it from one loop at a time.)
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from typing import TypeVar

import aiosqlite

from timeloom.backends.sqlite_open import (
    OpenOptions,
    connect,
    transaction_on,
    translate_error,
)
from timeloom.core.errors import StoreConnectionError
from timeloom.core.sync import on_private_loop

_T = TypeVar("_T")
_NO_FSYNC_PER_COMMIT = ("OFF", "NORMAL")
WAL_CHECKPOINT_EVERY = 256
"""Direct commits on an application's event loop between two WAL checkpoints."""
_BUSY_CODES = (5, 6)  # SQLITE_BUSY, SQLITE_LOCKED (primary codes)


class _Abandoned(Exception):
    """The caller was cancelled before the transaction committed: roll it back."""


class _Busy(Exception):
    """Another connection holds the write lock: wait for it on the database thread."""


@dataclass(slots=True)
class _Direct:
    """A loop's plain ``sqlite3`` connection, for work run right on the loop's thread."""

    conn: sqlite3.Connection
    private: bool
    """On the sync API's own loop (see :func:`~timeloom.core.sync.on_private_loop`):
    blocking there is harmless, so SQLite checkpoints its WAL itself as usual."""
    commits: int = 0


class Connections:
    """The connections one checkpointer uses, per event loop.

    Args:
        options: how to open the file.
        warnings: where opening appends what the user should know.
    """

    def __init__(self, options: OpenOptions, warnings: list[str]) -> None:
        self._options = options
        self.path = options.path
        self.warnings = warnings
        self._conns: dict[asyncio.AbstractEventLoop | None, aiosqlite.Connection] = {}
        self._locks: dict[asyncio.AbstractEventLoop, asyncio.Lock] = {}
        self._direct: dict[asyncio.AbstractEventLoop, _Direct] = {}
        self._wal_checkpoints: set[asyncio.Future[None]] = set()
        self._wal_conn: sqlite3.Connection | None = None
        self._wal_lock = threading.Lock()
        self._guard = threading.Lock()  # guards the dicts

    async def aclose(self) -> None:
        """Close every connection (a later call opens new ones)."""
        loop = asyncio.get_running_loop()
        mine = [f for f in self._wal_checkpoints if f.get_loop() is loop]
        await asyncio.gather(*mine, return_exceptions=True)
        with self._wal_lock:
            if self._wal_conn is not None:
                with contextlib.suppress(sqlite3.Error):
                    self._wal_conn.close()
                self._wal_conn = None
        with self._guard:
            conns = list(self._conns.values())
            directs = list(self._direct.values())
            self._conns.clear()
            self._direct.clear()
            self._locks.clear()
        await _close(directs, conns)

    def _lock(self, loop: asyncio.AbstractEventLoop) -> asyncio.Lock:
        with self._guard:
            lock = self._locks.get(loop)
            if lock is None:
                lock = self._locks[loop] = asyncio.Lock()
            return lock

    @contextlib.asynccontextmanager
    async def session(self, action: str) -> AsyncIterator[aiosqlite.Connection]:
        loop = asyncio.get_running_loop()
        await self._close_stale()
        key = None if self.path == ":memory:" else loop
        async with self._lock(loop):
            with self.driver_errors(action):
                db = self._conns.get(key)
                if db is None:
                    db = await connect(self._options, self.warnings)
                    with self._guard:
                        self._conns[key] = db
                yield db

    async def _close_stale(self) -> None:
        """Close the connections of event loops that have been closed."""
        with self._guard:
            stale = [loop for loop in self._conns if loop and loop.is_closed()]
            conns = [self._conns.pop(loop) for loop in stale]
            for loop in stale:
                self._locks.pop(loop, None)
            gone = [loop for loop in self._direct if loop.is_closed()]
            directs = [self._direct.pop(loop) for loop in gone]
        await _close(directs, conns)

    @contextlib.asynccontextmanager
    async def transaction(
        self, action: str, *, write: bool = False
    ) -> AsyncIterator[aiosqlite.Connection]:
        """One transaction on a session (see :func:`transaction_on`)."""
        async with self.session(action) as db:
            if db.in_transaction:  # left open by a task cancelled at a bad moment
                await db.execute("ROLLBACK")
            async with transaction_on(db, write=write):
                yield db

    async def run(
        self,
        action: str,
        work: Callable[[sqlite3.Connection], _T],
        *,
        write: bool = False,
        quick: bool = False,
    ) -> _T:
        """Run ``work`` as one transaction, in one go.

        Handing work to aiosqlite's thread and back costs more (~0.1 ms) than a
        step's whole transaction in WAL mode, so ``work`` runs right here, on the
        loop's own thread and its plain ``sqlite3`` connection, when blocking here
        is cheap: on the sync API's private loop (any work; nothing else runs
        there), or, on an application's loop, ``quick`` work (a step's commit, a
        head check) when commits do not fsync (``synchronous`` OFF or NORMAL).
        That connection never waits for a lock: if another holds the file's write
        lock, the work goes to the database thread, which waits up to
        ``busy_timeout``. On an application's loop the WAL is checkpointed in the
        background (see :meth:`_checkpoint_wal`), not inside a commit.

        Otherwise ``work`` runs on the database thread in a single trip, on the
        raw connection, through aiosqlite's queue (``_execute`` and ``_conn``:
        aiosqlite 0.22 has no public way to run a function on its thread).
        Cancellation stays all-or-nothing: a cancelled caller sets a flag the
        function checks before ``COMMIT``, so the step either committed before the
        cancellation was seen or is rolled back.
        """
        direct = await self._direct_connection(action, quick)
        if direct is not None:
            try:
                done = self._run_direct(direct, action, work, write)
            except _Busy:
                pass  # wait for the lock on the database thread, below
            else:
                if write and not direct.private:
                    direct.commits += 1
                    if direct.commits % WAL_CHECKPOINT_EVERY == 0:
                        self._start_wal_checkpoint()
                return done
        cancelled = threading.Event()

        def transaction() -> _T:
            conn = db._conn  # private: see above
            if conn.in_transaction:  # left open by a task cancelled at a bad moment
                conn.execute("ROLLBACK")
            conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            try:
                result = work(conn)
                if cancelled.is_set():
                    raise _Abandoned
                conn.execute("COMMIT")
            except BaseException:
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
                raise
            return result

        async with self.session(action) as db:
            try:
                result: _T = await db._execute(transaction)  # type: ignore[no-untyped-call]
                return result
            except asyncio.CancelledError:
                cancelled.set()
                raise

    async def _direct_connection(self, action: str, quick: bool) -> _Direct | None:
        """This loop's plain connection, if ``work`` may run on it (see :meth:`run`)."""
        if self._options.read_only or self.path == ":memory:":
            return None
        private = on_private_loop()
        if not private and not (
            quick and self._options.synchronous in _NO_FSYNC_PER_COMMIT
        ):
            return None
        loop = asyncio.get_running_loop()
        direct = self._direct.get(loop)
        if direct is not None:
            return direct
        async with self.session(action):  # opens the file: checks, migrates
            pass
        with self.driver_errors(action):
            conn = sqlite3.connect(
                self.path, timeout=0, isolation_level=None, check_same_thread=False
            )
            try:
                conn.execute(f"PRAGMA synchronous = {self._options.synchronous}")
                if not private:
                    conn.execute("PRAGMA wal_autocheckpoint = 0")
            except BaseException:
                conn.close()
                raise
        with self._guard:
            direct = self._direct.setdefault(loop, _Direct(conn, private))
        if direct.conn is not conn:  # another task of this loop opened one first
            conn.close()
        return direct

    def _run_direct(
        self,
        direct: _Direct,
        action: str,
        work: Callable[[sqlite3.Connection], _T],
        write: bool,
    ) -> _T:
        """Run ``work`` as one transaction on ``direct``; :class:`_Busy` if locked."""
        conn = direct.conn
        with self.driver_errors(action):
            try:
                conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
                result = work(conn)
                conn.execute("COMMIT")
            except BaseException as exc:
                if conn.in_transaction:
                    with contextlib.suppress(sqlite3.Error):
                        conn.execute("ROLLBACK")
                if isinstance(exc, sqlite3.OperationalError) and (
                    exc.sqlite_errorcode & 0xFF in _BUSY_CODES
                ):
                    raise _Busy from exc
                raise
        return result

    def _start_wal_checkpoint(self) -> None:
        running = asyncio.get_running_loop().run_in_executor(None, self._checkpoint_wal)
        self._wal_checkpoints.add(running)
        running.add_done_callback(self._wal_checkpoints.discard)

    def _checkpoint_wal(self) -> None:
        """Copy the WAL into the database file (on an executor thread).

        Direct commits on an application's loop never checkpoint the WAL
        themselves (a checkpoint can take milliseconds, and fsyncs): this runs
        after every :data:`WAL_CHECKPOINT_EVERY` of them instead, one at a time,
        on a connection of its own. ``PASSIVE`` never waits for readers or
        writers; what it cannot copy now is copied next time.
        """
        if not self._wal_lock.acquire(blocking=False):
            return  # one is running: it does the work
        try:
            with contextlib.suppress(sqlite3.Error):
                if self._wal_conn is None:
                    self._wal_conn = sqlite3.connect(
                        self.path,
                        timeout=0,
                        isolation_level=None,
                        check_same_thread=False,
                    )
                self._wal_conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        finally:
            self._wal_lock.release()

    @contextlib.contextmanager
    def driver_errors(self, action: str) -> Iterator[None]:
        """Translate driver exceptions into typed errors (they never escape)."""
        try:
            yield
        except sqlite3.Error as exc:
            raise translate_error(exc, self._options, action) from exc
        except ValueError as exc:  # aiosqlite: "no active connection"
            if "connection" not in str(exc):
                raise
            raise StoreConnectionError(
                f"{action} failed: the connection to {self.path} is closed"
            ) from exc


async def _close(directs: list[_Direct], conns: list[aiosqlite.Connection]) -> None:
    """Close connections taken out of the pool; one already broken is just dropped."""
    for direct in directs:
        with contextlib.suppress(sqlite3.Error):
            direct.conn.close()
    for db in conns:
        with contextlib.suppress(sqlite3.Error, ValueError):
            await db.close()
