"""PostgreSQL-specific behaviour: server-enforced read-only, concurrent setup and
writers, recovery after a server restart, LISTEN/NOTIFY follow, secrets masked.

The behaviour every backend shares is in the conformance suite.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import threading
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest

from tests.backends.postgres_blobs import blob_keys
from tests.conftest import PostgresServer
from timeloom.backends.dsn import mask_dsn
from timeloom.backends.layout import CHUNK_ITEMS
from timeloom.backends.postgres import PostgresCheckpointer
from timeloom.backends.postgres_sql import (
    MIGRATIONS,
    NOTIFY_CHANNEL,
    WATCHER_APPLICATION_NAME,
)
from timeloom.core.checkpoint import Checkpoint, CheckpointMeta, PendingWrite
from timeloom.core.errors import (
    ConflictError,
    ReadOnlyError,
    SchemaError,
    StoreConnectionError,
    TimeloomError,
)
from timeloom.core.ids import new_checkpoint_id

pytestmark = pytest.mark.postgres

TABLES = (
    "timeloom_migrations",
    "timeloom_threads",
    "timeloom_checkpoints",
    "timeloom_writes",
    "timeloom_blobs",
)


def make_cp(
    thread: str,
    parent: Checkpoint | None = None,
    *,
    values: dict[str, Any] | None = None,
    metadata: dict[str, Any] | None = None,
) -> Checkpoint:
    return Checkpoint(
        id=new_checkpoint_id(),
        thread_id=thread,
        parent_id=parent.id if parent else None,
        parent_thread_id=parent.thread_id if parent else None,
        step=parent.step + 1 if parent else -1,
        source="loop" if parent else "input",
        created_at=datetime.now(UTC),
        values=values if values is not None else {"n": 0},
        next=("step",),
        writes={"step": {"n": 1}} if parent else {},
        metadata=metadata or {},
    )


async def grow(cp: PostgresCheckpointer, thread: str, n: int) -> list[Checkpoint]:
    """Commit a chain of ``n`` checkpoints to ``thread``."""
    chain: list[Checkpoint] = []
    for i in range(n):
        parent = chain[-1] if chain else None
        nxt = make_cp(thread, parent, values={"n": i, "log": list(range(i))})
        await cp.put(nxt, expected_head=parent.id if parent else None)
        chain.append(nxt)
    return chain


async def snapshot_rows(dsn: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of our tables with its xmin (changes on any rewrite of the row)."""
    conn = await asyncpg.connect(dsn)
    try:
        return {
            table: [
                tuple(r)
                for r in await conn.fetch(
                    f"SELECT xmin::text, * FROM {table} ORDER BY 2"
                )
            ]
            for table in TABLES
        }
    finally:
        await conn.close()


@pytest.fixture
async def writer(postgres_dsn: str) -> AsyncIterator[PostgresCheckpointer]:
    async with PostgresCheckpointer(postgres_dsn) as cp:
        yield cp


# -- read-only -----------------------------------------------------------------------


async def test_read_only_is_enforced_by_the_server(
    postgres_dsn: str, writer: PostgresCheckpointer
) -> None:
    chain = await grow(writer, "t", 3)
    await writer.put_pending("t", chain[-1].id, [PendingWrite("step", "error", {})])
    before = await snapshot_rows(postgres_dsn)
    assert all(before[t] for t in TABLES)

    async with PostgresCheckpointer(postgres_dsn, read_only=True) as ro:
        # Every read works...
        assert (await ro.get("t")) == (await writer.get("t"))
        assert len([m async for m in ro.summaries("t")]) == 3
        assert (await ro.get_thread("t")) is not None
        assert len(await ro.threads()) == 1
        assert await ro.count_threads() == 1
        assert len(await ro.children(chain[0].id)) == 1
        assert len(await ro.recent()) == 3
        # ...every write method refuses...
        with pytest.raises(ReadOnlyError):
            await ro.put(make_cp("t", chain[-1]), expected_head=chain[-1].id)
        with pytest.raises(ReadOnlyError):
            await ro.put_pending("t", chain[-1].id, [PendingWrite("x", "update", {})])
        with pytest.raises(ReadOnlyError):
            await ro.adelete_thread("t")
        with pytest.raises(ReadOnlyError):
            await ro.prune("t", keep_last=1)
        # ...and the server itself refuses a raw write on the checkpointer's pool,
        # even one that bypasses the checks above.
        pool = await ro._db.pool()
        with pytest.raises(asyncpg.ReadOnlySQLTransactionError):
            await pool.execute("DELETE FROM timeloom_threads")
        with pytest.raises(asyncpg.ReadOnlySQLTransactionError):
            await pool.fetchval(
                "SELECT timeloom_put_writes('t', $1, 'batch', '{x}', '{update}', "
                "ARRAY['\\x00'::bytea], '{}', '{}')",
                chain[-1].id,
            )

    assert await snapshot_rows(postgres_dsn) == before


async def test_read_only_setup_never_creates_a_schema(postgres_dsn: str) -> None:
    with pytest.raises(SchemaError, match="no Timeloom schema"):
        await PostgresCheckpointer(postgres_dsn, read_only=True).setup()
    conn = await asyncpg.connect(postgres_dsn)
    try:
        tables = await conn.fetch("SELECT 1 FROM pg_tables WHERE schemaname='public'")
    finally:
        await conn.close()
    assert tables == []


async def test_read_only_names_a_langgraph_database(postgres_dsn: str) -> None:
    conn = await asyncpg.connect(postgres_dsn)
    try:
        await conn.execute("CREATE TABLE checkpoints (thread_id text)")
        await conn.execute("CREATE TABLE checkpoint_writes (thread_id text)")
    finally:
        await conn.close()
    with pytest.raises(SchemaError, match="LangGraph"):
        await PostgresCheckpointer(postgres_dsn, read_only=True).setup()


async def test_newer_schema_is_refused_clearly(
    postgres_dsn: str, writer: PostgresCheckpointer
) -> None:
    conn = await asyncpg.connect(postgres_dsn)
    try:
        await conn.execute(
            "INSERT INTO timeloom_migrations VALUES ($1)", len(MIGRATIONS) + 1
        )
    finally:
        await conn.close()
    for read_only in (True, False):
        with pytest.raises(SchemaError, match="newer than this Timeloom"):
            await PostgresCheckpointer(postgres_dsn, read_only=read_only).setup()


# -- concurrency ---------------------------------------------------------------------


async def test_concurrent_setup_from_several_workers(postgres_dsn: str) -> None:
    workers = [PostgresCheckpointer(postgres_dsn, pool_max=2) for _ in range(6)]
    try:
        await asyncio.gather(*(w.setup() for w in workers))
        # All of them can write at once afterwards.
        await asyncio.gather(
            *(
                w.put(make_cp(f"w{i}"), expected_head=None)
                for i, w in enumerate(workers)
            )
        )
    finally:
        await asyncio.gather(*(w.aclose() for w in workers))
    conn = await asyncpg.connect(postgres_dsn)
    try:
        versions = [r[0] for r in await conn.fetch("SELECT v FROM timeloom_migrations")]
        threads = await conn.fetchval("SELECT count(*) FROM timeloom_threads")
    finally:
        await conn.close()
    assert sorted(versions) == list(range(1, len(MIGRATIONS) + 1))
    assert threads == 6


@pytest.mark.parametrize("existing", [False, True], ids=["new-thread", "advance"])
async def test_two_writers_on_one_thread_one_conflict(
    postgres_dsn: str, writer: PostgresCheckpointer, existing: bool
) -> None:
    other = PostgresCheckpointer(postgres_dsn)
    parent = (await grow(writer, "t", 1))[0] if existing else None
    try:
        for round_ in range(10):
            thread = "t" if existing else f"t{round_}"
            a, b = make_cp(thread, parent), make_cp(thread, parent)
            expected = parent.id if parent else None
            results = await asyncio.gather(
                writer.put(a, expected_head=expected),
                other.put(b, expected_head=expected),
                return_exceptions=True,
            )
            errors = [r for r in results if r is not None]
            assert len(errors) == 1, results
            assert isinstance(errors[0], ConflictError)
            winner, loser = (a, b) if results[0] is None else (b, a)
            info = await other.get_thread(thread)
            assert info is not None
            assert info.head_id == winner.id
            assert info.checkpoint_count == (round_ + 2 if existing else 1)
            assert await writer.get(None, loser.id) is None  # nothing written
            if existing:
                parent = winner
    finally:
        await other.aclose()


# -- server restart ------------------------------------------------------------------


async def test_survives_a_server_restart(
    restartable_server: PostgresServer, postgres_dsn: str
) -> None:
    password_dsn = postgres_dsn.replace("postgres@", "postgres:s3cret-pw@")
    async with PostgresCheckpointer(password_dsn, pool_max=3) as cp:
        chain = await grow(cp, "t", 2)
        restartable_server.stop("fast")
        try:
            with pytest.raises(StoreConnectionError) as lost:
                await cp.put(make_cp("t", chain[-1]), expected_head=chain[-1].id)
            with pytest.raises(StoreConnectionError):
                await cp.get("t")
        finally:
            restartable_server.start()
        assert "s3cret-pw" not in str(lost.value)
        assert "postgres:***@" in str(lost.value)
        assert "reconnects" in str(lost.value)
        # Nothing half-written; the same writer continues where it was.
        assert (await cp.get("t")) == (await cp.get(None, chain[-1].id))
        nxt = make_cp("t", chain[-1])
        await cp.put(nxt, expected_head=chain[-1].id)
        assert [m.id async for m in cp.summaries("t")] == [
            nxt.id,
            chain[1].id,
            chain[0].id,
        ]


async def test_restart_while_idle_needs_no_failed_call(
    restartable_server: PostgresServer, postgres_dsn: str
) -> None:
    async with PostgresCheckpointer(postgres_dsn, pool_min=3, pool_max=3) as cp:
        chain = await grow(cp, "t", 1)
        restartable_server.stop("fast")
        restartable_server.start()
        # Pooled connections died while idle: the first write already succeeds.
        await cp.put(make_cp("t", chain[0]), expected_head=chain[0].id)
        assert (await cp.count_threads()) == 1


async def test_unreachable_server_is_a_clear_error() -> None:
    cp = PostgresCheckpointer(
        "postgresql://me:hunter2@127.0.0.1:1/db", connect_timeout=2
    )
    with pytest.raises(StoreConnectionError, match="Cannot connect to") as err:
        await cp.setup()
    assert "hunter2" not in str(err.value)
    assert "me:***@127.0.0.1:1" in str(err.value)
    await cp.aclose()


async def test_missing_database_is_a_clear_error(postgres_dsn: str) -> None:
    cp = PostgresCheckpointer(postgres_dsn + "_missing")
    with pytest.raises(StoreConnectionError, match="does not exist"):
        await cp.setup()
    await cp.aclose()


# -- live follow ---------------------------------------------------------------------


async def test_watch_is_woken_by_notify_from_another_connection(
    postgres_dsn: str, writer: PostgresCheckpointer
) -> None:
    seen: list[CheckpointMeta] = []
    got_two = asyncio.Event()

    async def follow() -> None:
        async with PostgresCheckpointer(postgres_dsn, read_only=True) as ro:
            # A long poll interval: only a NOTIFY can deliver within the deadline.
            async for meta in ro.watch("t", poll_interval=60):
                seen.append(meta)
                if len(seen) == 2:
                    got_two.set()

    old = await grow(writer, "other", 1)  # before watching, another thread: ignored
    task = asyncio.create_task(follow())
    try:
        await asyncio.sleep(0.3)  # let it LISTEN
        a = make_cp("t")
        await writer.put(a, expected_head=None)
        await writer.put(make_cp("other", old[0]), expected_head=old[0].id)
        b = make_cp("t", a)
        await writer.put(b, expected_head=a.id)
        await asyncio.wait_for(got_two.wait(), 3)  # well before the 5 s rescan
    finally:
        task.cancel()
        # The follower must end when cancelled (bounded: a hang fails the test).
        with pytest.raises(asyncio.CancelledError):
            async with asyncio.timeout(5):
                await task
    assert [m.id for m in seen] == [a.id, b.id]


async def test_watch_reads_a_burst_through_without_waiting(
    postgres_dsn: str, writer: PostgresCheckpointer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(PostgresCheckpointer, "_watch_page", 4)
    seen: list[str] = []
    all_in = asyncio.Event()

    async def follow() -> None:
        async for meta in writer.watch("t", poll_interval=60):
            seen.append(meta.id)
            if len(seen) == 11:
                all_in.set()

    task = asyncio.create_task(follow())
    try:
        await asyncio.sleep(0.3)  # let it LISTEN
        chain = await grow(writer, "t", 11)  # more than two batches
        await asyncio.wait_for(all_in.wait(), 3)  # well before the 5 s rescan
    finally:
        task.cancel()
        # The follower must end when cancelled (bounded: a hang fails the test).
        with pytest.raises(asyncio.CancelledError):
            async with asyncio.timeout(5):
                await task
    assert seen == [c.id for c in chain]


async def test_commits_notify_only_while_a_follower_is_connected(
    postgres_dsn: str, writer: PostgresCheckpointer
) -> None:
    # NOTIFY serialises commits cluster-wide; without a follower it is skipped.
    got: list[str] = []
    plain = await asyncpg.connect(postgres_dsn)
    try:
        await plain.add_listener(NOTIFY_CHANNEL, lambda *args: got.append(args[3]))
        a = make_cp("t")
        await writer.put(a, expected_head=None)
        await asyncio.sleep(0.2)
        assert got == []
        follower = await asyncpg.connect(
            postgres_dsn,
            server_settings={"application_name": WATCHER_APPLICATION_NAME},
        )
        try:
            b = make_cp("t", a)
            await writer.put(b, expected_head=a.id)
            for _ in range(50):
                if got:
                    break
                await asyncio.sleep(0.05)
        finally:
            await follower.close()
    finally:
        await plain.close()
    assert [json.loads(p) for p in got] == [{"id": b.id, "thread_id": "t"}]


# -- event loops, urls ---------------------------------------------------------------


async def test_usable_from_several_event_loops(
    postgres_dsn: str, writer: PostgresCheckpointer
) -> None:
    chain = await grow(writer, "t", 1)
    results: list[Any] = []

    def in_other_loop() -> None:
        async def work() -> None:
            nxt = make_cp("t", chain[0])
            await writer.put(nxt, expected_head=chain[0].id)
            results.append((await writer.get("t")) == (await writer.get(None, nxt.id)))

        asyncio.run(work())  # a new loop, closed afterwards

    thread = threading.Thread(target=in_other_loop)
    thread.start()
    await asyncio.to_thread(thread.join)
    assert results == [True]
    info = await writer.get_thread("t")  # back on this loop: still fine
    assert info is not None
    assert info.checkpoint_count == 2


async def test_pools_of_finished_threads_are_closed(
    postgres_dsn: str, writer: PostgresCheckpointer
) -> None:
    # The sync API keeps one event loop per thread and never closes it; threads
    # that come and go must not leave a connection each behind.
    await grow(writer, "t", 1)

    def in_a_thread() -> None:
        loop = asyncio.new_event_loop()  # left open, as the sync API leaves it
        loop.run_until_complete(writer.count_threads())

    async def connections() -> int:
        conn = await asyncpg.connect(postgres_dsn)
        try:
            count: int = await conn.fetchval(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND application_name = 'timeloom'"
            )
        finally:
            await conn.close()
        return count

    for _ in range(3):
        thread = threading.Thread(target=in_a_thread)
        thread.start()
        await asyncio.to_thread(thread.join)
    for _ in range(50):  # the last thread's pool stays until a new one starts
        if await connections() == 2:
            break
        await asyncio.sleep(0.05)
    assert await connections() == 2  # this loop's and the last thread's


def test_url_masks_the_password() -> None:
    cp = PostgresCheckpointer("postgresql://bob:pa55@db.example:5432/prod")
    assert cp.url == "postgresql://bob:***@db.example:5432/prod"
    assert "pa55" not in mask_dsn("postgresql://db/prod?user=bob&password=pa55")
    assert mask_dsn("postgresql://db/prod") == "postgresql://db/prod"
    with pytest.raises(StoreConnectionError, match="Not a PostgreSQL URL"):
        PostgresCheckpointer("mysql://x:secret@h/db")
    with pytest.raises(StoreConnectionError, match="Not a PostgreSQL URL") as err:
        PostgresCheckpointer("postgresql://x:secret@h:port/db")
    assert "secret" not in str(err.value)


async def test_bad_connection_options_are_a_clear_error() -> None:
    cp = PostgresCheckpointer("postgresql://x:secret@127.0.0.1:1/db?sslmode=bogus")
    with pytest.raises(StoreConnectionError, match="Cannot open .*sslmode") as err:
        await cp.setup()
    assert "secret" not in str(err.value)
    await cp.aclose()


# -- storage layout ------------------------------------------------------------------


async def stored_bytes(dsn: str) -> int:
    """Bytes of values stored: blobs, plus each checkpoint's header and blob refs."""
    conn = await asyncpg.connect(dsn)
    try:
        blobs = await conn.fetchval(
            "SELECT coalesce(sum(octet_length(data)), 0) FROM timeloom_blobs"
        )
        rows = await conn.fetchval(
            "SELECT coalesce(sum(octet_length(values_header)"
            " + pg_column_size(blob_refs)), 0) FROM timeloom_checkpoints"
        )
    finally:
        await conn.close()
    return int(blobs) + int(rows)


async def test_storage_grows_linearly_with_an_appended_list(
    postgres_dsn: str, writer: PostgresCheckpointer
) -> None:
    message = {"role": "user", "content": "x" * 200}
    parent: Checkpoint | None = None
    added: list[int] = []
    total = await stored_bytes(postgres_dsn)
    for i in range(160):
        cp = make_cp("chat", parent, values={"messages": [message] * (i + 1), "i": i})
        await writer.put(cp, expected_head=parent.id if parent else None)
        parent = cp
        now = await stored_bytes(postgres_dsn)
        added.append(now - total)
        total = now
    early, late = added[16:48], added[128:160]
    # Flat per step: the last steps cost about what the early ones did, although
    # the list is 4-5 times longer (re-storing it whole would cost ~33 KB a step).
    assert sum(late) / len(late) < 1.5 * sum(early) / len(early)
    assert max(late) < 4_000
    got = await writer.get("chat")
    assert got is not None
    assert got.values["messages"] == [message] * 160


async def test_pruned_and_deleted_history_keeps_survivors_readable(
    postgres_dsn: str, writer: PostgresCheckpointer
) -> None:
    chain = await grow(writer, "t", 40)  # "log" grows by one item per step
    fork = make_cp("f", chain[20], values={"n": -1, "log": list(range(25))})
    await writer.put(fork, expected_head=None)
    pruned = await writer.prune("t", keep_last=5)
    assert pruned == 34  # 40 - 5 newest - the fork point
    survivors = [chain[20], *chain[-5:]]
    listed = [m.id async for m in writer.summaries("t")]
    assert listed == [c.id for c in reversed(survivors)]
    for cp in survivors:
        got = await writer.get("t", cp.id)
        assert got is not None
        assert got.values == cp.values
    await writer.adelete_thread("t")
    got = await writer.get("f")
    assert got is not None
    assert got.values == fork.values
    # Blobs nobody needs any more are gone; the fork's are all there.
    assert await orphan_blobs(postgres_dsn) == set()


async def orphan_blobs(dsn: str) -> set[bytes]:
    """Stored blobs that no checkpoint's values need (through headers and manifests)."""
    conn = await asyncpg.connect(dsn)
    try:
        stored, needed = await blob_keys(conn)
    finally:
        await conn.close()
    return stored - needed


async def test_blobs_shared_across_threads_survive_deletes(
    postgres_dsn: str, writer: PostgresCheckpointer
) -> None:
    # Chunks are named only by manifests: a fork sharing the first 32 items of a
    # list keeps them when the original thread is deleted, and both deleted leave
    # no blob behind.
    chain = await grow(writer, "t", 40)
    fork = make_cp("f", chain[35], values={"n": -1, "log": list(range(37))})
    await writer.put(fork, expected_head=None)
    await writer.adelete_thread("t")
    got = await writer.get("f")
    assert got is not None
    assert got.values == fork.values
    assert await orphan_blobs(postgres_dsn) == set()
    await writer.adelete_thread("f")
    conn = await asyncpg.connect(postgres_dsn)
    try:
        assert await conn.fetchval("SELECT count(*) FROM timeloom_blobs") == 0
    finally:
        await conn.close()


async def test_rows_list_only_the_blobs_their_header_names(
    postgres_dsn: str, writer: PostgresCheckpointer
) -> None:
    await grow(writer, "t", 100)
    conn = await asyncpg.connect(postgres_dsn)
    try:
        longest = await conn.fetchval(
            "SELECT max(cardinality(blob_refs)) FROM timeloom_checkpoints"
        )
    finally:
        await conn.close()
    # One key per tail delta (at most 16) plus the manifest and other values: not
    # one per chunk, which would grow with the list.
    assert longest <= CHUNK_ITEMS + 3


@pytest.mark.parametrize("chained", [False, True])
async def test_child_of_a_deleted_parent_stores_every_blob(
    postgres_dsn: str, writer: PostgresCheckpointer, chained: bool
) -> None:
    big = {"n": 0, "log": list(range(40)), "text": "y" * 500}
    a = make_cp("a", values=big)
    await writer.put(a, expected_head=None)
    # Another process deletes the parent's thread (and its blobs) meanwhile.
    async with PostgresCheckpointer(postgres_dsn) as other:
        await other.adelete_thread("a")
    child = make_cp("b", a, values={**big, "log": list(range(41))})
    grandchild = make_cp("b", child, values={**big, "log": list(range(42))})
    # Encoded as deltas, then redone in full.
    if chained:
        await writer.put_many([child, grandchild], expected_head=None)
    else:
        await writer.put(child, expected_head=None)
        await writer.put(grandchild, expected_head=child.id)
    async with PostgresCheckpointer(postgres_dsn) as reader:
        for cp in (child, grandchild):
            got = await reader.get("b", cp.id)
            assert got is not None
            assert got.values == cp.values


async def test_a_version_3_database_stays_readable(
    postgres_dsn: str, writer: PostgresCheckpointer
) -> None:
    """Schema v4 only added a function for writers: a read-only viewer opens a v3
    database as it is (it must never migrate one)."""
    await writer.put(make_cp("t"), expected_head=None)
    conn = await asyncpg.connect(postgres_dsn)
    try:
        await conn.execute("DELETE FROM timeloom_migrations WHERE v = 4")
        await conn.execute("DROP FUNCTION timeloom_put_chained")
    finally:
        await conn.close()
    async with PostgresCheckpointer(postgres_dsn, read_only=True) as viewer:
        assert await viewer.get("t") is not None
    async with PostgresCheckpointer(postgres_dsn) as upgraded:
        assert await upgraded.get("t") is not None
    conn = await asyncpg.connect(postgres_dsn)
    try:
        assert await conn.fetchval("SELECT max(v) FROM timeloom_migrations") == 4
    finally:
        await conn.close()


async def test_metadata_filters_agree_with_python_equality(
    writer: PostgresCheckpointer,
) -> None:
    odd = {"user": "a\x00b", "n": 1, "flag": True, "none": None, "run": "r1"}
    a = make_cp("t", metadata=odd)
    await writer.put(a, expected_head=None)
    b = make_cp("t", a, metadata={"run": "r2", "n": 1.0})
    await writer.put(b, expected_head=a.id)

    async def ids(**flt: Any) -> list[str]:
        return [m.id async for m in writer.summaries("t", filter=flt)]

    assert await ids(user="a\x00b") == [a.id]  # jsonb cannot hold NUL: Python side
    assert await ids(n=1) == [b.id, a.id]  # 1 == 1.0, as in Python
    assert await ids(flag=1) == [a.id]  # True == 1, as in Python
    assert await ids(none=None) == [b.id, a.id]  # a missing key reads as None
    assert await ids(run="r1", n=1) == [a.id]
    assert await ids(source="input") == [a.id]
    assert await ids(step=0) == [b.id]
    assert await ids(step=0.0) == await ids(step=False) == [b.id]  # Python equality
    assert await ids(step="0") == []
    assert [t.thread_id for t in await writer.threads(metadata={"run": "r2"})] == ["t"]
    assert await writer.threads(metadata={"run": "r1"}) == []
    assert len(await writer.threads(metadata={"n": 1, "run": "r2"})) == 1


@pytest.mark.parametrize(
    "change",
    [{"step": 2**40}, {"thread_id": "a\x00b"}, {"next": ("a\x00",)}],
    ids=["int-overflow", "nul-thread", "nul-node"],
)
async def test_values_the_server_refuses_raise_timeloom_errors(
    writer: PostgresCheckpointer, change: dict[str, Any]
) -> None:
    bad = dataclasses.replace(make_cp("t"), **change)
    with pytest.raises(TimeloomError, match="committing a checkpoint") as err:
        await writer.put(bad, expected_head=None)
    assert type(err.value).__module__.startswith("timeloom.")
    assert await writer.count_threads() == 0


async def test_writes_of_any_shape_read_back_and_share_the_values_blobs(
    postgres_dsn: str, writer: PostgresCheckpointer
) -> None:
    message = {"role": "ai", "content": "z" * 300}
    first = make_cp("w", values={"messages": [message]})
    await writer.put(first, expected_head=None)
    writes: dict[str, Any] = {
        "act": {"messages": [{**message, "content": "y" * 300}], "n": 2},
        "empty": {},
        "scalar": 7,
        "odd_keys": {1: "one"},
        "nested": {"a": {"b": [1, True, None]}},
    }
    second = dataclasses.replace(
        make_cp(
            "w", first, values={"messages": [message, writes["act"]["messages"][0]]}
        ),
        writes=writes,
    )
    before = await stored_bytes(postgres_dsn)
    await writer.put(second, expected_head=first.id)
    added = await stored_bytes(postgres_dsn) - before
    # The appended 300-byte message is stored once (values delta == writes list).
    assert added < 2 * 300
    async with PostgresCheckpointer(postgres_dsn) as reader:  # reads from storage
        got = await reader.get("w")
    assert got is not None
    assert got.writes == writes
    assert type(got.writes["act"]["messages"][0]) is dict
    assert await orphan_blobs(postgres_dsn) == set()


async def test_rows_written_before_schema_v3_keep_their_writes(
    postgres_dsn: str, writer: PostgresCheckpointer
) -> None:
    cp = make_cp("old", values={"n": 1})
    cp = dataclasses.replace(cp, writes={"node": {"n": 1}})
    await writer.put(cp, expected_head=None)
    conn = await asyncpg.connect(postgres_dsn)
    try:  # as a v1/v2 client stored them: codec-encoded
        await conn.execute(
            "UPDATE timeloom_checkpoints SET writes = $1 WHERE id = $2",
            writer.serde.dumps({"node": {"n": 1}}),
            cp.id,
        )
    finally:
        await conn.close()
    async with PostgresCheckpointer(postgres_dsn) as reader:
        got = await reader.get("old")
        assert got is not None
        assert got.writes == {"node": {"n": 1}}
        await reader.adelete_thread("old")
    assert await orphan_blobs(postgres_dsn) == set()
