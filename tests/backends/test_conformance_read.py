"""The read-only tier of the conformance suite: what every checkpointer that reads
must answer alike, the LangGraph reader included.

Each store is written by running the same graph for real (Timeloom's runtime on its
backends, LangGraph on its own savers): a thread ``main`` of two turns, a thread
``other``, and a thread ``branch`` forked from ``main``'s first turn and continued.
The tests then read it through a read-only checkpointer and check the protocol's
promises against each other (paging against the whole list, summaries against the
history, children against parents, ``forked_from`` against the fork's first
checkpoint), so they hold whatever ids and step shapes the writer used.
"""

from __future__ import annotations

import asyncio
import operator
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, TypedDict

import pytest
from langgraph.graph import END as LG_END
from langgraph.graph import START as LG_START
from langgraph.graph import StateGraph as LgStateGraph

from tests.langgraph import lgdb
from timeloom.backends.langgraph import open_langgraph
from timeloom.backends.langgraph.copy import copy_thread
from timeloom.backends.memory import MemoryCheckpointer
from timeloom.backends.postgres import PostgresCheckpointer
from timeloom.backends.sqlite import SqliteCheckpointer
from timeloom.core import END, START, StateGraph
from timeloom.core.checkpoint import CheckpointMeta
from timeloom.core.checkpointer import BaseCheckpointer
from timeloom.core.errors import ReadOnlyError

STORES = [
    "memory",
    "sqlite",
    pytest.param("postgres", marks=pytest.mark.postgres),
    "langgraph-sqlite",
    pytest.param("langgraph-postgres", marks=pytest.mark.postgres),
]


class State(TypedDict, total=False):
    messages: Annotated[list[str], operator.add]
    turns: int


def _think(state: State) -> dict[str, Any]:
    return {"messages": ["thought"], "turns": state.get("turns", 0) + 1}


def _answer(state: State) -> dict[str, Any]:
    return {"messages": ["answer"]}


def _build(graph: Any, start: str, end: str) -> Any:
    graph.add_node("think", _think)
    graph.add_node("answer", _answer)
    graph.add_edge(start, "think")
    graph.add_edge("think", "answer")
    graph.add_edge("answer", end)
    return graph


def _cfg(thread_id: str) -> dict[str, Any]:
    return {"configurable": {"thread_id": thread_id}}


@dataclass(frozen=True)
class Seeded:
    """A store written by the graph, open read-only."""

    reader: BaseCheckpointer
    fork_point: str
    """The id of ``main``'s checkpoint that ``branch`` was forked from."""


async def _seed_timeloom(cp: BaseCheckpointer) -> str:
    app = _build(StateGraph(State), START, END).compile(checkpointer=cp)
    for text in ("hi", "again"):
        await app.ainvoke({"messages": [text]}, _cfg("main"))
    await app.ainvoke({"messages": ["elsewhere"]}, _cfg("other"))
    history = [s async for s in app.aget_state_history(_cfg("main"))]
    point = [s for s in history if s.next == ("answer",)][-1]  # the first turn's
    fork = await app.afork(point.config, "branch")
    await app.ainvoke(None, fork)
    return str(point.config["configurable"]["checkpoint_id"])


def _seed_langgraph(saver: Any) -> str:
    app = _build(LgStateGraph(State), LG_START, LG_END).compile(checkpointer=saver)
    for text in ("hi", "again"):
        app.invoke({"messages": [text]}, _cfg("main"))
    app.invoke({"messages": ["elsewhere"]}, _cfg("other"))
    history = list(app.get_state_history(_cfg("main")))
    point = [s for s in history if s.next == ("answer",)][-1]  # the first turn's
    copy_thread(saver, point.config, "branch")
    app.invoke(None, _cfg("branch"))
    return str(point.config["configurable"]["checkpoint_id"])


def _langgraph_sqlite(path: Path) -> str:
    with lgdb.sqlite_saver(path) as saver:
        return _seed_langgraph(saver)


def _langgraph_postgres(dsn: str) -> str:
    with lgdb.postgres_saver(dsn) as saver:
        return _seed_langgraph(saver)


@pytest.fixture(params=STORES)
async def seeded(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[Seeded]:
    """Each store, written by the graph, open read-only."""
    store = request.param
    reader: BaseCheckpointer
    if store == "memory":
        memory = MemoryCheckpointer()
        point = await _seed_timeloom(memory)
        memory.read_only = True
        reader = memory
    elif store in ("sqlite", "postgres"):
        dsn = request.getfixturevalue("postgres_dsn") if store == "postgres" else ""
        writer: BaseCheckpointer = (
            PostgresCheckpointer(dsn)
            if store == "postgres"
            else SqliteCheckpointer(tmp_path / "timeloom.db")
        )
        async with writer:
            point = await _seed_timeloom(writer)
        reader = (
            PostgresCheckpointer(dsn, read_only=True)
            if store == "postgres"
            else SqliteCheckpointer(tmp_path / "timeloom.db", read_only=True)
        )
    elif store == "langgraph-sqlite":
        path = tmp_path / "langgraph.db"
        point = await asyncio.to_thread(_langgraph_sqlite, path)
        reader = open_langgraph(str(path))
    else:
        dsn = request.getfixturevalue("postgres_dsn")
        point = await asyncio.to_thread(_langgraph_postgres, dsn)
        reader = open_langgraph(dsn)
    async with reader:
        yield Seeded(reader, point)


async def _history(cp: BaseCheckpointer, thread_id: str, **kw: Any) -> list[str]:
    return [m.id async for m in cp.summaries(thread_id, **kw)]


async def test_history_pages_newest_first(seeded: Seeded) -> None:
    cp = seeded.reader
    every = await _history(cp, "main")
    assert len(every) >= 4
    assert every == sorted(every, reverse=True)
    assert await _history(cp, "main", limit=2) == every[:2]
    assert await _history(cp, "main", before=every[1]) == every[2:]
    assert await _history(cp, "main", before=every[1], limit=1) == every[2:3]
    assert await _history(cp, "nobody") == []
    head = await cp.get("main")
    assert head is not None
    assert head.id == every[0]
    assert head.values["messages"] == ["hi", "thought", "answer", "again"] + [
        "thought",
        "answer",
    ]
    found = await cp.get(None, every[0])
    assert found is not None
    assert (found.thread_id, found.values) == ("main", head.values)
    assert await cp.get("other", every[0]) is None
    assert await cp.get("nobody") is None


async def test_thread_summaries_agree_with_history(seeded: Seeded) -> None:
    cp = seeded.reader
    listed = {i.thread_id: i for i in await cp.threads()}
    assert set(listed) == {"main", "other", "branch"}
    assert await cp.count_threads() == 3
    for thread_id, info in listed.items():
        history = await _history(cp, thread_id)
        assert info == await cp.get_thread(thread_id)
        assert info.head_id == history[0]
        assert info.checkpoint_count == len(history)
    assert [i.thread_id for i in await cp.threads(search="ma")] == ["main"]
    assert await cp.count_threads(search="ma") == 1
    first, second = await cp.threads(limit=1), await cp.threads(limit=1, offset=1)
    assert len(first) == len(second) == 1
    assert first[0].thread_id != second[0].thread_id
    assert await cp.get_thread("nobody") is None


async def test_children_and_parents_agree(seeded: Seeded) -> None:
    cp = seeded.reader
    metas: list[CheckpointMeta] = [m async for m in cp.summaries("main")]
    for meta in metas:
        if meta.parent_id is not None:
            kids = await cp.children(meta.parent_id)
            assert meta.id in [k.id for k in kids]
    assert await cp.children(metas[0].id) == []  # the head has none


async def test_forked_from_agrees_everywhere(seeded: Seeded) -> None:
    cp = seeded.reader
    info = await cp.get_thread("branch")
    assert info is not None
    assert info.forked_from == ("main", seeded.fork_point)
    listed = [i for i in await cp.threads() if i.thread_id == "branch"]
    assert [i.forked_from for i in listed] == [("main", seeded.fork_point)]
    main = await cp.get_thread("main")
    assert main is not None
    assert main.forked_from is None
    oldest = [m async for m in cp.summaries("branch")][-1]
    assert (oldest.parent_thread_id, oldest.parent_id) == info.forked_from
    assert oldest.is_fork_root
    kids = await cp.children(seeded.fork_point)
    assert oldest.id in [k.id for k in kids if k.thread_id == "branch"]


async def test_recent_is_oldest_first_and_pages(seeded: Seeded) -> None:
    cp = seeded.reader
    every = await _history(cp, "main")
    recent = [m.id for m in await cp.recent(thread_id="main")]
    assert recent == every[::-1]
    assert [m.id for m in await cp.recent(after=recent[0], thread_id="main")] == (
        recent[1:]
    )
    assert [m.id for m in await cp.recent(thread_id="main", limit=2)] == recent[:2]
    everywhere = await cp.recent()
    assert {m.thread_id for m in everywhere} == {"main", "other", "branch"}


async def test_writes_are_refused(seeded: Seeded) -> None:
    cp = seeded.reader
    head = await cp.get("main")
    assert head is not None
    with pytest.raises(ReadOnlyError):
        await cp.put(head, expected_head=head.id)
    with pytest.raises(ReadOnlyError):
        await cp.put_pending("main", head.id, [])
    with pytest.raises(ReadOnlyError):
        await cp.adelete_thread("main")
    with pytest.raises(ReadOnlyError):
        await cp.prune("main", keep_last=0)
    assert await _history(cp, "main") != []


# -- after pruning: the edge cases that bit the writers ------------------------------

PRUNABLE = [
    "memory",
    "sqlite",
    pytest.param("postgres", marks=pytest.mark.postgres),
    # LangGraph's SqliteSaver has no prune; its PostgresSaver's keep_latest does.
    pytest.param("langgraph-postgres", marks=pytest.mark.postgres),
]


@dataclass(frozen=True)
class Pruned:
    """A seeded store whose ``branch`` was pruned down to its head, open read-only."""

    reader: BaseCheckpointer
    fork_point: str
    branch_head: str
    """The id of ``branch``'s head before pruning (the one checkpoint kept)."""
    origin_kept: bool
    """Whether the store still knows where ``branch`` was forked from."""


def _langgraph_postgres_pruned(dsn: str) -> tuple[str, str]:
    with lgdb.postgres_saver(dsn) as saver:
        point = _seed_langgraph(saver)
        head = saver.get_tuple({"configurable": {"thread_id": "branch"}})
        assert head is not None
        saver.prune(["branch"], strategy="keep_latest")
        return point, str(head.config["configurable"]["checkpoint_id"])


@pytest.fixture(params=PRUNABLE)
async def pruned(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[Pruned]:
    """Each store that can prune, written by the graph, its ``branch`` pruned to
    its head by the store's own prune (which drops the branch's first checkpoint,
    the one forked off ``main``); on Timeloom's stores ``main`` is also pruned
    with a ``keep_last`` larger than the thread."""
    store = request.param
    reader: BaseCheckpointer
    if store == "langgraph-postgres":
        dsn = request.getfixturevalue("postgres_dsn")
        point, head = await asyncio.to_thread(_langgraph_postgres_pruned, dsn)
        # The copy that named the origin is gone: LangGraph keeps it nowhere else.
        reader, origin_kept = open_langgraph(dsn), False
    else:
        dsn = request.getfixturevalue("postgres_dsn") if store == "postgres" else ""
        writer: BaseCheckpointer
        if store == "memory":
            writer = MemoryCheckpointer()
        elif store == "sqlite":
            writer = SqliteCheckpointer(tmp_path / "timeloom.db")
        else:
            writer = PostgresCheckpointer(dsn)
        async with writer:
            point = await _seed_timeloom(writer)
            before = await _history(writer, "main")
            assert await writer.prune("main", keep_last=len(before) + 5) == 0
            head = (await _history(writer, "branch"))[0]
            assert await writer.prune("branch", keep_last=1) >= 1
        if store == "memory":
            assert isinstance(writer, MemoryCheckpointer)
            writer.read_only = True
            reader = writer
        elif store == "sqlite":
            reader = SqliteCheckpointer(tmp_path / "timeloom.db", read_only=True)
        else:
            reader = PostgresCheckpointer(dsn, read_only=True)
        origin_kept = True
    async with reader:
        yield Pruned(reader, point, head, origin_kept)


async def test_pruned_fork_keeps_its_head_and_agrees_on_its_origin(
    pruned: Pruned,
) -> None:
    cp = pruned.reader
    assert await _history(cp, "branch") == [pruned.branch_head]
    info = await cp.get_thread("branch")
    assert info is not None
    assert (info.head_id, info.checkpoint_count) == (pruned.branch_head, 1)
    expected = ("main", pruned.fork_point) if pruned.origin_kept else None
    assert info.forked_from == expected
    listed = [i for i in await cp.threads() if i.thread_id == "branch"]
    assert [i.forked_from for i in listed] == [expected]
    head = await cp.get("branch")
    assert head is not None
    assert head.values["messages"] == ["hi", "thought", "answer"]
    # The kept head is no fork root: its parent (pruned) was in its own thread.
    assert not [m async for m in cp.summaries("branch")][0].is_fork_root
    kids = await cp.children(pruned.fork_point)
    assert "branch" not in {k.thread_id for k in kids}


async def test_keep_last_beyond_the_thread_kept_all_of_it(pruned: Pruned) -> None:
    cp = pruned.reader
    every = await _history(cp, "main")
    assert len(every) >= 4
    info = await cp.get_thread("main")
    assert info is not None
    assert info.checkpoint_count == len(every)
    assert info.forked_from is None
    parents = {m.parent_id async for m in cp.summaries("main")}
    assert parents - set(every) == {None}  # no checkpoint lost its parent
