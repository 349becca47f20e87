"""Exporting LangGraph threads into writable Timeloom checkpointers."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.langgraph import lgdb
from timeloom.backends.export import EXPORTED_FROM, export_thread
from timeloom.backends.langgraph import open_langgraph
from timeloom.backends.memory import MemoryCheckpointer
from timeloom.backends.sqlite import SqliteCheckpointer
from timeloom.core.checkpointer import BaseCheckpointer
from timeloom.core.errors import ConflictError, ReadOnlyError


@pytest.mark.parametrize("target_kind", ["memory", "sqlite"])
async def test_export_preserves_ids_parents_values_and_writes(
    built: lgdb.Built, tmp_path: Path, target_kind: str
) -> None:
    target: BaseCheckpointer = (
        MemoryCheckpointer()
        if target_kind == "memory"
        else SqliteCheckpointer(tmp_path / "local.db")
    )
    async with open_langgraph(built.url) as source, target:
        for thread in ("hitl-1", "fork-1", "fail-1", "paused-1"):
            copied = await export_thread(source, thread, target)
            original = await source.history(thread)
            assert copied == len(original)
            metas = [m async for m in target.summaries(thread)]
            assert {m.id for m in metas} == {c.id for c in original}
            info = await target.get_thread(thread)
            assert info is not None
            assert info.head_id == original[0].id
            src_info = await source.get_thread(thread)
            assert src_info is not None
            assert info.status == src_info.status
            for want in original:
                got = await target.get(thread, want.id)
                assert got is not None
                assert got.parent_id == want.parent_id
                assert got.step == want.step
                assert got.source == want.source
                assert got.next == want.next
                assert dict(got.values) == dict(want.values)
                assert dict(got.writes) == dict(want.writes)
                assert got.pending_writes == want.pending_writes
                assert got.metadata[EXPORTED_FROM] == {
                    "url": source.url,
                    "thread_id": thread,
                }
        # Inert values survive the target's codec unchanged (same type and fields).
        head = await target.get("hitl-1")
        assert head is not None
        assert head.values["point"].type_name == "tests.langgraph.lgdb.Point"
        assert head.values["point"].fields == {"x": 3, "y": 4}
        assert head.values["messages"][0]["role"] == "user"
        # A subgraph timeline exports too, as a thread of its own.
        sub, *_ = await source.subgraphs("hitl-1")
        assert await export_thread(
            source, sub.thread_id, target, target_thread_id="sub"
        )
        # Advice the export command can follow (it has no option to rename).
        with pytest.raises(ConflictError, match="into another database"):
            await export_thread(source, "hitl-1", target)


async def test_export_into_read_only_target_is_refused(built: lgdb.Built) -> None:
    async with open_langgraph(built.url) as source, open_langgraph(built.url) as other:
        with pytest.raises(ReadOnlyError):
            await export_thread(source, "chat-1", other, target_thread_id="copy")
