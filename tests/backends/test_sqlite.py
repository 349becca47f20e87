"""SQLite-specific behaviour: durability, read-only enforcement, bad files, processes."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import sqlite3
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.backends.conftest import CheckpointFactory
from tests.unprivileged import read_only_dir, run_unprivileged
from timeloom.backends.layout import blob_key
from timeloom.backends.serde import Serializer
from timeloom.backends.sqlite import SqliteCheckpointer
from timeloom.backends.sqlite_open import OpenOptions, connect
from timeloom.backends.sqlite_sql import LATEST_VERSION, MIGRATIONS
from timeloom.core.checkpoint import PendingWrite, UnreadableValue
from timeloom.core.errors import (
    ReadOnlyError,
    SchemaError,
    SerializationError,
    StoreConnectionError,
)

# Runs in a child process: write `count` checkpoints to `thread` and exit.
WRITER = textwrap.dedent(
    """
    import asyncio, sys
    from datetime import UTC, datetime
    from timeloom.backends.sqlite import SqliteCheckpointer
    from timeloom.core.checkpoint import Checkpoint
    from timeloom.core.ids import new_checkpoint_id

    path, thread, count = sys.argv[1], sys.argv[2], int(sys.argv[3])

    async def main():
        async with SqliteCheckpointer(path) as store:
            head = await store.get(thread)
            messages = list(head.values["messages"]) if head else []
            for i in range(count):
                messages = [*messages, {"i": len(messages), "text": thread * 20}]
                cp = Checkpoint(
                    id=new_checkpoint_id(), thread_id=thread,
                    parent_id=head.id if head else None,
                    parent_thread_id=thread if head else None,
                    step=head.step + 1 if head else -1, source="loop",
                    created_at=datetime.now(UTC),
                    values={"messages": messages, "n": len(messages)},
                    next=("node",),
                )
                await store.put(cp, expected_head=head.id if head else None)
                head = cp
        print("ok")

    asyncio.run(main())
    """
)

# Runs in a child process: read the head, wait for the go file, then advance it.
RACER = textwrap.dedent(
    """
    import asyncio, os, sys, time
    from dataclasses import replace
    from timeloom.backends.sqlite import SqliteCheckpointer
    from timeloom.core.errors import ConflictError
    from timeloom.core.ids import new_checkpoint_id

    path, go, name = sys.argv[1], sys.argv[2], sys.argv[3]

    async def main():
        async with SqliteCheckpointer(path) as store:
            head = await store.get("shared")
            print("ready", flush=True)
            while not os.path.exists(go):
                time.sleep(0.001)
            child = replace(
                head, id=new_checkpoint_id(), parent_id=head.id,
                parent_thread_id="shared", step=head.step + 1,
                values={"winner": name}, pending_writes=(),
            )
            try:
                await store.put(child, expected_head=head.id)
            except ConflictError:
                print("conflict")
            else:
                print("ok")

    asyncio.run(main())
    """
)


def run_child(script: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", script, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(proc: subprocess.Popen[str]) -> str:
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    return out.strip()


def file_size(path: Path) -> int | None:
    return path.stat().st_size if path.exists() else None


def file_bytes(path: Path) -> dict[str, str | None]:
    """The digest of the database file and its -wal/-shm companions (None if absent)."""
    result: dict[str, str | None] = {}
    for suffix in ("", "-wal", "-shm"):
        f = Path(f"{path}{suffix}")
        result[suffix] = (
            hashlib.sha256(f.read_bytes()).hexdigest() if f.exists() else None
        )
    return result


async def seed(
    path: Path, make: CheckpointFactory, thread: str = "t", n: int = 3
) -> list[Any]:
    made = []
    async with SqliteCheckpointer(path) as store:
        head = None
        for i in range(n):
            cp = make.make(
                thread,
                {
                    "messages": [f"m{j}" * 30 for j in range(i + 1)],
                    "doc": "d" * 100 + str(i),
                },
                metadata={"i": i},
            )
            await store.put(cp, expected_head=head)
            head = cp.id
            made.append(cp)
    return made


# -- durability and processes ---------------------------------------------------------


async def test_survives_process_restart(tmp_path: Path) -> None:
    path = tmp_path / "d.db"
    assert finish(run_child(WRITER, str(path), "t", "40")) == "ok"
    assert finish(run_child(WRITER, str(path), "t", "5")) == "ok"  # continues the head
    async with SqliteCheckpointer(path, read_only=True) as store:
        head = await store.get("t")
        assert head is not None
        assert head.values["n"] == 45
        assert [m["i"] for m in head.values["messages"]] == list(range(45))
        ids = [m.id async for m in store.summaries("t")]
        assert len(ids) == 45
        info = await store.get_thread("t")
        assert info is not None
        assert info.checkpoint_count == 45


async def test_two_processes_on_one_thread_one_conflict(
    tmp_path: Path, make: CheckpointFactory
) -> None:
    path = tmp_path / "race.db"
    go = tmp_path / "go"
    async with SqliteCheckpointer(path) as store:
        root = make.make("shared", {"winner": None})
        await store.put(root, expected_head=None)
    procs = [run_child(RACER, str(path), str(go), name) for name in ("a", "b")]
    for proc in procs:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready"
    go.touch()
    results = [finish(p) for p in procs]
    assert sorted(results) == ["conflict", "ok"]
    winner = "ab"[results.index("ok")]
    async with SqliteCheckpointer(path) as store:
        head = await store.get("shared")
        assert head is not None
        assert head.values == {"winner": winner}
        assert head.parent_id == root.id
        assert [m.id async for m in store.summaries("shared")] == [head.id, root.id]
        assert len(await store.children(root.id)) == 1
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)


async def test_processes_on_different_threads_all_succeed(tmp_path: Path) -> None:
    path = tmp_path / "many.db"
    async with SqliteCheckpointer(path):
        pass  # create the schema once, so the children only write
    procs = [run_child(WRITER, str(path), f"thread-{i}", "25") for i in range(4)]
    assert [finish(p) for p in procs] == ["ok"] * 4
    async with SqliteCheckpointer(path) as store:
        assert await store.count_threads() == 4
        for i in range(4):
            metas = [m async for m in store.summaries(f"thread-{i}")]
            assert len(metas) == 25
            assert all(
                m.parent_id == p.id for m, p in zip(metas, metas[1:], strict=False)
            )
            head = await store.get(f"thread-{i}")
            assert head is not None
            assert head.values["n"] == 25
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)


# -- read-only ------------------------------------------------------------------------


async def attempt_every_write(
    store: SqliteCheckpointer, make: CheckpointFactory
) -> None:
    head = await store.get("t")
    assert head is not None
    with pytest.raises(ReadOnlyError):
        await store.put(make.make("t", {"x": 1}), expected_head=head.id)
    with pytest.raises(ReadOnlyError):
        await store.put(make.make("new", {"x": 1}), expected_head=None)
    with pytest.raises(ReadOnlyError):
        await store.put_pending("t", head.id, [PendingWrite("n", "update", {"x": 1})])
    with pytest.raises(ReadOnlyError):
        await store.adelete_thread("t")
    with pytest.raises(ReadOnlyError):
        await store.prune("t", keep_last=1)


async def test_read_only_leaves_closed_database_byte_for_byte(
    tmp_path: Path, make: CheckpointFactory
) -> None:
    path = tmp_path / "ro.db"
    made = await seed(path, make)
    before = file_bytes(path)
    assert before["-wal"] is None  # the writer closed cleanly
    async with SqliteCheckpointer(path, read_only=True) as store:
        got = await store.get("t")
        assert got is not None
        assert got.values == made[-1].values
        assert len([m async for m in store.summaries("t")]) == 3
        assert await store.count_threads() == 1
        await attempt_every_write(store, make)
    # Even SQL that writes is refused by SQLite itself on a read-only connection.
    db = await connect(OpenOptions(str(path), True, "NORMAL", 1.0))
    try:
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            await db.execute("DELETE FROM threads")
    finally:
        await db.close()
    after = file_bytes(path)
    assert after[""] == before[""]
    # SQLite may create its WAL coordination files for a reader; they hold no data.
    assert file_size(Path(f"{path}-wal")) in (None, 0)


async def test_read_only_beside_a_live_writer_changes_no_data(
    tmp_path: Path, make: CheckpointFactory
) -> None:
    path = tmp_path / "live.db"
    async with SqliteCheckpointer(path) as writer:
        a = make.make("t", {"messages": ["x" * 100]})
        await writer.put(a, expected_head=None)
        before = file_bytes(path)
        assert before["-wal"] is not None  # the commit is still in the WAL
        async with SqliteCheckpointer(path, read_only=True) as reader:
            got = await reader.get("t")
            assert got is not None
            assert got.id == a.id
            await attempt_every_write(reader, make)
        after = file_bytes(path)
        # -shm is SQLite's shared-memory index (readers record read marks there).
        assert (after[""], after["-wal"]) == (before[""], before["-wal"])
        b = make.make("t", {"messages": ["x" * 100, "y"]})
        await writer.put(b, expected_head=a.id)  # the writer is unaffected


async def test_read_only_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "missing.db"
    with pytest.raises(StoreConnectionError) as caught:
        await SqliteCheckpointer(path, read_only=True).setup()
    assert "missing.db" in caught.value.msg
    assert caught.value.title == "Database not found"
    assert file_size(path) is None


async def test_read_only_empty_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "empty.db"
    sqlite3.connect(path).close()
    with pytest.raises(SchemaError) as caught:
        await SqliteCheckpointer(path, read_only=True).setup()
    assert "no Timeloom checkpoints" in caught.value.msg


# -- bad files ------------------------------------------------------------------------


@pytest.mark.parametrize("read_only", [True, False])
async def test_random_bytes_file(tmp_path: Path, read_only: bool) -> None:
    path = tmp_path / "noise.db"
    data = os.urandom(8192)
    path.write_bytes(data)
    store = SqliteCheckpointer(path, read_only=read_only)
    with pytest.raises(SchemaError) as caught:
        await store.setup()
    assert "not a SQLite database" in caught.value.msg
    # Neither Timeloom's nor LangGraph's: the title does not suggest the wrong kind.
    assert caught.value.title == "Not a database"
    await store.aclose()
    assert path.read_bytes() == data


async def test_truncated_file(tmp_path: Path, make: CheckpointFactory) -> None:
    path = tmp_path / "cut.db"
    await seed(path, make, n=30)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    for read_only in (True, False):
        with pytest.raises(SchemaError) as caught:
            await SqliteCheckpointer(path, read_only=read_only).setup()
        assert "truncated" in caught.value.msg
        assert caught.value.title == "Damaged database"


@pytest.mark.parametrize("read_only", [True, False])
async def test_another_applications_database(tmp_path: Path, read_only: bool) -> None:
    path = tmp_path / "app.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT)")
        conn.execute("INSERT INTO users (name) VALUES ('ann')")
    conn.close()
    before = path.read_bytes()
    with pytest.raises(SchemaError) as caught:
        await SqliteCheckpointer(path, read_only=read_only).setup()
    assert "not a Timeloom database" in caught.value.msg
    assert "users" in caught.value.msg
    assert path.read_bytes() == before  # no table added, journal mode unchanged


async def test_langgraph_database_is_named(tmp_path: Path) -> None:
    path = tmp_path / "lg.db"
    with sqlite3.connect(path) as conn:
        conn.execute(
            "CREATE TABLE checkpoints (thread_id TEXT, checkpoint_ns TEXT, "
            "checkpoint_id TEXT, checkpoint BLOB)"
        )
        conn.execute("CREATE TABLE writes (thread_id TEXT, checkpoint_ns TEXT)")
    conn.close()
    with pytest.raises(SchemaError) as caught:
        await SqliteCheckpointer(path).setup()
    assert "LangGraph database" in caught.value.msg


@pytest.mark.parametrize("read_only", [True, False])
async def test_newer_schema_version(
    tmp_path: Path, make: CheckpointFactory, read_only: bool
) -> None:
    path = tmp_path / "future.db"
    await seed(path, make)
    with sqlite3.connect(path) as conn:
        conn.execute(
            "INSERT INTO timeloom_migrations (v) VALUES (?)", (LATEST_VERSION + 7,)
        )
    conn.close()
    with pytest.raises(SchemaError) as caught:
        await SqliteCheckpointer(path, read_only=read_only).setup()
    assert "newer Timeloom" in caught.value.msg
    assert f"v{LATEST_VERSION + 7}" in caught.value.msg


async def test_a_newer_schema_is_refused_before_the_file_is_touched(
    tmp_path: Path, make: CheckpointFactory
) -> None:
    path = tmp_path / "future.db"
    await seed(path, make)
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA journal_mode = DELETE")  # as another tool may leave it
        conn.execute(
            "INSERT INTO timeloom_migrations (v) VALUES (?)", (LATEST_VERSION + 7,)
        )
    conn.close()
    before = path.read_bytes()
    with pytest.raises(SchemaError, match="newer Timeloom"):
        await SqliteCheckpointer(path).setup()
    assert path.read_bytes() == before  # not switched to WAL, nothing written
    assert sorted(os.listdir(tmp_path)) == ["future.db"]


async def test_corrupt_blob_leaves_the_rest_readable(
    tmp_path: Path, make: CheckpointFactory
) -> None:
    path = tmp_path / "corrupt.db"
    made = await seed(path, make, n=3)
    serde = Serializer()
    bad_key = blob_key(serde.dumps(made[1].values["doc"]))
    with sqlite3.connect(path) as conn:
        changed = conn.execute(
            "UPDATE blobs SET data = ? WHERE key = ?", (b"\xc1garbage", bad_key)
        ).rowcount
        assert changed == 1
        # And a checkpoint whose metadata bytes are garbage.
        conn.execute(
            "UPDATE checkpoints SET metadata = ? WHERE checkpoint_id = ?",
            (b"\xc1", made[0].id),
        )
    conn.close()
    async with SqliteCheckpointer(path, read_only=True) as store:
        metas = [m async for m in store.summaries("t")]
        assert [m.id for m in metas] == [c.id for c in reversed(made)]
        assert isinstance(metas[-1].metadata["__unreadable__"], UnreadableValue)
        got = await store.get("t", made[1].id)
        assert got is not None
        assert got.values["messages"] == made[1].values["messages"]
        bad = got.values["doc"]
        assert isinstance(bad, UnreadableValue)
        assert bad.channel == "doc"
        assert "doc" in str(bad)
        head = await store.get("t")
        assert head is not None
        assert head.values == made[2].values
        first = await store.get("t", made[0].id)
        assert first is not None
        assert first.values == made[0].values


async def test_migrations_are_recorded_and_setup_is_idempotent(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    for _ in range(2):
        async with SqliteCheckpointer(path):
            pass
    with sqlite3.connect(path) as conn:
        versions = [r[0] for r in conn.execute("SELECT v FROM timeloom_migrations")]
        mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
    conn.close()
    assert versions == list(range(len(MIGRATIONS)))
    assert mode == "wal"


async def test_concurrent_setup_from_one_process(tmp_path: Path) -> None:
    path = tmp_path / "c.db"
    stores = [SqliteCheckpointer(path) for _ in range(4)]
    await asyncio.gather(*(s.setup() for s in stores))
    for s in stores:
        await s.aclose()
    with sqlite3.connect(path) as conn:
        assert [r[0] for r in conn.execute("SELECT v FROM timeloom_migrations")] == [0]
    conn.close()


def test_synchronous_level_is_validated(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="synchronous"):
        SqliteCheckpointer(tmp_path / "x.db", synchronous="SOMETIMES")  # type: ignore[arg-type]


async def test_usable_from_several_event_loops(
    tmp_path: Path, make: CheckpointFactory
) -> None:
    """The sync runtime drives a checkpointer from more than one loop over its life."""
    store = SqliteCheckpointer(tmp_path / "loops.db")
    a = make.make("t", {"n": 1})
    b = make.make("t", {"n": 2})

    def in_new_loop(coro: Any) -> Any:
        return asyncio.run(coro)

    await asyncio.to_thread(in_new_loop, store.put(a, expected_head=None))
    await asyncio.to_thread(in_new_loop, store.put(b, expected_head=a.id))
    got = await store.get("t")
    assert got is not None
    assert got.values == {"n": 2}
    await store.aclose()


def test_one_checkpointer_shared_by_threads_with_their_own_loops(
    tmp_path: Path,
) -> None:
    """The sync runtime gives every thread its own event loop; one checkpointer
    serves them all at once (a connection per loop), each step still atomic."""
    store = SqliteCheckpointer(tmp_path / "threads.db")
    make = CheckpointFactory()
    guard = threading.Lock()

    async def advance(thread: str) -> None:
        head = None
        for i in range(30):
            with guard:  # the factory is not thread-safe; the store must be
                cp = make.make(
                    thread, {"messages": [f"{thread}-{j}" for j in range(i)]}
                )
            await store.put(cp, expected_head=head)
            head = cp.id

    workers = [
        threading.Thread(target=asyncio.run, args=(advance(f"w{n}"),)) for n in range(4)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()

    async def check() -> None:
        assert await store.count_threads() == 4
        for n in range(4):
            metas = [m async for m in store.summaries(f"w{n}")]
            assert len(metas) == 30
            head = await store.get(f"w{n}")
            assert head is not None
            assert head.values == {"messages": [f"w{n}-{j}" for j in range(29)]}
        await store.aclose()

    asyncio.run(check())


async def test_unreadable_values_header_names_the_checkpoint(
    tmp_path: Path, make: CheckpointFactory
) -> None:
    path = tmp_path / "header.db"
    made = await seed(path, make, n=2)
    with sqlite3.connect(path) as conn:
        conn.execute(
            "UPDATE checkpoints SET values_header = ? WHERE checkpoint_id = ?",
            (b"\xc1", made[0].id),
        )
    conn.close()
    async with SqliteCheckpointer(path, read_only=True) as store:
        with pytest.raises(SerializationError) as caught:
            await store.get("t", made[0].id)
        assert made[0].id in caught.value.msg
        assert [m.id async for m in store.summaries("t")] == [made[1].id, made[0].id]
        head = await store.get("t")
        assert head is not None
        assert head.values == made[1].values


@pytest.mark.parametrize("synchronous", ["NORMAL", "FULL"])
async def test_cancelled_writes_leave_nothing_half_done(
    tmp_path: Path, make: CheckpointFactory, synchronous: Any
) -> None:
    """A task cancelled mid-commit (the TUI cancels stale workers) either committed
    the whole step or nothing, and the connection stays usable. (At NORMAL a put
    commits on the loop's thread, where nothing can interrupt it; at FULL it goes
    to the database thread, where a cancellation can land mid-transaction.)"""
    path = tmp_path / "cancel.db"
    async with SqliteCheckpointer(path, synchronous=synchronous) as store:
        head = make.make("t", {"messages": []})
        await store.put(head, expected_head=None)
        # Which outcome each delay gives depends on the machine's speed: the test
        # checks that every outcome is whole, not which one happens.
        for delay in (0, 0.0005, 0.001, 0.002, 0.004, 0.008):
            big = make.make("t", {"messages": [f"m{i}" * 50 for i in range(2000)]})
            task = asyncio.ensure_future(store.put(big, expected_head=head.id))
            await asyncio.sleep(delay)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            current = await store.get("t")
            assert current is not None
            if current.id == big.id:
                assert current.values == big.values
                head = big
            else:
                assert current.id == head.id
                assert await store.get(None, big.id) is None
            info = await store.get_thread("t")
            assert info is not None
            assert info.checkpoint_count == len([m async for m in store.summaries("t")])
        after = make.make("t", {"messages": ["still works"]})
        await store.put(after, expected_head=head.id)
        latest = await store.get("t")
        assert latest is not None
        assert latest.id == after.id, "the connection is still usable"


async def test_watch_sees_another_process_commit(tmp_path: Path) -> None:
    path = tmp_path / "follow.db"
    async with SqliteCheckpointer(path):
        pass  # the schema exists before anyone follows
    async with SqliteCheckpointer(path, read_only=True) as reader:
        stream = reader.watch("w", poll_interval=0.02)

        async def collect(n: int) -> list[int]:
            steps = []
            async for meta in stream:
                steps.append(meta.step)
                if len(steps) == n:
                    return steps
            raise AssertionError("the stream ended")

        following = asyncio.ensure_future(collect(5))
        await asyncio.sleep(0.1)
        writer = await asyncio.create_subprocess_exec(
            sys.executable, "-c", WRITER, str(path), "w", "5"
        )
        assert await writer.wait() == 0
        assert await asyncio.wait_for(following, timeout=10) == [-1, 0, 1, 2, 3]
        await stream.aclose()  # type: ignore[attr-defined]


@contextlib.contextmanager
def unwritable_directory(path: Path) -> Iterator[None]:
    """Make a directory unwritable, even for root (the immutable attribute)."""
    if os.geteuid() != 0:
        path.chmod(0o555)
        undo = ["chmod", "755", str(path)]
    else:
        done = subprocess.run(["chattr", "+i", str(path)], capture_output=True)
        if done.returncode != 0:
            pytest.skip(f"cannot make a directory unwritable as root: {done.stderr!r}")
        undo = ["chattr", "-i", str(path)]
    try:
        yield
    finally:
        subprocess.run(undo, check=True)


async def test_read_only_in_an_unwritable_directory_opens_immutable(
    tmp_path: Path, make: CheckpointFactory
) -> None:
    folder = tmp_path / "locked"
    folder.mkdir()
    path = folder / "prod.db"
    made = await seed(path, make)
    with unwritable_directory(folder):
        async with SqliteCheckpointer(path, read_only=True) as store:
            got = await store.get("t")
            assert got is not None
            assert got.values == made[-1].values
            assert any("immutable" in w for w in store.warnings)
    async with SqliteCheckpointer(path, read_only=True) as store:
        assert store.warnings == []  # a normal read-only open where it can


async def test_a_commit_on_the_loop_never_waits_there_for_a_lock(
    tmp_path: Path, make: CheckpointFactory
) -> None:
    """On an application's loop a step commits right on the loop's thread, but a
    write lock held elsewhere never blocks the loop: the commit goes to the
    database thread, waits there, and lands once the lock is released."""
    path = tmp_path / "locked.db"
    async with SqliteCheckpointer(path) as store:
        first = make.make("t", {"n": 1})
        await store.put(first, expected_head=None)
        other = sqlite3.connect(path, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        ticks = 0

        async def tick() -> None:
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0.01)

        ticker = asyncio.ensure_future(tick())
        second = make.make("t", {"n": 2})
        put = asyncio.ensure_future(store.put(second, expected_head=first.id))
        await asyncio.sleep(0.3)
        assert not put.done(), "the commit waits for the lock"
        assert ticks >= 10, "while the loop keeps running"
        other.execute("COMMIT")
        other.close()
        await asyncio.wait_for(put, 5)
        ticker.cancel()
        head = await store.get("t")
        assert head is not None
        assert head.id == second.id


async def test_the_wal_is_checkpointed_off_the_loop(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Commits on an application's loop never checkpoint the WAL inside the commit
    (that can take milliseconds): every so many commits a passive checkpoint runs
    on another thread instead (even while the loop is busy), so the WAL does not
    grow without bound."""
    from timeloom.backends import sqlite_conn as module

    async def frames_in_wal(path: Path, every: int) -> tuple[int, int]:
        monkeypatch.setattr(module, "WAL_CHECKPOINT_EVERY", every)
        make = CheckpointFactory()
        store = SqliteCheckpointer(path)
        runs = 0
        original = store._db._checkpoint_wal
        finished = threading.Event()

        def counted() -> None:
            nonlocal runs
            runs += 1
            original()
            finished.set()

        monkeypatch.setattr(store._db, "_checkpoint_wal", counted)
        async with store:
            head = None
            for i in range(12):
                cp = make.make("t", {"n": i, "text": "x" * 5000})
                await store.put(cp, expected_head=head)
                head = cp.id
                if (i + 1) % every == 0:
                    # A node's work: the loop is blocked (never yields) while the
                    # checkpoint runs on its thread. Waiting for it, rather than
                    # sleeping a fixed time, keeps a loaded machine from letting
                    # the next commits overtake it.
                    assert finished.wait(timeout=30)
                    finished.clear()
            direct = next(iter(store._db._direct.values()))
            assert direct.conn.execute("PRAGMA wal_autocheckpoint").fetchone() == (0,)
            probe = sqlite3.connect(path)
            _, frames, _ = probe.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            probe.close()
        return frames, runs

    unchecked, none = await frames_in_wal(tmp_path / "never.db", 10**9)
    checked, runs = await frames_in_wal(tmp_path / "every5.db", 5)
    assert none == 0
    assert runs == 2  # after commits 5 and 10
    # The WAL restarts after a checkpoint: it now holds commits 11 and 12 only.
    assert 0 < checked < unchecked / 3
    async with SqliteCheckpointer(tmp_path / "every5.db", read_only=True) as reader:
        got = await reader.get("t")
        assert got is not None
        assert got.values["n"] == 11


def test_the_sync_api_commits_on_its_own_thread(tmp_path: Path) -> None:
    """The sync API's private loop runs every transaction right on the calling
    thread (at any ``synchronous`` level): a plain connection per loop, with
    SQLite's own WAL checkpoints, and the database thread only while locked."""
    from timeloom.core.sync import run_sync

    make = CheckpointFactory()
    store = SqliteCheckpointer(tmp_path / "sync.db", synchronous="FULL")
    a = make.make("t", {"n": 1})
    run_sync(store.put(a, expected_head=None))
    (direct,) = store._db._direct.values()
    assert direct.private
    assert direct.conn.execute("PRAGMA wal_autocheckpoint").fetchone() == (1000,)
    assert direct.conn.execute("PRAGMA synchronous").fetchone() == (2,)  # FULL
    other = sqlite3.connect(
        tmp_path / "sync.db", isolation_level=None, check_same_thread=False
    )
    other.execute("BEGIN IMMEDIATE")
    release = threading.Timer(0.2, lambda: other.execute("COMMIT"))
    release.start()
    b = make.make("t", {"n": 2})
    run_sync(store.put(b, expected_head=a.id))  # waits for the lock, then commits
    release.join()
    other.close()
    got = run_sync(store.get("t"))
    assert got is not None
    assert got.values == {"n": 2}
    run_sync(store.aclose())
    assert not store._db._direct


async def test_full_durability_on_an_application_loop_commits_on_the_thread(
    tmp_path: Path, make: CheckpointFactory
) -> None:
    """At FULL every commit fsyncs: on an application's loop that stays off the
    loop's thread."""
    async with SqliteCheckpointer(tmp_path / "full.db", synchronous="FULL") as store:
        a = make.make("t", {"n": 1})
        await store.put(a, expected_head=None)
        assert not store._db._direct
        got = await store.get("t")
        assert got is not None
        assert got.id == a.id


def test_read_only_in_a_read_only_directory_as_a_normal_user(
    tmp_path: Path, make: CheckpointFactory
) -> None:
    """A cleanly closed WAL database (no -wal, no -shm) in a directory the user
    cannot write: SQLite says SQLITE_READONLY_DIRECTORY, and the open falls back to
    immutable=1 with a warning instead of failing."""
    source = tmp_path / "t.db"
    asyncio.run(seed(source, make))
    with read_only_dir() as folder:
        target = folder / "t.db"
        target.write_bytes(source.read_bytes())

        def browse() -> str:
            async def count() -> str:
                async with SqliteCheckpointer(target, read_only=True) as cp:
                    return f"{await cp.count_threads()} {len(cp.warnings)}"

            return asyncio.run(count())

        threads, warnings = run_unprivileged(folder, browse).split()
        assert (threads, warnings) == ("1", "1")
        assert sorted(p.name for p in folder.iterdir()) == ["t.db"]
