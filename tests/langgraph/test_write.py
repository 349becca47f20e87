"""Writing to LangGraph databases through LangGraph itself: the runner (edit, branch,
resume with the user's graph and LangGraph's saver) and ``copy_thread``.

Every check of what was written asks real LangGraph, through a fresh saver on the
same database, besides Timeloom's reader.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from langgraph.types import Command

from tests.langgraph import lgdb
from timeloom.backends.langgraph import LangGraphReader, open_langgraph
from timeloom.backends.langgraph.copy import ORIGIN_KEY, acopy_thread, copy_thread
from timeloom.core.checkpoint import Checkpoint
from timeloom.core.errors import ConflictError, node_failure
from timeloom.tui.ops.actions import ActionRefused
from timeloom.tui.ops.editcheck import ParsedEdit
from timeloom.tui.ops.resuming import Answer
from timeloom.tui.ops.runners.base import BranchOptions
from timeloom.tui.ops.runners.langgraph import LangGraphRunner


@contextmanager
def langgraph_saver(url: str) -> Iterator[Any]:
    """LangGraph's own sync saver on ``url`` (what the user's app would use)."""
    if url.startswith("postgresql://"):
        with lgdb.postgres_saver(url) as saver:
            yield saver
    else:
        with lgdb.sqlite_saver(url) as saver:
            yield saver


def cfg(thread_id: str, **extra: Any) -> dict[str, Any]:
    return {"configurable": {"thread_id": thread_id, **extra}}


@pytest.fixture
async def reader(writable: str) -> AsyncIterator[LangGraphReader]:
    found = open_langgraph(writable)
    await found.setup()
    yield found
    await found.aclose()


def runner_for(reader: LangGraphReader, builder: Any) -> LangGraphRunner:
    return LangGraphRunner(reader, builder)


def edited(values: dict[str, Any], **changes: Any) -> ParsedEdit:
    return ParsedEdit({**values, **changes}, tuple(changes), ())


# -- copy_thread, the library call ----------------------------------------------------


def test_copy_thread_then_langgraph_resumes_the_copy(writable: str) -> None:
    with langgraph_saver(writable) as saver:
        graph = lgdb.scenario_graph(saver)
        head = graph.get_state(cfg("paused-1"))
        copied = copy_thread(saver, head.config, "paused-1-copy")
        assert copied["configurable"]["thread_id"] == "paused-1-copy"
        state = graph.get_state(cfg("paused-1-copy"))
        assert state.next == ("approve",)
        assert [i.value for t in state.tasks for i in t.interrupts] == [
            {"question": "Approve the refund?", "amount": 42}
        ]
        assert state.metadata[ORIGIN_KEY] == {
            "thread_id": "paused-1",
            "checkpoint_ns": "",
            "checkpoint_id": head.config["configurable"]["checkpoint_id"],
        }
        graph.invoke(Command(resume="no"), cfg("paused-1-copy"))
        done = graph.get_state(cfg("paused-1-copy"))
        assert done.next == ()
        assert done.values["approved"] == "no (checked deep down)"
        # The original is untouched: still waiting for its answer.
        assert graph.get_state(cfg("paused-1")).next == ("approve",)
        with pytest.raises(ConflictError):
            copy_thread(saver, head.config, "paused-1-copy")


def test_a_copy_of_a_step_that_ran_runs_it_again(writable: str) -> None:
    """hitl-1 was asked and answered "yes". Its checkpoint at the question holds
    the finished step's writes (approve's result, the answer); copied along, they
    made the copy skip the step: no question, the old answer reused. Only a
    step that has not finished has pending writes to carry over; a copy of one
    that ran asks again, as LangGraph's own time travel from there does."""
    with langgraph_saver(writable) as saver:
        graph = lgdb.scenario_graph(saver)
        asked = next(
            s for s in graph.get_state_history(cfg("hitl-1")) if s.next == ("approve",)
        )
        assert asked.tasks[0].result is not None  # the step ran from here
        copy_thread(saver, asked.config, "hitl-1-again")
        paused = graph.invoke(None, cfg("hitl-1-again"))
        assert [i.value for i in paused["__interrupt__"]] == [
            {"question": "Approve the refund?", "amount": 42}
        ]
        graph.invoke(Command(resume="no"), cfg("hitl-1-again"))
        assert graph.get_state(cfg("hitl-1-again")).values["approved"] == (
            "no (checked deep down)"
        )
        assert graph.get_state(cfg("hitl-1")).values["approved"] == (
            "yes (checked deep down)"
        )


def test_copy_thread_with_ancestry_keeps_the_history(writable: str) -> None:
    with langgraph_saver(writable) as saver:
        graph = lgdb.chat_graph(saver)
        history = list(graph.get_state_history(cfg("fail-1")))
        copy_thread(saver, history[0].config, "fail-1-copy", ancestry=True)
        copied = list(graph.get_state_history(cfg("fail-1-copy")))
        assert [s.config["configurable"]["checkpoint_id"] for s in copied] == [
            s.config["configurable"]["checkpoint_id"] for s in history
        ]
        assert [s.values for s in copied] == [s.values for s in history]
        # The failed node's error came along: only "respond" runs again, and fails.
        assert [t.error for t in copied[0].tasks] == ["ValueError('kaboom')"]
        graph.update_state(cfg("fail-1-copy"), {"fail": False})
        graph.invoke(None, cfg("fail-1-copy"))
        assert graph.get_state(cfg("fail-1-copy")).values["messages"][-1].content == (
            "done"
        )


async def test_acopy_thread_and_the_reader_shows_the_fork(
    writable: str, reader: LangGraphReader
) -> None:
    with langgraph_saver(writable) as saver:
        head = lgdb.scenario_graph(saver).get_state(cfg("paused-1"))
    runner = runner_for(reader, lgdb.scenario_builder())
    saver = (await runner.bound()).checkpointer
    await acopy_thread(saver, head.config, "paused-1-b")
    await runner.aclose()
    origin_id = head.config["configurable"]["checkpoint_id"]
    root = await reader.get("paused-1-b")
    assert root is not None
    assert (root.parent_thread_id, root.parent_id) == ("paused-1", origin_id)
    assert root.summary().is_fork_root
    forks = await reader.forks("paused-1")
    assert [m.thread_id for m in forks[origin_id]] == ["paused-1-b"]
    assert [m.thread_id for m in await reader.children(origin_id)] == ["paused-1-b"]
    info = await reader.get_thread("paused-1-b")
    assert info is not None
    assert info.status == "paused"


# -- the runner ---------------------------------------------------------------------


async def test_resume_answers_the_interrupt(
    writable: str, reader: LangGraphReader
) -> None:
    runner = runner_for(reader, lgdb.scenario_builder())
    head = await reader.get("paused-1")
    assert head is not None
    assert head.interrupts
    seen: list[str] = []
    try:
        outcome = await runner.resume(
            head, answer=Answer("no"), on_checkpoint=lambda c: seen.append(c.id)
        )
    finally:
        await runner.aclose()
    assert outcome.status == "done"
    assert [c.id for c in outcome.committed] == seen
    assert len(seen) >= 3
    assert outcome.last.values["approved"] == "no (checked deep down)"
    with langgraph_saver(writable) as saver:
        state = lgdb.scenario_graph(saver).get_state(cfg("paused-1"))
    assert state.next == ()
    assert state.config["configurable"]["checkpoint_id"] == outcome.last.id


async def test_time_travel_asks_the_interrupt_it_reaches(
    writable: str, reader: LangGraphReader
) -> None:
    """From an older checkpoint LangGraph writes a fork checkpoint, runs on and
    pauses at the interrupt again: every checkpoint it commits is shown and the
    question is asked (LangGraph announces a checkpoint before its saver commits it,
    so what it announces is read back once committed)."""
    runner = runner_for(reader, lgdb.scenario_builder())
    head = await reader.get("paused-1")
    assert head is not None
    assert head.parent_id is not None
    older = await reader.get("paused-1", head.parent_id)
    assert older is not None
    asked: list[Checkpoint] = []

    async def ask(at: Checkpoint, _waiting: object) -> Answer | None:
        asked.append(at)
        return None  # stay paused

    seen: list[str] = []
    try:
        outcome = await runner.resume(
            older, ask=ask, on_checkpoint=lambda c: seen.append(c.id)
        )
    finally:
        await runner.aclose()
    assert outcome.status == "paused"
    assert [c.id for c in outcome.committed] == seen
    assert outcome.committed[0].source == "fork"
    assert outcome.last.interrupts
    assert [c.id for c in asked] == [outcome.last.id]
    with langgraph_saver(writable) as saver:
        state = lgdb.scenario_graph(saver).get_state(cfg("paused-1"))
    assert state.config["configurable"]["checkpoint_id"] == outcome.last.id
    assert state.next == ("approve",)


async def test_resume_of_a_failed_node_fails_again_then_an_edit_fixes_it(
    writable: str, reader: LangGraphReader
) -> None:
    runner = runner_for(reader, lgdb.chat_builder())
    try:
        head = await reader.get("fail-1")
        assert head is not None
        assert head.errors
        with pytest.raises(ValueError, match="kaboom") as raised:
            await runner.resume(head)
        failure = node_failure(raised.value)
        assert failure is not None
        assert failure.node == "respond"
        fixed = await runner.edit(head, edited(dict(head.values), fail=False))
        assert fixed.source == "update"
        assert fixed.values["fail"] is False
        assert fixed.next == ("respond",)
        outcome = await runner.resume(fixed)
    finally:
        await runner.aclose()
    assert outcome.status == "done"
    with langgraph_saver(writable) as saver:
        state = lgdb.chat_graph(saver).get_state(cfg("fail-1"))
    assert state.next == ()
    assert state.values["messages"][-1].content == "done"
    assert state.values["fail"] is False


async def test_edit_respects_the_reducers(
    writable: str, reader: LangGraphReader
) -> None:
    runner = runner_for(reader, lgdb.chat_builder())
    try:
        head = await reader.get("chat-1")
        assert head is not None
        log = [*head.values["log"], "edited"]
        saved = await runner.edit(head, edited(dict(head.values), log=log))
        with pytest.raises(ActionRefused, match="reducer"):
            await runner.edit(saved, edited(dict(saved.values), log=["only this"]))
    finally:
        await runner.aclose()
    assert saved.values["log"] == log
    with langgraph_saver(writable) as saver:
        state = lgdb.chat_graph(saver).get_state(cfg("chat-1"))
    assert state.values["log"] == log  # appended once, not the whole list again
    assert len(state.values["messages"]) == len(head.values["messages"])


async def test_branch_into_a_new_thread_and_resume_it(
    writable: str, reader: LangGraphReader
) -> None:
    runner = runner_for(reader, lgdb.scenario_builder())
    try:
        head = await reader.get("paused-1")
        assert head is not None
        with pytest.raises(ActionRefused, match="already exists"):
            await runner.branch(head, "hitl-1", BranchOptions())
        root = await runner.branch(head, "paused-1-b", BranchOptions())
        assert root.thread_id == "paused-1-b"
        assert (root.parent_thread_id, root.parent_id) == ("paused-1", head.id)
        assert root.interrupts
        outcome = await runner.resume(root, answer=Answer("maybe"))
    finally:
        await runner.aclose()
    assert outcome.status == "done"
    assert outcome.last.thread_id == "paused-1-b"
    with langgraph_saver(writable) as saver:
        graph = lgdb.scenario_graph(saver)
        assert graph.get_state(cfg("paused-1-b")).values["approved"] == (
            "maybe (checked deep down)"
        )
        assert graph.get_state(cfg("paused-1")).next == ("approve",)


async def test_a_subgraph_timeline_is_not_branched_alone(
    writable: str, reader: LangGraphReader
) -> None:
    """A copy of a subgraph's checkpoint alone would be a subgraph timeline of a
    thread with no checkpoint of its own: refused, naming the thread to branch."""
    runner = runner_for(reader, lgdb.scenario_builder())
    try:
        subgraphs = await reader.subgraphs("hitl-1")
        assert subgraphs
        sub = await reader.get(subgraphs[0].thread_id)
        assert sub is not None
        with pytest.raises(ActionRefused, match="Branch the checkpoint of 'hitl-1'"):
            await runner.branch(sub, "hitl-1-sub", BranchOptions())
    finally:
        await runner.aclose()
    assert await reader.get_thread("hitl-1-sub") is None
    assert not [t for t in await reader.threads(search="hitl-1-sub")]


async def test_a_branch_with_its_history_keeps_who_wrote_each_step(
    writable: str, reader: LangGraphReader
) -> None:
    """Branched with its ancestry, the copied steps read ``task:84ca2606`` where
    the original's read ``typed``, ``approve``...: the ancestors' writes were
    copied without their task paths, which is how LangGraph names a writer."""
    runner = runner_for(reader, lgdb.scenario_builder())
    try:
        head = await reader.get("hitl-1")
        assert head is not None
        await runner.branch(head, "hitl-1-all", BranchOptions(ancestry=True))
    finally:
        await runner.aclose()
    original = [(m.step, m.nodes) async for m in reader.summaries("hitl-1")]
    copied = [(m.step, m.nodes) async for m in reader.summaries("hitl-1-all")]
    assert {n for _, nodes in original for n in nodes} >= {"typed", "approve"}
    assert copied == original


async def test_branch_with_an_edit(writable: str, reader: LangGraphReader) -> None:
    runner = runner_for(reader, lgdb.chat_builder())
    try:
        head = await reader.get("fail-1")
        assert head is not None
        options = BranchOptions(edit=edited(dict(head.values), fail=False))
        branched = await runner.branch(head, "fail-1-fixed", options)
        assert branched.thread_id == "fail-1-fixed"
        assert branched.source == "update"
        outcome = await runner.resume(branched)
    finally:
        await runner.aclose()
    assert outcome.status == "done"
    with langgraph_saver(writable) as saver:
        graph = lgdb.chat_graph(saver)
        assert graph.get_state(cfg("fail-1-fixed")).next == ()
        assert graph.get_state(cfg("fail-1")).tasks[0].error  # the original still fails


async def test_without_a_graph_nothing_is_written_and_the_refusal_says_how(
    reader: LangGraphReader,
) -> None:
    locked = LangGraphRunner(reader, None)
    for action in ("edit", "branch", "resume"):
        reason = locked.refusal(action)
        assert reason is not None
        assert "--graph" in reason
        assert "--read-only" not in reason
    read_only = LangGraphRunner(reader, lgdb.chat_builder(), read_only=True)
    reason = read_only.refusal("edit")
    assert reason is not None
    assert "read-only (-r)" in reason
    head = await reader.get("fail-1")
    assert head is not None
    with pytest.raises(ActionRefused):
        await read_only.resume(head)


async def test_messages_are_edited_as_messages(
    writable: str, reader: LangGraphReader
) -> None:
    from timeloom.tui.ops.editcheck import parse_edit
    from timeloom.tui.ops.jsonedit import dumps

    runner = runner_for(reader, lgdb.chat_builder())
    try:
        head = await reader.get("chat-1")
        assert head is not None
        text = dumps(dict(head.values))
        assert '"$message": "langchain_core.messages.human.HumanMessage"' in text
        assert "$inert" not in text  # no opaque block for a message
        unchanged = parse_edit(text, head.values)
        assert unchanged.changed == ()  # read back byte for byte
        edit = parse_edit(
            text.replace('"content": "hi"', '"content": "HI"'), head.values
        )
        assert edit.changed == ("messages",)
        await runner.edit(head, edit)
    finally:
        await runner.aclose()
    with langgraph_saver(writable) as saver:
        messages = lgdb.chat_graph(saver).get_state(cfg("chat-1")).values["messages"]
    assert [m.content for m in messages][:1] == ["HI"]
    assert len(messages) == len(head.values["messages"])
