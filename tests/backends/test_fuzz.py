"""Fuzzing: random bytes and random mutations of real rows, through both codecs
and both SQLite readers. Whatever the data, the process does not crash, nothing
but Timeloom's own errors is raised, and a read takes bounded memory.
"""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
import tracemalloc
from collections.abc import Callable, Coroutine, Sequence
from pathlib import Path
from typing import Any

import msgpack
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.langgraph import tamper
from tests.tui.seed import Seeder
from timeloom.backends.langgraph import open_langgraph
from timeloom.backends.langgraph.decode import decode_checkpoint, decode_typed
from timeloom.backends.layout.addressing import EXPANSION_FLOOR
from timeloom.backends.serde import Serializer
from timeloom.backends.sqlite import SqliteCheckpointer
from timeloom.core.checkpointer import BaseCheckpointer
from timeloom.core.errors import TimeloomError

MEMORY_BOUND = 2 * EXPANSION_FLOOR + 16 * 1024 * 1024
"""No read of these small databases may allocate more than this at its peak. The
layout lets a list read back to :data:`EXPANSION_FLOOR` bytes of encoded items
whatever it is made of, and the values decoded from them can take more than their
bytes (a dict is bigger than its msgpack), so a mutated row may legitimately come
close to twice the floor. Unbounded growth (a length field that makes a read
allocate gigabytes) still fails it."""

FUZZ = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
FUZZ_DATABASES = settings(FUZZ, max_examples=25)  # each example opens a database

SERDE = Serializer()
STATE: dict[str, Any] = {
    "messages": [{"role": "user", "content": f"message {i}" * 5} for i in range(20)],
    "count": 3,
    "nested": {"a": [1, 2.5, None, True], "b": b"bytes", "c": {"d": "e"}},
}


# -- mutations -----------------------------------------------------------------------


@st.composite
def mutated(draw: st.DrawFn, data: bytes) -> bytes:
    """``data`` with a few bytes flipped, inserted, deleted, or cut short."""
    out = bytearray(data)
    for _ in range(draw(st.integers(1, 4))):
        if not out:
            out += draw(st.binary(min_size=1, max_size=8))
            continue
        at = draw(st.integers(0, len(out) - 1))
        kind = draw(st.sampled_from(["flip", "insert", "delete", "cut", "byte"]))
        if kind == "flip":
            out[at] ^= 1 << draw(st.integers(0, 7))
        elif kind == "insert":
            out[at:at] = draw(st.binary(min_size=1, max_size=16))
        elif kind == "delete":
            del out[at : at + draw(st.integers(1, 8))]
        elif kind == "cut":
            del out[at:]
        else:
            # A msgpack type byte: a huge array, map, str or ext header.
            out[at] = draw(st.sampled_from([0xC7, 0xC8, 0xC9, 0xDC, 0xDD, 0xDE, 0xDF]))
    return bytes(out)


def column_value() -> st.SearchStrategy[Any]:
    """What another program could leave in a column: anything SQLite stores."""
    return st.one_of(
        st.binary(max_size=64),
        st.text(max_size=32),
        st.integers(-(2**63), 2**63 - 1),
        st.floats(allow_nan=True),
        st.just("[/b]\x1b]52;c;eA==\x07"),
    )


# -- the codecs ---------------------------------------------------------------------


@FUZZ
@given(st.binary(max_size=512))
def test_random_bytes_through_both_codecs(data: bytes) -> None:
    _only_our_errors(lambda: SERDE.loads(data))
    for tag in ("msgpack", "json", None, "bytes", "msgpack+aes"):
        decode_typed(tag, data)  # never raises
    decode_checkpoint("msgpack", data)


@FUZZ
@given(st.data())
def test_mutated_values_through_both_codecs(data: st.DataObject) -> None:
    ours = data.draw(mutated(SERDE.dumps(STATE)))
    _only_our_errors(lambda: SERDE.loads(ours))
    theirs = data.draw(mutated(msgpack.packb(STATE)))
    decode_typed("msgpack", theirs)
    decode_checkpoint("msgpack", theirs)


def _only_our_errors(call: Callable[[], Any]) -> None:
    try:
        call()
    except TimeloomError:
        pass


# -- the readers --------------------------------------------------------------------

TIMELOOM_COLUMNS = [
    ("checkpoints", "values_header"),
    ("checkpoints", "metadata"),
    ("checkpoints", "writes"),
    ("checkpoints", "nodes"),
    ("checkpoints", "next"),
    ("checkpoints", "created_at"),
    ("checkpoints", "step"),
    ("checkpoints", "source"),
    ("checkpoints", "parent_id"),
    ("threads", "status"),
    ("threads", "created_at"),
    ("threads", "metadata"),
    ("threads", "head_id"),
    ("blobs", "data"),
    ("pending_writes", "value"),
    ("pending_writes", "kind"),
]

LANGGRAPH_COLUMNS = [
    ("checkpoints", "checkpoint"),
    ("checkpoints", "metadata"),
    ("checkpoints", "type"),
    ("checkpoints", "parent_checkpoint_id"),
    ("writes", "value"),
    ("writes", "type"),
    ("writes", "channel"),
]


@pytest.fixture(scope="module")
def timeloom_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("fuzz") / "timeloom.db"

    async def build() -> None:
        async with SqliteCheckpointer(path) as cp:
            seeder = Seeder(cp)
            for thread in ("a", "b"):
                first = await seeder.put(
                    thread,
                    parent=None,
                    step=-1,
                    source="input",
                    values=STATE,
                    next_nodes=("n",),
                    metadata={"user": "u"},
                )
                grown = {**STATE, "messages": [*STATE["messages"], {"n": 1}] * 2}
                await seeder.put(
                    thread, parent=first, step=0, source="loop", values=grown
                )

    asyncio.run(build())
    return path


@pytest.fixture(scope="module")
def langgraph_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return Path(tamper.small_database("sqlite", tmp_path_factory.mktemp("lgfuzz")))


def _mutated_copy(
    source: Path,
    stem: Path,
    columns: Sequence[tuple[str, str]],
    data: st.DataObject,
) -> Path:
    """A copy of the database ``source`` (named after ``stem``) with one to three
    of its ``columns`` (table, column) mutated in a random row each."""
    path = stem.with_name(f"{stem.name}{data.draw(st.integers(0, 10**9))}.db")
    shutil.copy(source, path)
    for _ in range(data.draw(st.integers(1, 3))):
        table, column = data.draw(st.sampled_from(columns))
        _mutate_row(path, table, column, data)
    return path


def _mutate_row(path: Path, table: str, column: str, data: st.DataObject) -> None:
    conn = sqlite3.connect(path)
    try:
        rowids = [r[0] for r in conn.execute(f"SELECT rowid FROM {table}")]
        if not rowids:
            return
        rowid = data.draw(st.sampled_from(rowids))
        (old,) = conn.execute(
            f"SELECT {column} FROM {table} WHERE rowid = ?", (rowid,)
        ).fetchone()
        if isinstance(old, bytes) and data.draw(st.booleans()):
            new: Any = data.draw(mutated(old))
        else:
            new = data.draw(column_value())
        try:
            with conn:
                conn.execute(
                    f"UPDATE {table} SET {column} = ? WHERE rowid = ?", (new, rowid)
                )
        except sqlite3.IntegrityError:
            pass  # a constraint (NOT NULL...) refused it: SQLite protects that one
    finally:
        conn.close()


async def _read_everything(cp: BaseCheckpointer) -> None:
    """Every read the TUI and the commands make."""
    for info in await cp.threads(limit=100):
        await cp.get_thread(info.thread_id)
        async for meta in cp.summaries(info.thread_id):
            await cp.get(info.thread_id, meta.id)
            await cp.children(meta.id)
        await cp.get(info.thread_id)
    await cp.count_threads()
    await cp.recent(limit=100)


def _bounded(read: Callable[[], Coroutine[Any, Any, None]]) -> None:
    tracemalloc.start()
    try:
        try:
            asyncio.run(read())
        except TimeloomError:
            pass  # a clear error is an allowed outcome; anything else fails the test
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < MEMORY_BOUND


@FUZZ_DATABASES
@given(st.data())
def test_mutated_timeloom_rows(
    timeloom_db: Path, tmp_path: Path, data: st.DataObject
) -> None:
    path = _mutated_copy(timeloom_db, tmp_path / "t", TIMELOOM_COLUMNS, data)

    async def read() -> None:
        async with SqliteCheckpointer(path, read_only=True) as cp:
            await _read_everything(cp)

    _bounded(read)
    path.unlink()


@FUZZ_DATABASES
@given(st.data())
def test_mutated_langgraph_rows(
    langgraph_db: Path, tmp_path: Path, data: st.DataObject
) -> None:
    path = _mutated_copy(langgraph_db, tmp_path / "lg", LANGGRAPH_COLUMNS, data)

    async def read() -> None:
        async with open_langgraph(str(path)) as cp:
            await _read_everything(cp)

    _bounded(read)
    path.unlink()
