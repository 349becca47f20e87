"""Subgraph timeline ids as the TUI reads and shows them (headless)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from timeloom.backends.memory import MemoryCheckpointer
from timeloom.core.checkpoint import ThreadInfo
from timeloom.tui.ops.subgraphs import (
    breadcrumb,
    is_subgraph,
    levels,
    named_in,
    namespace,
    parent_of,
    path_name,
    ran_from,
    root_of,
    short_name,
    subgraph_names,
    subgraphs_by_checkpoint,
)

DEEP = "t|outer:2744ee2a-08d0-5bf0|inner:b8507118-518c-2909"


def info(thread_id: str, metadata: dict[str, Any]) -> ThreadInfo:
    when = datetime(2026, 1, 1, tzinfo=UTC)
    return ThreadInfo(thread_id, "done", "head", 1, when, when, metadata=metadata)


def test_a_timeline_id_splits_into_thread_and_namespace() -> None:
    assert not is_subgraph("t")
    assert is_subgraph(DEEP)
    assert root_of(DEEP) == "t"
    assert root_of("t") == "t"
    assert namespace("t") == ""
    assert namespace(DEEP) == "outer:2744ee2a-08d0-5bf0|inner:b8507118-518c-2909"
    assert parent_of(DEEP) == "t|outer:2744ee2a-08d0-5bf0"
    assert parent_of("t|outer:1") == "t"
    assert parent_of("t") is None


def test_a_timeline_reads_as_its_path_with_short_task_ids() -> None:
    assert breadcrumb(DEEP) == "t › outer:2744ee2a › inner:b8507118"
    assert breadcrumb("t") == "t"
    assert path_name(DEEP) == "outer:2744ee2a › inner:b8507118"
    assert short_name(DEEP) == "inner:b8507118"
    # A namespace without a task id (a subgraph compiled with its own
    # checkpointer keeps one timeline) reads as its node.
    assert breadcrumb("t|sub") == "t › sub"
    assert subgraph_names(["t|a:1", "t|b:2", "t|a:3"]) == ["a ×2", "b"]


def test_a_second_graph_of_one_task_is_on_the_same_level() -> None:
    # As LangGraph names it: the second graph a task runs is "ns|1".
    second = "t|sub:2744ee2a-08d0|1"
    assert levels(second) == ["sub:2744ee2a-08d0|1"]
    assert parent_of(second) == "t"
    assert breadcrumb(second) == "t › sub:2744ee2a|1"
    assert parent_of("t|a:1|b:2|3") == "t|a:1"
    assert subgraph_names(["t|sub:1", second]) == ["sub ×2"]
    assert ran_from(info(second, {"parents": {"": "root-cp"}})) == "root-cp"


def test_the_checkpoint_a_subgraph_ran_from_is_its_parents_entry() -> None:
    parents = {"": "root-cp", "outer:2744ee2a-08d0-5bf0": "outer-cp"}
    assert ran_from(info(DEEP, {"parents": parents})) == "outer-cp"
    assert ran_from(info("t|outer:1", {"parents": {"": "root-cp"}})) == "root-cp"
    # Not recorded, or not of the right shape: unknown, never a crash.
    assert ran_from(info("t|outer:1", {})) is None
    assert ran_from(info("t|outer:1", {"parents": ["root-cp"]})) is None
    assert ran_from(info("t|outer:1", {"parents": {"": 7}})) is None
    assert ran_from(info("t", {"parents": {"": "x"}})) is None


def test_only_direct_subgraphs_named_in_metadata_count() -> None:
    named = {"timeloom.subgraphs": ["t|a:1", "t|a:1|b:2", "u|a:1", 3]}
    assert named_in(named, "t") == ["t|a:1"]
    assert named_in(named, "t|a:1") == ["t|a:1|b:2"]
    assert named_in({"timeloom.subgraphs": "t|a:1"}, "t") == []
    assert named_in({}, "t") == []


async def test_a_database_without_subgraphs_has_none_to_show() -> None:
    checkpointer = MemoryCheckpointer()
    await checkpointer.setup()
    assert await subgraphs_by_checkpoint(checkpointer, "t") == {}
