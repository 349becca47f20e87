"""The connections of a Postgres checkpointer: a pool per event loop, and errors.

asyncpg pools belong to the event loop that made them, and the sync runtime runs
each calling thread on a loop of its own, so each loop gets its own pool, made on
first use. A pool left behind by a loop that closed, or by a thread that ended, is
closed. Driver errors become Timeloom's errors here, with any password masked; a
lost connection is retried once on a fresh one.
"""

from __future__ import annotations

import asyncio
import builtins
import json
import threading
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager, suppress
from typing import Any, TypeVar

import asyncpg

from timeloom.backends import postgres_sql as q
from timeloom.backends.dsn import mask_dsn, scrub
from timeloom.core.checkpointer import ChangeWaiter
from timeloom.core.errors import (
    ReadOnlyError,
    SchemaError,
    StoreConnectionError,
    TimeloomError,
)

_T = TypeVar("_T")

# Errors that mean the server went away or cannot be reached: the pool is replaced.
CONNECTION_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.exceptions.OperatorInterventionError,  # admin shutdown, cannot connect now
    asyncpg.InterfaceError,  # connection closed mid-query, pool closing
    asyncpg.exceptions.TooManyConnectionsError,
)
# Errors that mean this DSN cannot be used (wrong database, password, role).
LOGIN_ERRORS: tuple[type[BaseException], ...] = (
    asyncpg.InvalidCatalogNameError,
    asyncpg.exceptions.InvalidAuthorizationSpecificationError,
    asyncpg.exceptions.ClientConfigurationError,  # e.g. a bad sslmode in the DSN
)
LISTEN_ERRORS: tuple[type[BaseException], ...] = (
    *CONNECTION_ERRORS,
    asyncpg.PostgresError,
)


class Pools:
    """One asyncpg pool per event loop, on one database.

    Args:
        dsn: the database URL.
        read_only: make every session read-only (enforced by the server).
        pool_min: connections each loop's pool keeps open.
        pool_max: connections each loop's pool may open.
        connect_timeout: seconds to wait for a connection.
    """

    def __init__(
        self,
        dsn: str,
        *,
        read_only: bool,
        pool_min: int,
        pool_max: int,
        connect_timeout: float,
    ) -> None:
        self.dsn = dsn
        self.read_only = read_only
        self.connect_timeout = connect_timeout
        self._pool_min = pool_min
        self._pool_max = pool_max
        self._lock = threading.Lock()  # guards _pools: loops live in several threads
        self._pools: dict[asyncio.AbstractEventLoop, asyncio.Task[asyncpg.Pool]] = {}
        # The thread that first used each loop: a loop left behind by a finished
        # thread (the sync API keeps one per thread) can have its pool closed.
        self._owners: dict[asyncio.AbstractEventLoop, threading.Thread] = {}
        self._stale: set[asyncio.AbstractEventLoop] = set()  # pools to refresh

    @property
    def url(self) -> str:
        """The URL with any password masked."""
        return mask_dsn(self.dsn)

    async def aclose(self) -> None:
        """Close every pool (this loop's now, the others' as they can)."""
        with self._lock:
            pools, self._pools = self._pools, {}
            owners, self._owners = self._owners, {}
        current = asyncio.get_running_loop()
        for loop, task in pools.items():
            if loop is current:
                if task.done() and not _failed(task):
                    with suppress(Exception):
                        async with asyncio.timeout(5):
                            await task.result().close()
                    task.result().terminate()
                else:
                    task.cancel()
            else:
                _terminate_elsewhere(loop, task, owners.get(loop))

    def session_settings(self) -> dict[str, Any]:
        """The connection options of every session (for ``asyncpg.connect``)."""
        settings = {"application_name": "timeloom"}
        if self.read_only:
            # Enforced by the server: every transaction of these sessions is
            # read-only, whatever the code above the pool does.
            settings["default_transaction_read_only"] = "on"
        return {"server_settings": settings}

    async def listen(self, callback: Any) -> asyncpg.Connection | None:
        """Open a connection that LISTENs for commits; None while that fails."""
        try:
            settings = self.session_settings()
            # Commits notify only while a connection with this name exists.
            settings["server_settings"]["application_name"] = q.WATCHER_APPLICATION_NAME
            conn: asyncpg.Connection = await asyncpg.connect(
                self.dsn, timeout=self.connect_timeout, **settings
            )
        except LISTEN_ERRORS:
            return None
        try:
            await conn.add_listener(q.NOTIFY_CHANNEL, callback)
        except LISTEN_ERRORS:
            conn.terminate()
            return None
        return conn

    async def _create_pool(self) -> asyncpg.Pool:
        pool = await asyncpg.create_pool(
            self.dsn,
            min_size=self._pool_min,
            max_size=self._pool_max,
            timeout=self.connect_timeout,
            reset=_no_reset,
            **self.session_settings(),
        )
        assert pool is not None  # create_pool returns the pool once initialised
        return pool

    async def pool(self) -> asyncpg.Pool:
        """This event loop's pool, created on first use."""
        loop = asyncio.get_running_loop()
        with self._lock:
            task = self._pools.get(loop)
            if task is None or _failed(task):
                self._drop_abandoned_pools()
                task = loop.create_task(self._create_pool())
                self._pools[loop] = task
                self._owners[loop] = threading.current_thread()
            stale = loop in self._stale
            self._stale.discard(loop)
        with self._errors("connecting"):
            pool = await asyncio.shield(task)
            if stale:
                # A call failed on a dead connection: replace every pooled one now
                # rather than meet the others one failed call at a time.
                await pool.expire_connections()
            return pool

    def _drop_abandoned_pools(self) -> None:
        """Close the pools of loops that are closed or whose thread has ended."""
        for loop in builtins.list(self._pools):
            owner = self._owners.get(loop)
            if loop.is_closed() or (
                owner is not None and not owner.is_alive() and not loop.is_running()
            ):
                _terminate_elsewhere(
                    loop, self._pools.pop(loop), self._owners.pop(loop, None)
                )

    async def call(
        self,
        action: str,
        op: Callable[[asyncpg.Pool], Awaitable[_T]],
        *,
        prepare: Callable[[], Awaitable[None]] | None = None,
    ) -> _T:
        """Run ``op`` on this loop's pool, translating driver errors.

        Every operation is safe to repeat (a put is guarded by its expected head, a
        batch of pending writes is stored once), so when the connection is lost
        (say, a pooled connection that died while idle because the server
        restarted) it runs once more on a fresh connection. If that fails too, the
        server is really gone: :class:`StoreConnectionError`.

        Args:
            prepare: awaited first, each attempt (the checkpointer's schema setup).
        """
        for attempt in (1, 2):
            if prepare is not None:
                await prepare()
            pool = await self.pool()
            try:
                with self._errors(action):
                    return await op(pool)
            except ConnectionLost:
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def _expire(self) -> None:
        with self._lock:
            self._stale.update(self._pools)

    @contextmanager
    def _errors(self, action: str) -> Iterator[None]:
        """Translate driver exceptions raised inside into Timeloom errors."""
        try:
            yield
        except TimeloomError:
            raise
        except LOGIN_ERRORS as exc:
            raise StoreConnectionError(
                f"Cannot open {self.url}: {self._scrub(exc)}",
                title="Could not open checkpoint database",
            ) from exc
        except CONNECTION_ERRORS as exc:
            self._expire()
            reason = self._scrub(exc) or type(exc).__name__
            raise ConnectionLost(
                f"Cannot connect to {self.url}: {reason}. The next call tries again."
                if action == "connecting"
                else f"Lost the connection to {self.url} while {action}: {reason}. "
                "The next call reconnects once the server is back.",
            ) from exc
        except asyncpg.ReadOnlySQLTransactionError as exc:
            raise ReadOnlyError(
                f"{self.url} is open read-only; the server refused {action}.",
                title="Read-only database",
            ) from exc
        except asyncpg.UndefinedTableError as exc:
            raise SchemaError(
                f"{self.url} lost its Timeloom schema while {action}: "
                f"{self._scrub(exc)}",
            ) from exc
        except asyncpg.PostgresError as exc:
            raise TimeloomError(
                f"The database failed while {action} ({exc.sqlstate}): "
                f"{self._scrub(exc)}",
                title="Database error",
            ) from exc

    def _scrub(self, exc: BaseException) -> str:
        return scrub(str(exc), self.dsn)


class ConnectionLost(StoreConnectionError):
    """The server went away (or cannot be reached); worth one more try."""


async def _no_reset(conn: asyncpg.Connection) -> None:
    """Skip asyncpg's per-release reset query (a round trip on every step).

    Nothing here changes session state (no SET, no LISTEN, no advisory session
    locks on pooled connections); asyncpg still rolls back an open transaction.
    """


def _failed(task: asyncio.Task[Any]) -> bool:
    return task.done() and (task.cancelled() or task.exception() is not None)


def _terminate_elsewhere(
    loop: asyncio.AbstractEventLoop,
    task: asyncio.Task[asyncpg.Pool],
    owner: threading.Thread | None,
) -> None:
    """Drop a pool that belongs to another event loop (running, idle or closed)."""
    if loop.is_closed():
        return  # nothing can run there any more; the sockets go with the objects
    if loop.is_running():
        loop.call_soon_threadsafe(_terminate_when_ready, task)
    elif owner is not None and not owner.is_alive():
        # Nobody will run this loop again: run it once more, briefly, in a helper
        # thread so that the connections are closed now rather than never.
        threading.Thread(target=_terminate_in, args=(loop, task), daemon=True).start()
    else:
        # Idle between two runs of its thread: close the sockets now; the loop
        # finishes the bookkeeping the next time it runs.
        _terminate_when_ready(task)


def _terminate_when_ready(task: asyncio.Task[asyncpg.Pool]) -> None:
    if not task.done():
        task.cancel()
    elif not _failed(task):
        task.result().terminate()


def _terminate_in(
    loop: asyncio.AbstractEventLoop, task: asyncio.Task[asyncpg.Pool]
) -> None:
    async def terminate() -> None:
        _terminate_when_ready(task)
        await asyncio.sleep(0)  # let the transports report their closing

    with suppress(Exception):
        loop.run_until_complete(terminate())


_RESCAN_S = 5.0  # live follow: look again even without a NOTIFY (missed, or lost)


class NotifyWaiter(ChangeWaiter):
    """Wakes a watch on the NOTIFY of a commit (of its thread, or of any)."""

    def __init__(
        self, pools: Pools, thread_id: str | None, poll_interval: float
    ) -> None:
        super().__init__(poll_interval)
        self._pools = pools
        self._thread_id = thread_id
        self._wake = asyncio.Event()
        self._listener: asyncpg.Connection | None = None

    def _on_notify(self, _c: object, _pid: int, _channel: str, payload: str) -> None:
        if self._thread_id is None or _payload_thread(payload) in (
            self._thread_id,
            None,
        ):
            self._wake.set()

    async def arm(self) -> None:
        if self._listener is None or self._listener.is_closed():
            self._listener = await self._pools.listen(self._on_notify)
        self._wake.clear()

    async def wait(self) -> None:
        timeout = _RESCAN_S if self._listener is not None else self.poll_interval
        # Not asyncio.wait_for: on 3.11 it can swallow a cancellation that arrives
        # as the event is set, and the follower never ends.
        with suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await self._wake.wait()

    async def aclose(self) -> None:
        if self._listener is not None:
            with suppress(Exception):
                async with asyncio.timeout(2):
                    await self._listener.close()


def _payload_thread(payload: str) -> str | None:
    try:
        thread = json.loads(payload).get("thread_id")
    except (ValueError, AttributeError):
        return None
    return thread if isinstance(thread, str) else None
