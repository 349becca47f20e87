"""``open_checkpointer``: which backend each URL opens."""

from __future__ import annotations

import sqlite3
import sys
import types
from pathlib import Path
from typing import Any, TypedDict

import pytest

from tests.backends.conftest import CheckpointFactory
from timeloom.backends import open_checkpointer
from timeloom.backends.memory import MemoryCheckpointer
from timeloom.backends.sqlite import SqliteCheckpointer
from timeloom.core.checkpointer import BaseCheckpointer
from timeloom.core.errors import ReadOnlyError, SchemaError


class LgState(TypedDict):
    x: int


def make_langgraph_db(path: Path) -> None:
    with sqlite3.connect(path) as conn:
        conn.execute(
            "CREATE TABLE checkpoints (thread_id TEXT, checkpoint_ns TEXT, "
            "checkpoint_id TEXT, checkpoint BLOB)"
        )
        conn.execute("CREATE TABLE writes (thread_id TEXT, checkpoint_ns TEXT)")
    conn.close()


def test_memory() -> None:
    cp = open_checkpointer("memory:")
    assert isinstance(cp, MemoryCheckpointer)
    assert not cp.read_only
    assert open_checkpointer("memory:", read_only=True).read_only


@pytest.mark.parametrize(
    ("url", "path"),
    [
        ("runs/checkpoints.db", "runs/checkpoints.db"),
        ("/abs/dir/file.sqlite", "/abs/dir/file.sqlite"),
        ("no-extension", "no-extension"),
        ("sqlite:///relative/c.db", "relative/c.db"),
        ("sqlite:////absolute/c.db", "/absolute/c.db"),
        ("sqlite:///:memory:", ":memory:"),
    ],
)
def test_sqlite_urls(url: str, path: str) -> None:
    cp = open_checkpointer(url, read_only=True)
    assert isinstance(cp, SqliteCheckpointer)
    assert cp.path == path
    assert cp.read_only


async def test_url_round_trips_and_opens(
    tmp_path: Path, make: CheckpointFactory
) -> None:
    path = tmp_path / "x.db"
    async with open_checkpointer(str(path)) as cp:
        await cp.put(make.make("t", {"n": 1}), expected_head=None)
        url = cp.url
    assert url == f"sqlite:///{path}"
    async with open_checkpointer(url, read_only=True) as ro:
        got = await ro.get("t")
        assert got is not None
        assert got.values == {"n": 1}
        with pytest.raises(ReadOnlyError):
            await ro.adelete_thread("t")


async def test_sqlite_in_memory_works(make: CheckpointFactory) -> None:
    async with open_checkpointer("sqlite:///:memory:") as cp:
        await cp.put(make.make("t", {"n": 1}), expected_head=None)
        assert await cp.count_threads() == 1


@pytest.mark.parametrize(
    "url", ["mysql://user@host/db", "redis://localhost", "sqlite:/x.db"]
)
def test_unknown_urls_are_refused(url: str) -> None:
    with pytest.raises(SchemaError) as caught:
        open_checkpointer(url)
    assert caught.value.title == "Unsupported URL"


def test_langgraph_database_goes_to_the_reader(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "lg.db"
    make_langgraph_db(path)
    opened: list[str] = []
    reader = MemoryCheckpointer()

    def open_langgraph(url: str) -> BaseCheckpointer:
        opened.append(url)
        return reader

    fake: Any = types.ModuleType("timeloom.backends.langgraph")
    fake.open_langgraph = open_langgraph
    monkeypatch.setitem(sys.modules, "timeloom.backends.langgraph", fake)
    assert open_checkpointer(str(path), read_only=True) is reader
    assert open_checkpointer(f"sqlite:///{path}") is reader
    assert opened == [f"sqlite:///{path}", f"sqlite:///{path}"]


def test_timeloom_database_is_not_mistaken_for_langgraph(tmp_path: Path) -> None:
    path = tmp_path / "t.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE timeloom_migrations (v INTEGER PRIMARY KEY)")
        conn.execute("CREATE TABLE checkpoints (checkpoint_ns TEXT)")
        conn.execute("CREATE TABLE writes (x TEXT)")
    conn.close()
    assert isinstance(open_checkpointer(str(path)), SqliteCheckpointer)


def test_legacy_langgraph_database_goes_to_the_reader(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as conn:
        conn.execute(
            "CREATE TABLE checkpoints (thread_id TEXT, thread_ts TEXT, "
            "parent_ts TEXT, checkpoint BLOB)"
        )
    conn.close()
    fake: Any = types.ModuleType("timeloom.backends.langgraph")
    fake.open_langgraph = lambda url: MemoryCheckpointer()
    monkeypatch.setitem(sys.modules, "timeloom.backends.langgraph", fake)
    assert isinstance(open_checkpointer(str(path)), MemoryCheckpointer)


async def test_real_langgraph_database_opens_read_only(tmp_path: Path) -> None:
    from langgraph.checkpoint.sqlite import SqliteSaver
    from langgraph.graph import END as LG_END
    from langgraph.graph import START as LG_START
    from langgraph.graph import StateGraph as LangGraphStateGraph

    from timeloom.backends.langgraph import LangGraphReader

    path = tmp_path / "real.db"
    graph = LangGraphStateGraph(LgState)
    graph.add_node("n", lambda state: {"x": 1})
    graph.add_edge(LG_START, "n")
    graph.add_edge("n", LG_END)
    conn = sqlite3.connect(path, check_same_thread=False)
    app = graph.compile(checkpointer=SqliteSaver(conn))
    app.invoke({"x": 0}, {"configurable": {"thread_id": "lg-thread"}})
    conn.close()
    cp = open_checkpointer(f"sqlite:///{path}")
    assert isinstance(cp, LangGraphReader)
    async with cp:
        assert cp.read_only
        assert [t.thread_id for t in await cp.threads()] == ["lg-thread"]
