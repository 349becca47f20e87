"""Replays that tell the truth: what a run recorded stays on its branch.

Each test runs on every backend: what is recorded on a checkpoint (resume answers,
interrupts) and read back decides what a replay does.
"""

from __future__ import annotations

import operator
from collections import Counter
from typing import Annotated, Any, TypedDict

from tests.core.graphs import stored_writes, thread
from timeloom.core import END, START, Command, CompiledGraph, StateGraph, interrupt
from timeloom.core.checkpointer import BaseCheckpointer
from timeloom.core.snapshot import StateSnapshot


class Refund(TypedDict, total=False):
    messages: Annotated[list[str], operator.add]
    amount: float
    ok: bool


def refund_graph(checkpointer: BaseCheckpointer, calls: Counter[str]) -> CompiledGraph:
    """propose -> approve (asks with interrupt()) -> notify."""

    def propose(state: Refund) -> dict[str, Any]:
        calls["propose"] += 1
        return {"messages": [f"refund {state['amount']}?"]}

    def approve(state: Refund) -> dict[str, Any]:
        calls["approve"] += 1
        answer = interrupt({"question": "approve?"})
        return {"messages": [f"human said {answer}"]}

    def notify(state: Refund) -> dict[str, Any]:
        calls["notify"] += 1
        return {"messages": ["notified"]}

    graph = StateGraph(Refund)
    graph.add_node("propose", propose)
    graph.add_node("approve", approve)
    graph.add_node("notify", notify)
    graph.add_edge(START, "propose")
    graph.add_edge("propose", "approve")
    graph.add_edge("approve", "notify")
    graph.add_edge("notify", END)
    return graph.compile(checkpointer=checkpointer)


def at_approve(app: CompiledGraph, thread_id: str) -> StateSnapshot:
    """The (oldest) checkpoint of the thread that waits to run approve."""
    found = [
        s for s in app.get_state_history(thread(thread_id)) if s.next == ("approve",)
    ]
    return found[-1]


def test_replay_before_an_interrupt_asks_again(
    stored: BaseCheckpointer, calls: Counter[str]
) -> None:
    app = refund_graph(stored, calls)
    app.invoke({"messages": [], "amount": 42.0}, thread("t"))
    done = app.invoke(Command(resume="yes"), thread("t"))
    assert done["messages"][-2:] == ["human said yes", "notified"]
    asked = at_approve(app, "t")

    replayed = app.invoke(None, asked.config)
    # The answer "yes" belongs to the branch it was given on: the replay asks.
    assert [i.value for i in replayed["__interrupt__"]] == [{"question": "approve?"}]
    assert replayed["messages"] == ["refund 42.0?"]
    paused = app.get_state(thread("t"))
    assert paused.next == ("approve",)
    assert [t.interrupts[0].value for t in paused.tasks] == [{"question": "approve?"}]
    assert paused.metadata["source"] == "fork"
    assert paused.parent_config == asked.config

    # Answered on the new branch, the run ends with the new answer.
    again = app.invoke(Command(resume="no"), thread("t"))
    assert again["messages"] == ["refund 42.0?", "human said no", "notified"]
    # The first branch is untouched and still records its question.
    first = app.get_state(asked.config)
    assert [i.value for i in first.tasks[0].interrupts] == [{"question": "approve?"}]
    assert [i.value for i in first.interrupts] == [{"question": "approve?"}]


def test_an_answered_interrupt_stays_in_history(
    stored: BaseCheckpointer, calls: Counter[str]
) -> None:
    app = refund_graph(stored, calls)
    app.invoke({"messages": [], "amount": 1.0}, thread("t"))
    app.invoke(Command(resume="yes"), thread("t"))
    asked = at_approve(app, "t")
    (task,) = asked.tasks
    assert task.name == "approve"
    assert [i.value for i in task.interrupts] == [{"question": "approve?"}]
    assert app.get_state(thread("t")).next == ()


def test_update_without_as_node_on_a_fresh_fork_keeps_next(
    stored: BaseCheckpointer, calls: Counter[str]
) -> None:
    app = refund_graph(stored, calls)
    app.invoke({"messages": [], "amount": 42.0}, thread("t"))
    fork = app.fork(at_approve(app, "t").config, "t-b")
    assert app.get_state(fork).next == ("approve",)

    edited = app.update_state(fork, {"ok": True})
    snapshot = app.get_state(edited)
    assert snapshot.next == ("approve",), "the fork's next is kept, not restarted"
    assert stored_writes(stored, snapshot) == {"propose": {"ok": True}}
    calls.clear()
    app.invoke(None, edited)
    result = app.invoke(Command(resume="yes"), thread("t-b"))
    assert result["messages"] == ["refund 42.0?", "human said yes", "notified"]
    assert calls["propose"] == 0, "nothing before approve runs again"
    # An edit of an edit still finds the node that wrote what was copied.
    twice = app.update_state(app.fork(fork, "t-c"), {"amount": 1.0})
    twice = app.update_state(twice, {"ok": False})
    assert app.get_state(twice).next == ("approve",)


def test_stream_on_a_paused_thread_yields_its_interrupt_once(
    stored: BaseCheckpointer, calls: Counter[str]
) -> None:
    app = refund_graph(stored, calls)
    app.invoke({"messages": [], "amount": 42.0}, thread("t"))
    events = list(app.stream(None, thread("t")))
    assert len(events) == 1
    (interrupts,) = [e["__interrupt__"] for e in events]
    assert [i.value for i in interrupts] == [{"question": "approve?"}]
    # Asked again from the same checkpoint: recorded once, answered once.
    assert len(app.get_state(thread("t")).interrupts) == 1
    result = app.invoke(Command(resume="ok"), thread("t"))
    assert result["messages"][-2:] == ["human said ok", "notified"]


def test_resume_with_an_update_answers_the_same_question(
    stored: BaseCheckpointer, calls: Counter[str]
) -> None:
    app = refund_graph(stored, calls)
    app.invoke({"messages": [], "amount": 5.0}, thread("t"))
    done = app.invoke(Command(resume="yes", update={"ok": True}), thread("t"))
    assert done["messages"] == ["refund 5.0?", "human said yes", "notified"]
    assert done["ok"] is True
    assert calls["approve"] == 2, "asked once, answered once"
