"""Opening LangGraph SQLite files: read-only modes, unusable schemas, bad paths."""

from __future__ import annotations

import asyncio
import os
import shutil
import sqlite3
from pathlib import Path

import pytest

from tests.langgraph import lgdb
from tests.unprivileged import read_only_dir, run_unprivileged
from timeloom.backends.langgraph import LangGraphSqlite, open_langgraph
from timeloom.backends.langgraph.sqlite import IMMUTABLE_WARNING
from timeloom.core.errors import SchemaError, StoreConnectionError


def test_wal_database_in_read_only_directory_opens_immutable(
    built: lgdb.Built,
) -> None:
    """As a user who cannot write the directory, mode=ro fails on a WAL database
    (no -shm can be made); the reader falls back to immutable=1 and warns. (Run as
    "nobody" in a forked process, so it works wherever the checkout lives.)"""
    with read_only_dir() as folder:
        target = folder / "scenarios.db"
        shutil.copy(built.url, target)

        def direct() -> str:
            conn = sqlite3.connect(f"file:{target}?mode=ro", uri=True)
            try:
                conn.execute("select 1 from checkpoints")
            except sqlite3.OperationalError as exc:
                return f"refused: {exc}"
            finally:
                conn.close()
            return "worked"

        assert run_unprivileged(folder, direct).startswith("refused"), (
            "mode=ro unexpectedly worked: nothing to test"
        )

        def browse() -> str:
            async def read() -> str:
                async with open_langgraph(str(target)) as cp:
                    assert isinstance(cp, LangGraphSqlite)
                    threads = await cp.threads()
                    return f"{cp.immutable} {len(threads)} {len(cp.warnings)}"

            return asyncio.run(read())

        immutable, threads, warnings = run_unprivileged(folder, browse).split()
        assert immutable == "True"
        assert int(threads) == len({t for t, ns in built.history if not ns})
        assert int(warnings) >= 1
        assert sorted(os.listdir(folder)) == ["scenarios.db"]


async def test_immutable_fallback_warns_about_the_wal(
    built: lgdb.Built, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same fallback where privileges cannot be dropped: mode=ro is made to
    fail as it does for such a user."""
    target = tmp_path / "scenarios.db"
    shutil.copy(built.url, target)
    with open(f"{target}-wal", "wb") as wal:  # noqa: ASYNC230 - test setup
        wal.write(b"\0" * 100)  # pretend a writer left commits behind
    real = LangGraphSqlite._connect

    async def refuse_plain_ro(uri: str):  # type: ignore[no-untyped-def]
        if "immutable=1" not in uri:
            raise sqlite3.OperationalError("attempt to write a readonly database")
        return await real(uri)

    monkeypatch.setattr(LangGraphSqlite, "_connect", staticmethod(refuse_plain_ro))
    async with open_langgraph(str(target)) as cp:
        assert isinstance(cp, LangGraphSqlite)
        assert cp.immutable
        assert cp.warnings[0] == IMMUTABLE_WARNING
        assert "100 bytes" in cp.warnings[1]
        assert len(await cp.threads()) == len({t for t, ns in built.history if not ns})


async def test_legacy_schema_is_refused_clearly(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    conn.execute(
        "CREATE TABLE checkpoints (thread_id TEXT, thread_ts TEXT, parent_ts TEXT, "
        "checkpoint BLOB, metadata BLOB, PRIMARY KEY (thread_id, thread_ts))"
    )
    conn.execute(
        "CREATE TABLE writes (thread_id TEXT, thread_ts TEXT, task_id TEXT, idx INT, "
        "channel TEXT, value BLOB)"
    )
    conn.commit()
    conn.close()
    with pytest.raises(SchemaError, match="pre-August-2024") as info:
        async with open_langgraph(str(path)):
            pass
    assert info.value.title == "Legacy LangGraph database"


async def test_foreign_database_and_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE things (x)")
    conn.commit()
    conn.close()
    with pytest.raises(SchemaError, match="no LangGraph"):
        async with open_langgraph(str(path)):
            pass
    with pytest.raises(StoreConnectionError, match="No database file"):
        async with open_langgraph(str(tmp_path / "missing.db")):
            pass
    assert not (tmp_path / "missing.db").exists()
