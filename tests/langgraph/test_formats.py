"""Older LangGraph formats: checkpoint v1-v3, JSON-era blobs, metadata ``writes``,
pickle checkpoints, and ``writes`` tables without ``task_path``."""

from __future__ import annotations

import json
import pickle
import shutil
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any, TypedDict

import msgpack
from langgraph.channels import DeltaChannel
from langgraph.graph import END, START, StateGraph

from tests.langgraph import lgdb
from timeloom.backends.langgraph import LangGraphSqlite, open_langgraph
from timeloom.backends.langgraph.decode import is_message

LC_HUMAN = {
    "lc": 1,
    "type": "constructor",
    "id": ["langchain", "schema", "messages", "HumanMessage"],
    "kwargs": {"content": "hello from 2024", "type": "human"},
}


def _empty_langgraph_db(path: Path) -> None:
    with lgdb.sqlite_saver(path):
        pass  # LangGraph creates its current tables


def _insert(
    path: Path,
    thread: str,
    cid: str,
    parent: str | None,
    tag: str,
    blob: bytes,
    metadata: dict[str, Any],
) -> None:
    conn = sqlite3.connect(path)
    with conn:
        conn.execute(
            "INSERT INTO checkpoints VALUES (?, '', ?, ?, ?, ?, ?)",
            (thread, cid, parent, tag, blob, json.dumps(metadata).encode()),
        )
    conn.close()


async def test_v1_json_era_checkpoint_with_metadata_writes(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    _empty_langgraph_db(path)
    # A JSON-era (Aug 2024) v1 checkpoint: "start:<node>" trigger channels, integer
    # versions, LangChain messages as lc:1 envelopes, and metadata "writes".
    v1: dict[str, Any] = {
        "v": 1,
        "id": "1ef5a000-0000-6000-8000-000000000001",
        "ts": "2024-08-20T10:00:00+00:00",
        "channel_values": {"messages": [LC_HUMAN], "start:agent": "__start__"},
        "channel_versions": {"messages": 2, "start:agent": 2},
        "versions_seen": {"__start__": {"__start__": 1}},
        "pending_sends": [],
    }
    _insert(
        path,
        "old-1",
        v1["id"],
        None,
        "json",
        json.dumps(v1).encode(),
        {
            "source": "loop",
            "step": 0,
            "writes": {"__start__": {"messages": [LC_HUMAN]}},
        },
    )
    async with open_langgraph(str(path)) as cp:
        checkpoint = await cp.get("old-1")
        metas = [m async for m in cp.summaries("old-1")]
    assert checkpoint is not None
    assert checkpoint.metadata["langgraph.v"] == 1
    (message,) = checkpoint.values["messages"]
    assert is_message(message)
    assert message["role"] == "user"
    assert message["content"] == "hello from 2024"
    assert "start:agent" not in checkpoint.values  # bookkeeping, v1 style
    assert checkpoint.next == ("agent",)
    assert metas[0].next == ("agent",)
    old_writes = checkpoint.metadata["writes"]["__start__"]["messages"]
    assert old_writes[0]["content"] == "hello from 2024"


async def test_v3_msgpack_checkpoint_with_pending_sends(tmp_path: Path) -> None:
    path = tmp_path / "v3.db"
    _empty_langgraph_db(path)
    send = msgpack.ExtType(
        1, msgpack.packb(["langgraph.types", "Send", ["worker", {"job": 1}]])
    )
    v3: dict[str, Any] = {
        "v": 3,
        "id": "1ef6a000-0000-6000-8001-000000000001",
        "ts": "2025-01-10T10:00:00+00:00",
        "channel_values": {"jobs": [1], "branch:to:merge": None},
        "channel_versions": {"jobs": "1.0.5", "branch:to:merge": "2.0.1"},
        "versions_seen": {"merge": {"branch:to:merge": "1.0.3"}},
        "pending_sends": [send],
    }
    _insert(
        path,
        "v3-1",
        v3["id"],
        None,
        "msgpack",
        msgpack.packb(v3),
        {"source": "loop", "step": 1, "parents": {}},
    )
    async with open_langgraph(str(path)) as cp:
        checkpoint = await cp.get("v3-1")
    assert checkpoint is not None
    assert checkpoint.metadata["langgraph.v"] == 3
    assert checkpoint.values == {"jobs": [1]}
    assert checkpoint.next == ("worker", "merge")  # LangGraph's: sends first


async def test_pickle_checkpoint_is_labelled_and_the_thread_stays_readable(
    tmp_path: Path,
) -> None:
    path = tmp_path / "pickled.db"
    _empty_langgraph_db(path)
    good: dict[str, Any] = {
        "v": 4,
        "id": "1ef7a000-0000-6000-8000-000000000002",
        "ts": "2025-02-01T00:00:00+00:00",
        "channel_values": {"n": 1},
        "channel_versions": {"n": "1.0.1"},
        "versions_seen": {},
    }
    first = "1ef70000-0000-6000-bfff-000000000001"
    _insert(path, "p-1", first, None, "pickle", pickle.dumps({"n": 0}), {"step": -1})
    _insert(path, "p-1", good["id"], first, "msgpack", msgpack.packb(good), {"step": 0})
    async with open_langgraph(str(path)) as cp:
        history = await cp.history("p-1")
    assert [c.id for c in history] == [good["id"], first]
    assert history[0].values == {"n": 1}
    broken = history[1]
    assert broken.values == {}
    assert broken.metadata["langgraph.decode_error"].type_name == "langgraph.pickle"


async def test_writes_without_task_path(built: lgdb.Built, tmp_path: Path) -> None:
    path = tmp_path / "old-writes.db"
    shutil.copy(built.url, path)
    conn = sqlite3.connect(path)
    conn.execute("ALTER TABLE writes DROP COLUMN task_path")  # as sqlite saver <= 3.1.1
    conn.commit()
    conn.close()
    async with open_langgraph(str(path)) as cp:
        assert isinstance(cp, LangGraphSqlite)
        failed = await cp.get("fail-1")
        assert cp.schema_notes
        assert not cp.has_task_path
    assert failed is not None
    assert failed.status == "failed"
    (error,) = failed.errors
    assert error.node.startswith("task:")
    assert error.value["message"] == "kaboom"


def _extend(current: list[str], updates: Sequence[list[str]]) -> list[str]:
    out = list(current or [])
    for update in updates:
        out.extend(update)
    return out


class DeltaState(TypedDict):
    """A DeltaChannel (beta) list with a full snapshot every 3 updates."""

    items: Annotated[list[str], DeltaChannel(_extend, snapshot_frequency=3)]


async def test_delta_channel_values_between_snapshots_are_flagged(
    tmp_path: Path,
) -> None:
    builder = StateGraph(DeltaState)
    builder.add_node("add", lambda s: {"items": [f"i{len(s['items'])}"]})
    builder.add_edge(START, "add")
    builder.add_edge("add", END)
    path = tmp_path / "delta.db"
    config: Any = {"configurable": {"thread_id": "d"}}
    with lgdb.sqlite_saver(path) as saver:
        graph = builder.compile(checkpointer=saver)
        for _ in range(4):
            graph.invoke({"items": []}, config)
        expected = {
            s.config["configurable"]["checkpoint_id"]: s.values["items"]
            for s in graph.get_state_history(config)
        }
    async with open_langgraph(str(path)) as cp:
        history = await cp.history("d")
    assert {c.id for c in history} == set(expected)
    flagged = [c for c in history if "langgraph.delta_channels_not_shown" in c.metadata]
    assert flagged, "no checkpoint between snapshots: the test proves nothing"
    for checkpoint in history:
        if checkpoint in flagged:
            assert "items" not in checkpoint.values
            assert checkpoint.metadata["langgraph.delta_channels_not_shown"] == [
                "items"
            ]
        elif "items" in checkpoint.values:
            assert checkpoint.values["items"] == expected[checkpoint.id]
