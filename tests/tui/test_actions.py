"""The write actions (edit, branch, resume) on the demo database in memory, and
loading the graph named by --graph."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import TypedDict

import pytest

from tests.tui.conftest import head, written_by
from timeloom.backends.memory import MemoryCheckpointer
from timeloom.core import (
    END,
    START,
    Checkpoint,
    CompiledGraph,
    PendingWrite,
    StateGraph,
    node_failure,
)
from timeloom.core.errors import ConflictError
from timeloom.tui.demo.agent import PaymentError, build_graph
from timeloom.tui.demo.build import FORK
from timeloom.tui.ops import actions, resuming
from timeloom.tui.ops.actions import ActionRefused, write_action_refusal
from timeloom.tui.ops.diffing import diff_values
from timeloom.tui.ops.editcheck import parse_edit
from timeloom.tui.ops.errors import describe_error
from timeloom.tui.ops.graphref import GraphLoadError, bind_graph, load_graph
from timeloom.tui.ops.jsonedit import JsonEditError, dumps
from timeloom.tui.ops.resuming import Answer


async def count(checkpointer: MemoryCheckpointer) -> int:
    total = 0
    for info in await checkpointer.threads(limit=1000):
        total += info.checkpoint_count
    return total


# -- refusals ---------------------------------------------------------------------------


async def test_refusal_reasons(demo: tuple[MemoryCheckpointer, CompiledGraph]) -> None:
    checkpointer, graph = demo
    assert write_action_refusal(checkpointer, graph, "resume") is None
    assert write_action_refusal(checkpointer, None, "edit") is None
    assert write_action_refusal(checkpointer, None, "branch") is None
    reason = write_action_refusal(checkpointer, None, "resume")
    assert reason == (
        "resume needs the graph: timeloom open memory: --graph package.module:attribute"
    )
    checkpointer.read_only = True
    for action in ("edit", "branch", "resume"):
        reason = write_action_refusal(checkpointer, graph, action)
        assert reason is not None
        assert "read-only" in reason
    assert write_action_refusal(None, graph, "edit") is not None


async def test_every_write_action_refused_read_only(
    demo: tuple[MemoryCheckpointer, CompiledGraph],
) -> None:
    checkpointer, graph = demo
    paused = await head(checkpointer, "refund-2077")
    edit = parse_edit(
        dumps({**paused.values, "approved": True}), paused.values, graph.schema
    )
    before = await count(checkpointer)
    checkpointer.read_only = True
    for g in (graph, None):
        with pytest.raises(ActionRefused, match="read-only"):
            await actions.save_edit(checkpointer, g, paused, edit)
        with pytest.raises(ActionRefused, match="read-only"):
            await actions.branch(checkpointer, g, paused, "refund-2077-b")
        with pytest.raises(ActionRefused, match="read-only"):
            await resuming.resume(checkpointer, g, paused, answer=Answer("yes"))
    checkpointer.read_only = False
    assert await count(checkpointer) == before


async def test_resume_without_graph_refused(
    demo: tuple[MemoryCheckpointer, CompiledGraph],
) -> None:
    checkpointer, _ = demo
    paused = await head(checkpointer, "refund-2077")
    with pytest.raises(ActionRefused, match="resume needs the graph"):
        await resuming.resume(checkpointer, None, paused, answer=Answer("yes"))


# -- edit ----------------------------------------------------------------------------------


async def test_invalid_json_writes_nothing(
    demo: tuple[MemoryCheckpointer, CompiledGraph],
) -> None:
    checkpointer, graph = demo
    proposal = await written_by(checkpointer, "refund-2077", "propose_refund")
    before = await count(checkpointer)
    text = dumps(proposal.values).replace('"currency": "EUR"', '"currency": EUR', 1)
    with pytest.raises(JsonEditError) as caught:
        parse_edit(text, proposal.values, graph.schema)
    assert caught.value.problems[0].startswith("line ")
    assert ", column " in caught.value.problems[0]
    assert await count(checkpointer) == before


async def test_edit_saved_with_graph(
    demo: tuple[MemoryCheckpointer, CompiledGraph],
) -> None:
    checkpointer, graph = demo
    proposal = await written_by(checkpointer, "refund-2077", "propose_refund")
    values = dict(proposal.values)
    values["refund"] = {**values["refund"], "amount": Decimal("150.00")}
    values["messages"] = [*values["messages"], {"role": "note", "content": "halved"}]
    edit = parse_edit(dumps(values), proposal.values, graph.schema)
    assert set(edit.changed) == {"refund", "messages"}
    saved = await actions.save_edit(checkpointer, graph, proposal, edit)
    assert saved.source == "update"
    assert saved.parent_id == proposal.id
    assert saved.step == proposal.step + 1
    assert saved.values["refund"]["amount"] == Decimal("150.00")
    # The reducer channel got the appended tail only: no duplicated messages.
    assert saved.values["messages"] == values["messages"]
    assert saved.next == ("approve",)  # routed after propose_refund, as inferred
    assert (await head(checkpointer, "refund-2077")).id == saved.id
    assert await checkpointer.get("refund-2077", saved.id) == saved


async def test_edit_saved_without_graph(
    demo: tuple[MemoryCheckpointer, CompiledGraph],
) -> None:
    checkpointer, _ = demo
    proposal = await written_by(checkpointer, "refund-2077", "propose_refund")
    values = dict(proposal.values)
    values["refund"] = {**values["refund"], "amount": Decimal("10.00")}
    # Without the graph the values are written exactly as edited: even an earlier
    # message can be rewritten.
    values["messages"] = [
        {"role": "user", "content": "edited"},
        *values["messages"][1:],
    ]
    edit = parse_edit(dumps(values), proposal.values, None)
    saved = await actions.save_edit(checkpointer, None, proposal, edit)
    again = await checkpointer.get("refund-2077", saved.id)
    assert again is not None
    assert again.values == values
    assert again.source == "update"
    assert again.parent_id == proposal.id
    assert again.step == proposal.step + 1
    assert again.next == proposal.next
    assert sorted(again.writes["__edit__"]) == ["messages", "refund"]


async def test_edit_that_rewrites_reducer_history_is_refused_with_graph(
    demo: tuple[MemoryCheckpointer, CompiledGraph],
) -> None:
    checkpointer, graph = demo
    proposal = await written_by(checkpointer, "refund-2077", "propose_refund")
    values = dict(proposal.values)
    values["messages"] = [{"role": "user", "content": "edited"}]
    edit = parse_edit(dumps(values), proposal.values, graph.schema)
    before = await count(checkpointer)
    with pytest.raises(ActionRefused, match="messages is combined by a reducer"):
        await actions.save_edit(checkpointer, graph, proposal, edit)
    assert await count(checkpointer) == before


async def test_edit_without_graph_conflict_when_head_moves(
    demo: tuple[MemoryCheckpointer, CompiledGraph],
) -> None:
    checkpointer, _ = demo
    paused = await head(checkpointer, "refund-2077")
    edit = parse_edit(dumps({**paused.values, "approved": True}), paused.values)

    real_get_thread = checkpointer.get_thread

    async def stale_head(thread_id: str):  # type: ignore[no-untyped-def]
        info = await real_get_thread(thread_id)
        assert info is not None
        from dataclasses import replace

        return replace(info, head_id=paused.parent_id or "")

    checkpointer.get_thread = stale_head  # type: ignore[method-assign]
    with pytest.raises(ConflictError):
        await actions.save_edit(checkpointer, None, paused, edit)


async def test_nothing_changed_is_refused(
    demo: tuple[MemoryCheckpointer, CompiledGraph],
) -> None:
    checkpointer, graph = demo
    paused = await head(checkpointer, "refund-2077")
    edit = parse_edit(dumps(paused.values), paused.values, graph.schema)
    with pytest.raises(ActionRefused, match="changes nothing"):
        await actions.save_edit(checkpointer, graph, paused, edit)


# -- branch ------------------------------------------------------------------------------


async def test_suggested_names_skip_existing(
    demo: tuple[MemoryCheckpointer, CompiledGraph],
) -> None:
    checkpointer, graph = demo
    assert await actions.suggest_branch_name(checkpointer, "refund-2077") == (
        "refund-2077-b"
    )
    paused = await head(checkpointer, "refund-2077")
    await actions.branch(checkpointer, graph, paused, "refund-2077-b")
    assert await actions.suggest_branch_name(checkpointer, "refund-2077") == (
        "refund-2077-c"
    )


@pytest.mark.parametrize("with_graph", [True, False])
async def test_branch_into_new_thread(
    demo: tuple[MemoryCheckpointer, CompiledGraph], with_graph: bool
) -> None:
    checkpointer, graph = demo
    paused = await head(checkpointer, "refund-2077")
    values = {
        **paused.values,
        "refund": {**paused.values["refund"], "amount": Decimal(1)},
    }
    edit = parse_edit(
        dumps(values), paused.values, graph.schema if with_graph else None
    )
    root = await actions.branch(
        checkpointer, graph if with_graph else None, paused, "what-if", edit
    )
    assert root.thread_id == "what-if"
    assert root.source == "fork"
    assert (root.parent_thread_id, root.parent_id) == ("refund-2077", paused.id)
    assert root.values["refund"]["amount"] == Decimal(1)
    info = await checkpointer.get_thread("what-if")
    assert info is not None
    assert info.forked_from == ("refund-2077", paused.id)
    # The original thread is untouched.
    assert (await head(checkpointer, "refund-2077")).id == paused.id


async def test_edit_of_a_branch_keeps_its_next(
    demo: tuple[MemoryCheckpointer, CompiledGraph],
) -> None:
    checkpointer, graph = demo
    paused = await head(checkpointer, "refund-2077")
    assert paused.next == ("approve",)
    root = await actions.branch(checkpointer, graph, paused, "what-if")
    values = {**root.values, "approved": False}
    # Saved with "Write as node: (inferred)": the node that wrote what the branch
    # copied, so the run still waits at approve instead of starting over.
    edit = parse_edit(dumps(values), root.values, graph.schema)
    edited = await actions.save_edit(checkpointer, graph, root, edit)
    assert edited.next == ("approve",)
    assert edited.writes == {"propose_refund": {"approved": False}}
    # Branching that branch with its values edited first: the same.
    again = await actions.branch(checkpointer, graph, root, "what-if-2", edit)
    assert again.next == ("approve",)


async def test_branch_refuses_existing_and_bad_names(
    demo: tuple[MemoryCheckpointer, CompiledGraph],
) -> None:
    checkpointer, graph = demo
    paused = await head(checkpointer, "refund-2077")
    with pytest.raises(ActionRefused, match="already exists"):
        await actions.branch(checkpointer, graph, paused, "refund-1042")
    with pytest.raises(ActionRefused, match="'@'"):
        await actions.branch(checkpointer, None, paused, "a@b")
    with pytest.raises(ActionRefused, match="name"):
        await actions.branch(checkpointer, None, paused, "  ")


async def test_a_subgraph_timeline_is_not_branched_alone() -> None:
    """A subgraph's checkpoint branched alone would start a thread its root graph
    cannot resume: refused, naming the thread to branch instead."""

    class S(TypedDict):
        n: int

    inner = StateGraph(S)
    inner.add_node("add", lambda s: {"n": s["n"] + 1})
    inner.add_edge(START, "add")
    inner.add_edge("add", END)
    outer = StateGraph(S)
    outer.add_node("sub", inner.compile())
    outer.add_edge(START, "sub")
    outer.add_edge("sub", END)
    checkpointer = MemoryCheckpointer()
    graph = outer.compile(checkpointer=checkpointer)
    await graph.ainvoke({"n": 0}, {"configurable": {"thread_id": "t"}})
    (sub,) = await checkpointer.subgraphs("t")
    checkpoint = await head(checkpointer, sub.thread_id)
    for given in (graph, None):
        with pytest.raises(ActionRefused, match="Branch the checkpoint of 't'"):
            await actions.branch(checkpointer, given, checkpoint, "t-sub")
    assert await checkpointer.get_thread("t-sub") is None


# -- resume -------------------------------------------------------------------------------


async def test_resume_through_interrupt_to_done(
    demo: tuple[MemoryCheckpointer, CompiledGraph],
) -> None:
    checkpointer, graph = demo
    paused = await head(checkpointer, "refund-2077")
    asked: list[tuple[PendingWrite, ...]] = []

    async def ask(cp: Checkpoint, interrupts: tuple[PendingWrite, ...]) -> Answer:
        asked.append(interrupts)
        assert cp.id == paused.id
        return Answer(resuming.parse_answer("yes"))

    seen: list[Checkpoint] = []
    outcome = await resuming.resume(
        checkpointer, graph, paused, ask=ask, on_checkpoint=seen.append
    )
    assert outcome.status == "done"
    assert len(asked) == 1
    assert asked[0][0].value["value"]["question"] == "Approve this refund?"
    assert [c.writes.keys() for c in seen] == [
        {"approve": 0}.keys(),
        {"issue_refund": 0}.keys(),
        {"notify": 0}.keys(),
    ]
    assert seen == list(outcome.committed)
    final = await head(checkpointer, "refund-2077")
    assert final.id == outcome.last.id
    assert final.status == "done"
    assert final.values["approved"] is True
    assert final.values["receipt"]["amount"] == Decimal("194.50")


async def test_resume_to_completion_from_fork_root(
    demo: tuple[MemoryCheckpointer, CompiledGraph],
) -> None:
    checkpointer, graph = demo
    paused = await head(checkpointer, "refund-2077")
    root = await actions.branch(checkpointer, graph, paused, "refund-2077-b")
    outcome = await resuming.resume(checkpointer, graph, root, answer=Answer("no"))
    assert outcome.status == "done"
    assert outcome.last.values["approved"] is False
    assert outcome.last.values["messages"][-1]["content"].startswith(
        "Your refund request was declined"
    )


async def test_resume_from_before_an_answered_question_asks_again(
    demo: tuple[MemoryCheckpointer, CompiledGraph],
) -> None:
    checkpointer, graph = demo
    paused = await head(checkpointer, "refund-2077")
    await resuming.resume(checkpointer, graph, paused, answer=Answer("yes"))
    answered = await checkpointer.get("refund-2077", paused.id)
    assert answered is not None
    assert answered.interrupts == ()
    asked: list[Checkpoint] = []

    async def ask(cp: Checkpoint, interrupts: tuple[PendingWrite, ...]) -> Answer:
        asked.append(cp)
        return Answer("no")

    outcome = await resuming.resume(checkpointer, graph, answered, ask=ask)
    # The earlier "yes" belongs to the first branch: the replay asks again.
    assert len(asked) == 1
    assert asked[0].parent_id == paused.id
    assert outcome.status == "done"
    assert outcome.last.values["approved"] is False


async def test_resume_declined_question_stays_paused(
    demo: tuple[MemoryCheckpointer, CompiledGraph],
) -> None:
    checkpointer, graph = demo
    paused = await head(checkpointer, "refund-2077")
    before = await count(checkpointer)

    async def decline(cp: Checkpoint, interrupts: tuple[PendingWrite, ...]) -> None:
        return None

    outcome = await resuming.resume(checkpointer, graph, paused, ask=decline)
    assert outcome.status == "paused"
    assert outcome.committed == ()
    assert await count(checkpointer) == before


async def test_resume_failing_node_raises_its_error(
    demo: tuple[MemoryCheckpointer, CompiledGraph],
) -> None:
    checkpointer, graph = demo
    failed = await head(checkpointer, "refund-3150")
    assert failed.status == "failed"
    with pytest.raises(PaymentError) as caught:
        await resuming.resume(checkpointer, graph, failed)
    failure = node_failure(caught.value)
    assert failure is not None
    assert failure.node == "issue_refund"
    title, header, details = describe_error(caught.value)
    assert title == "Node failed"
    assert "issue_refund" in header
    assert "over the 500.00 EUR" in header
    assert "PaymentError" in details


async def test_resume_done_thread_is_refused(
    demo: tuple[MemoryCheckpointer, CompiledGraph],
) -> None:
    checkpointer, graph = demo
    done = await head(checkpointer, "refund-1042")
    with pytest.raises(ActionRefused, match="Nothing to resume"):
        await resuming.resume(checkpointer, graph, done)


async def test_resume_cancelled_leaves_whole_steps(
    demo: tuple[MemoryCheckpointer, CompiledGraph],
) -> None:
    checkpointer, graph = demo
    paused = await head(checkpointer, "refund-2077")
    first = asyncio.Event()

    def on_checkpoint(cp: Checkpoint) -> None:
        first.set()

    task = asyncio.create_task(
        resuming.resume(
            checkpointer,
            graph,
            paused,
            answer=Answer("yes"),
            on_checkpoint=on_checkpoint,
        )
    )
    await first.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    final = await head(checkpointer, "refund-2077")
    # Every checkpoint on the thread is a whole step: its values match what the
    # node wrote on top of its parent; the run can be resumed to the end.
    assert final.id != paused.id
    assert final.source == "loop"
    outcome = await resuming.resume(checkpointer, graph, final)
    assert outcome.status == "done"
    assert outcome.last.values["receipt"]["amount"] == Decimal("194.50")


# -- diff on the demo database ------------------------------------------------------------


async def test_diff_vs_parent(demo: tuple[MemoryCheckpointer, CompiledGraph]) -> None:
    checkpointer, _ = demo
    proposal = await written_by(checkpointer, "refund-3150", "propose_refund")
    parent = await actions.load_parent(checkpointer, proposal)
    assert parent is not None
    diff = diff_values(parent.values, proposal.values)
    by_path = {c.path_text: c for c in diff.changes}
    assert by_path["refund"].kind == "changed"
    assert by_path["refund"].old is None
    assert by_path["refund"].new["amount"] == Decimal("749.00")
    assert by_path["messages[3]"].kind == "item_added"


async def test_diff_vs_marked_checkpoint_in_another_thread(
    demo: tuple[MemoryCheckpointer, CompiledGraph],
) -> None:
    checkpointer, _ = demo
    proposal = await written_by(checkpointer, "refund-3150", "propose_refund")
    root = None
    async for meta in checkpointer.summaries(FORK):
        if meta.is_fork_root:
            root = await checkpointer.get(FORK, meta.id)
    assert root is not None
    diff = diff_values(proposal.values, root.values)
    by_path = {c.path_text: c for c in diff.changes}
    assert by_path["refund.amount"].kind == "changed"
    assert (by_path["refund.amount"].old, by_path["refund.amount"].new) == (
        Decimal("749.00"),
        Decimal("500.00"),
    )
    assert (by_path["refund.reason"].old, by_path["refund.reason"].new) == (
        "delivered",
        "partial",
    )
    assert set(by_path) == {"refund.amount", "refund.reason"}
    assert diff.summary() == "2 changed"
    assert [c.path_text for c in diff.unchanged if c.path[0] == "refund"] == [
        "refund.currency"
    ]


# -- --graph package.module:attribute ----------------------------------------------------


def test_load_graph_binds_to_the_checkpointer() -> None:
    checkpointer = MemoryCheckpointer()
    graph = load_graph("timeloom.tui.demo.agent:graph", checkpointer)
    assert graph.checkpointer is checkpointer
    assert "approve" in graph.nodes
    factory = load_graph("timeloom.tui.demo.agent:build_graph", checkpointer)
    assert factory.checkpointer is checkpointer


def test_bind_compiled_graph_keeps_interrupts_and_name() -> None:
    compiled = build_graph().compile(interrupt_before=["notify"], name="agent")
    checkpointer = MemoryCheckpointer()
    bound = bind_graph(compiled, checkpointer)
    assert bound.checkpointer is checkpointer
    assert bound.interrupt_before == frozenset({"notify"})
    assert bound.name == "agent"
    assert bind_graph(bound, checkpointer) is bound


@pytest.mark.parametrize(
    ("ref", "message"),
    [
        ("timeloom.tui.demo.agent", "must look like package.module:attribute"),
        ("no_such_module_xyz:graph", "No module named 'no_such_module_xyz'"),
        (
            "timeloom.tui.demo.agent:grph",
            "has no attribute 'grph'; graphs in it: timeloom.tui.demo.agent:graph",
        ),
        ("timeloom.tui.demo.agent:REFUND_LIMIT", "is a Decimal, not a graph"),
    ],
)
def test_load_graph_errors(ref: str, message: str) -> None:
    with pytest.raises(GraphLoadError) as caught:
        load_graph(ref, MemoryCheckpointer())
    assert message in caught.value.msg
    assert caught.value.title == "Cannot load the graph"
