"""The LangGraph reader against databases written by real LangGraph (SQLite and,
where a server can be had, Postgres)."""

from __future__ import annotations

import asyncio
import dataclasses
import enum
import sqlite3
from datetime import datetime
from pathlib import Path
from typing import Any

from langchain_core.messages import BaseMessage, HumanMessage
from pydantic import BaseModel, SecretStr

from tests.langgraph import lgdb
from tests.langgraph.lgdb import Built
from timeloom.backends.langgraph import (
    Inert,
    LangGraphSqlite,
    is_langgraph_sqlite,
    open_langgraph,
)
from timeloom.backends.langgraph.decode import MASK, inert, is_message
from timeloom.core.checkpoint import Checkpoint, CheckpointMeta


def plain(value: Any) -> Any:
    """A comparable form of a value, from LangGraph's revived objects or our inert
    values alike: messages by role/content/tool calls/id, other classes by their
    short type name and fields (secrets masked)."""
    if isinstance(value, BaseMessage):
        return {
            "message": type(value).__name__,
            "content": value.content,
            "tool_calls": getattr(value, "tool_calls", []) or [],
            "id": value.id,
        }
    if is_message(value):
        return {
            "message": value.type_name.rsplit(".", 1)[-1],
            "content": value["content"],
            "tool_calls": value.fields.get("tool_calls", []),
            "id": value.fields.get("id"),
        }
    if isinstance(value, SecretStr):
        return MASK
    if isinstance(value, Inert) and value.type_name == "pydantic.types.SecretStr":
        return value["value"]
    if isinstance(value, Inert):
        return {
            "type": value.type_name.rsplit(".", 1)[-1],
            **plain(dict(value.fields or {})),
        }
    if isinstance(value, enum.Enum):
        return {"type": type(value).__name__, "value": value.value}
    if isinstance(value, BaseModel):
        fields = {k: getattr(value, k) for k in type(value).model_fields}
        return {"type": type(value).__name__, **plain(fields)}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
        return {"type": type(value).__name__, **plain(fields)}
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


async def test_counts_parents_and_values_match_langgraph(source: Built) -> None:
    async with open_langgraph(str(source.url)) as cp:
        for (thread_id, ns), expected in source.history.items():
            timeline = f"{thread_id}|{ns}" if ns else thread_id
            got = await cp.history(timeline)
            assert [c.id for c in got] == [e["id"] for e in expected], timeline
            for cp_got, cp_exp in zip(got, expected, strict=True):
                assert cp_got.thread_id == timeline
                assert cp_got.parent_id == cp_exp["parent"]
                # A reducer channel never written is absent from storage; LangGraph
                # shows the graph's empty default ([]), which needs the graph.
                exp_values = {
                    k: v
                    for k, v in cp_exp["values"].items()
                    if k in cp_got.values or v != []
                }
                assert plain(dict(cp_got.values)) == plain(exp_values)
                assert cp_got.created_at == datetime.fromisoformat(cp_exp["created_at"])
                assert cp_got.source == cp_exp["metadata"]["source"]
                assert cp_got.step == cp_exp["metadata"]["step"]
                for key, value in cp_exp["metadata"].items():
                    assert cp_got.metadata[key] == value
                if "next" in cp_exp:
                    assert set(cp_got.next) == set(cp_exp["next"]), cp_got.id
                    assert cp_got.metadata["timeloom.next_derived"] is True
                    assert [
                        f"{e.value['type']}('{e.value['message']}')"
                        for e in cp_got.errors
                    ] == cp_exp["errors"]
                # The summaries agree with the full checkpoints.
            metas = [m async for m in cp.summaries(timeline)]
            assert [m.id for m in metas] == [c.id for c in got]
            for meta, full in zip(metas, got, strict=True):
                assert meta.next == full.next
                assert meta.nodes == tuple(full.writes)
                assert meta.has_error == bool(full.errors)
                assert meta.has_interrupt == bool(full.interrupts)
                assert meta.size is not None
                assert meta.size > 0


async def test_threads_list_root_graphs_with_counts(source: Built) -> None:
    async with open_langgraph(source.url) as cp:
        threads = await cp.threads()
        roots = {t: len(h) for (t, ns), h in source.history.items() if not ns}
        assert {t.thread_id: t.checkpoint_count for t in threads} == roots
        updated = [t.updated_at for t in threads]
        assert updated == sorted(updated, reverse=True)
        assert await cp.count_threads() == len(roots)
        status = {t.thread_id: t.status for t in threads}
        assert status["fail-1"] == "failed"
        assert status["paused-1"] == "paused"
        assert status["chat-1"] == "done"
        assert [t.thread_id for t in await cp.threads(status="paused")] == ["paused-1"]
        assert await cp.count_threads(status="failed") == 1
        assert [t.thread_id for t in await cp.threads(search="fork")] == ["fork-1"]
        assert await cp.threads(search="FORK") == []  # a prefix, case-sensitive
        assert await cp.threads(search="%") == []  # not a pattern
        page = await cp.threads(limit=2, offset=1)
        assert [t.thread_id for t in page] == [t.thread_id for t in threads[1:3]]
        users = await cp.threads(metadata={"user_id": "u1"})
        assert [t.thread_id for t in users] == ["chat-1"]
        info = await cp.get_thread("fork-1")
        assert info is not None
        assert info.checkpoint_count == roots["fork-1"]


async def test_fork_is_a_sibling_branch(built: Built) -> None:
    async with open_langgraph(str(built.url)) as cp:
        history = await cp.history("fork-1")
        forks = [c for c in history if c.source == "fork"]
        assert len(forks) == 1
        fork = forks[0]
        siblings = await cp.children(fork.parent_id or "")
        assert {m.source for m in siblings} == {"loop", "fork"}
        assert fork.writes == {}
        # The replayed branch: the loop checkpoint after the fork ran "tool".
        (after,) = await cp.children(fork.id)
        assert after.nodes == ("tool",)


async def test_update_state_checkpoint(built: Built) -> None:
    async with open_langgraph(str(built.url)) as cp:
        head = await cp.get("update-1")
        assert head is not None
        assert head.source == "update"
        assert head.writes == {"update_state": {"log": ["edited"]}}
        assert head.values["log"][-1] == "edited"
        parent = await cp.get("update-1", head.parent_id)
        assert parent is not None
        # The update rows were committed by the update child: not pending.
        assert parent.pending_writes == ()


async def test_interrupt_resume_and_error(source: Built) -> None:
    async with open_langgraph(str(source.url)) as cp:
        paused = await cp.get("paused-1")
        assert paused is not None
        assert paused.status == "paused"
        (interrupt,) = paused.interrupts
        assert interrupt.node == "approve"
        assert interrupt.value["when"] == "during"
        assert interrupt.value["value"] == {
            "question": "Approve the refund?",
            "amount": 42,
        }
        expected = source.history[("paused-1", "")][0]["interrupts"]
        assert [(interrupt.value["id"], interrupt.value["value"])] == expected

        history = await cp.history("hitl-1")
        asked = next(
            c for c in history if any(w.kind == "interrupt" for w in c.pending_writes)
        )
        kinds = [w.kind for w in asked.pending_writes]
        assert kinds == ["interrupt", "resume"]
        ask, answer = asked.pending_writes
        assert answer.value == {"id": ask.value["id"], "value": "yes"}
        assert asked.interrupts == ()  # answered
        assert history[0].values["approved"] == "yes (checked deep down)"

        failed = await cp.get("fail-1")
        assert failed is not None
        assert failed.status == "failed"
        (error,) = failed.errors
        assert error.node == "respond"
        assert error.value == {
            "type": "ValueError",
            "message": "kaboom",
            "traceback": "",
            "repr": "ValueError('kaboom')",
        }


async def test_typed_values_decode_safely(source: Built) -> None:
    async with open_langgraph(str(source.url)) as cp:
        head = await cp.get("hitl-1")
        assert head is not None
        values = head.values
        assert values["when"] == lgdb.WHEN
        assert values["uid"] == lgdb.UID
        assert str(values["amount"]) == "42.10"
        assert values["tags"] == {"a", "b"}
        assert values["raw"] == b"\x00\x01binary"
        assert values["color"] == inert(
            "tests.langgraph.lgdb.Color", {"value": "green"}
        )
        assert values["point"] == inert("tests.langgraph.lgdb.Point", {"x": 3, "y": 4})
        assert values["point"].x == 3
        profile = values["profile"]
        assert isinstance(profile, Inert)
        assert profile.kind == "pydantic"
        assert profile["name"] == "ada"
        assert profile["api_key"]["value"] == MASK
        assert lgdb.SECRET not in repr(head)
        first, *_ = values["messages"]
        assert is_message(first)
        assert first["role"] == "user"
        ai = [m for m in values["messages"] if m["role"] == "assistant"]
        assert ai
        assert all(m.type_name == "langchain_core.messages.ai.AIMessage" for m in ai)


async def test_tool_calls_are_shown(built: Built) -> None:
    async with open_langgraph(str(built.url)) as cp:
        head = await cp.get("chat-1")
        assert head is not None
        call = next(m for m in head.values["messages"] if "tool_calls" in m.fields)
        assert call["tool_calls"][0]["name"] == "lookup"
        reply = next(m for m in head.values["messages"] if m["role"] == "tool")
        assert reply["tool_call_id"] == call["tool_calls"][0]["id"]


async def test_subgraph_is_its_own_timeline(source: Built) -> None:
    async with open_langgraph(str(source.url)) as cp:
        subgraphs = await cp.subgraphs("hitl-1")
        (sub,) = [s for s in subgraphs if s.thread_id.count("|") == 1]
        (deep,) = [s for s in subgraphs if s.thread_id.count("|") == 2]
        ns = sub.thread_id.split("|", 1)[1]
        assert ns.startswith("sub:")
        assert deep.thread_id.startswith(f"{sub.thread_id}|deep:")
        for info in (sub, deep):
            ns_of = info.thread_id.split("|", 1)[1]
            assert info.checkpoint_count == len(source.history[("hitl-1", ns_of)])
            got = await cp.get_thread(info.thread_id)
            assert got is not None
            assert got.checkpoint_count == info.checkpoint_count
        metas = [m async for m in cp.summaries(sub.thread_id)]
        assert metas[0].metadata["langgraph.checkpoint_ns"] == ns
        root_id = metas[0].metadata["parents"][""]
        root = await cp.get("hitl-1", root_id)
        assert root is not None
        assert root.metadata["timeloom.subgraphs"] == [sub.thread_id]
        # The checkpoint of "sub" that ran "deep" names the nested timeline.
        deep_metas = [m async for m in cp.summaries(deep.thread_id)]
        sub_parent = deep_metas[0].metadata["parents"][ns]
        runner = await cp.get(sub.thread_id, sub_parent)
        assert runner is not None
        assert runner.metadata["timeloom.subgraphs"] == [deep.thread_id]
        assert {t.thread_id for t in await cp.threads()} == {
            t for t, n in source.history if not n
        }


async def test_list_paging_and_filter(source: Built) -> None:
    async with open_langgraph(str(source.url)) as cp:
        all_ids = [m.id async for m in cp.summaries("chat-1")]
        first = [m.id async for m in cp.summaries("chat-1", limit=3)]
        rest = [m.id async for m in cp.summaries("chat-1", before=first[-1])]
        assert first + rest == all_ids
        inputs = [m async for m in cp.summaries("chat-1", filter={"source": "input"})]
        # The second turn's input checkpoint continues the step count.
        assert [m.step for m in inputs] == [4, -1]
        assert all(m.nodes == ("__input__",) for m in inputs)
        mine = [
            m async for m in cp.summaries("chat-1", filter={"user_id": "u1", "step": 0})
        ]
        assert [m.step for m in mine] == [0]
        assert [m async for m in cp.summaries("chat-1", filter={"user_id": "u2"})] == []
        assert [m async for m in cp.summaries("no-such-thread")] == []
        assert await cp.get("no-such-thread") is None
        found = await cp.get(None, all_ids[3])
        assert found is not None
        assert found.thread_id == "chat-1"
        recent = await cp.recent(thread_id="chat-1", limit=100)
        assert [m.id for m in recent] == sorted(all_ids)


def test_detection_helper(built: Built, tmp_path: Path) -> None:
    conn = sqlite3.connect(f"file:{built.url}?mode=ro", uri=True)
    try:
        assert is_langgraph_sqlite(conn)
    finally:
        conn.close()
    other = sqlite3.connect(tmp_path / "other.db")
    other.execute("CREATE TABLE checkpoints (id TEXT)")
    assert not is_langgraph_sqlite(other)
    other.close()


async def test_checkpoint_objects_are_model_instances(built: Built) -> None:
    async with open_langgraph(f"sqlite:///{built.url}") as cp:
        head = await cp.get("chat-1")
        assert isinstance(head, Checkpoint)
        assert isinstance(cp, LangGraphSqlite)
        assert cp.warnings == []


async def test_watch_sees_checkpoints_langgraph_commits(
    scenario_db: Path,
) -> None:
    async with open_langgraph(str(scenario_db)) as cp:
        before = {m.id async for m in cp.summaries("chat-1")}
        seen: list[CheckpointMeta] = []

        async def follow() -> None:
            async for meta in cp.watch("chat-1", poll_interval=0.05):
                if meta.id not in before:
                    seen.append(meta)
                if len(seen) == 5:
                    return

        task = asyncio.create_task(follow())
        await asyncio.sleep(0.2)

        def another_turn() -> None:
            with lgdb.sqlite_saver(scenario_db) as saver:
                lgdb.chat_graph(saver).invoke(
                    {"messages": [HumanMessage(content="third")]},
                    {"configurable": {"thread_id": "chat-1"}},
                )

        await asyncio.to_thread(another_turn)
        await asyncio.wait_for(task, timeout=10)
    assert [m.source for m in seen] == ["input", "loop", "loop", "loop", "loop"]
    assert [m.nodes for m in seen][1:] == [
        ("__start__",),
        ("agent",),
        ("tool",),
        ("respond",),
    ]


async def test_history_decodes_shared_prefixes_once(tmp_path: Path) -> None:
    path = tmp_path / "grow.db"
    with lgdb.sqlite_saver(path) as saver:
        # Enough turns for checkpoints past the small-blob threshold (4 KB).
        lgdb.write_small(saver, turns=10, grow=True)
    async with open_langgraph(str(path)) as cp:
        history = await cp.history("small")
        alone = [await cp.get("small", c.id) for c in history]
    # The same values as decoding each checkpoint alone...
    assert [dict(c.values) for c in history] == [
        dict(c.values) for c in alone if c is not None
    ]
    # ...with a grown list's old items decoded once and shared with the parent.
    head, parent = history[0], history[1]
    assert len(head.values["notes"]) > len(parent.values["notes"]) > 0
    assert head.values["notes"][0] is parent.values["notes"][0]
    assert head.values["notes"] is not parent.values["notes"]


async def test_subgraph_timelines_are_findable_and_not_forks(
    built: lgdb.Built,
) -> None:
    reader = open_langgraph(built.url)
    try:
        found = await reader.threads(search="hitl-1|")
        subgraphs = sorted(i.thread_id for i in found)
        assert len(subgraphs) == 2  # sub:<task> and, inside it, deep:<task>
        assert all(t.startswith("hitl-1|sub:") for t in subgraphs)
        assert await reader.count_threads(search="hitl-1|") == 2
        assert [i.thread_id for i in await reader.threads(search="hitl-1")] == [
            "hitl-1"
        ]
        # A subgraph is not a fork (the TUI shows it as a subgraph, not a branch).
        assert await reader.forks("hitl-1") == {}
        assert await reader.forks(subgraphs[0]) == {}
    finally:
        await reader.aclose()
