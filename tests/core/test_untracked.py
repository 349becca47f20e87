"""``UntrackedValue``: a key the run carries and returns but no checkpoint
stores, as LangGraph's channel: not in values, writes, pending writes, nor a
``Send``'s stored argument; on every backend."""

from __future__ import annotations

import operator
import threading
from typing import Annotated, Any, TypedDict

import pytest
from langgraph.channels import BinaryOperatorAggregate, LastValue, Topic
from langgraph.channels import UntrackedValue as LgUntrackedValue
from langgraph.channels.delta import DeltaChannel
from langgraph.managed import RemainingSteps

from tests.core.sides import LANGGRAPH, TIMELOOM, Api, run_on_both
from timeloom.core import (
    START,
    GraphValidationError,
    InvalidUpdateError,
    Send,
    StateGraph,
    UntrackedValue,
)
from timeloom.core.checkpointer import BaseCheckpointer
from timeloom.core.sync import run_sync


class Session:
    """What no checkpoint can store (a lock)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.lock = threading.Lock()


class State(TypedDict, total=False):
    log: Annotated[list[str], operator.add]
    session: Annotated[Session, UntrackedValue]


class LgState(TypedDict, total=False):
    log: Annotated[list[str], operator.add]
    session: Annotated[Session, LgUntrackedValue]


def config(thread_id: str = "t") -> dict[str, Any]:
    return {"configurable": {"thread_id": thread_id}}


def saw(state: Any) -> str:
    return state["session"].name if "session" in state else "none"


def test_later_nodes_and_the_result_see_it_and_nothing_stores_it(
    stored: BaseCheckpointer,
) -> None:
    graph = StateGraph(State)
    graph.add_node("open", lambda s: {"log": ["open"], "session": Session("s1")})
    graph.add_node("use", lambda s: {"log": [f"use {saw(s)}"]})
    graph.add_edge(START, "open").add_edge("open", "use")
    app = graph.compile(checkpointer=stored)
    result = app.invoke({"log": []}, config())
    assert result["log"] == ["open", "use s1"]
    assert result["session"].name == "s1"
    history = list(app.get_state_history(config()))
    assert all("session" not in s.values for s in history)
    kept = [
        run_sync(stored.get("t", s.config["configurable"]["checkpoint_id"]))
        for s in history
    ]
    assert all(c is not None and "session" not in c.values for c in kept)
    assert all(
        "session" not in w for c in kept if c is not None for w in c.writes.values()
    )
    again = app.invoke({"log": []}, config())  # a new run starts without it
    assert again["session"].name == "s1"  # written again by open
    assert app.get_state(config()).values == {"log": ["open", "use s1"] * 2}


def program(api: Api, schema: Any, saver: Any) -> Any:
    """open writes a session and sends it to worker, which fails once."""
    failing = {"worker"}

    def worker(state: Any) -> dict[str, Any]:
        if failing:
            failing.clear()
            raise RuntimeError("worker failed")
        return {"log": [f"worker {saw(state)}"]}

    graph = api.StateGraph(schema)
    graph.add_node("open", lambda s: {"log": ["open"], "session": Session("s1")})
    graph.add_node("worker", worker)
    graph.add_edge(api.START, "open")
    graph.add_conditional_edges(
        "open", lambda s: [api.Send("worker", {"log": [], "session": s["session"]})]
    )
    return graph.compile(checkpointer=saver)


def test_a_send_is_stored_without_it_as_in_langgraph(stored: BaseCheckpointer) -> None:
    """The send's stored argument loses the key: a resume runs it without."""
    apps = [
        program(TIMELOOM, State, stored),
        program(LANGGRAPH, LgState, LANGGRAPH.checkpointer()),
    ]
    for app in apps:
        with pytest.raises(RuntimeError, match="worker failed"):
            app.invoke({"log": []}, config())
    ours, theirs = (app.invoke(None, config()) for app in apps)
    assert ours == theirs == {"log": ["open", "worker none"]}


def test_a_send_given_it_in_the_run_passes_it_on(stored: BaseCheckpointer) -> None:
    graph = StateGraph(State)
    graph.add_node("open", lambda s: {"log": ["open"], "session": Session("s1")})
    graph.add_node("worker", lambda s: {"log": [f"worker {saw(s)}"]})
    graph.add_edge(START, "open")
    graph.add_conditional_edges(
        "open", lambda s: [Send("worker", {"log": [], "session": s["session"]})]
    )
    app = graph.compile(checkpointer=stored)
    assert app.invoke({"log": []}, config())["log"] == ["open", "worker s1"]


def test_a_failed_steps_pending_writes_drop_it(stored: BaseCheckpointer) -> None:
    """A sibling's update is recorded without the key; the resume reuses it."""
    failing = {"bad"}

    def bad(state: State) -> dict[str, Any]:
        if failing:
            failing.clear()
            raise RuntimeError("bad failed")
        return {"log": ["bad"]}

    graph = StateGraph(State)
    graph.add_node("open", lambda s: {"log": ["open"], "session": Session("s1")})
    graph.add_node("bad", bad)
    graph.add_node("use", lambda s: {"log": [f"use {saw(s)}"]})
    graph.add_edge(START, "open").add_edge(START, "bad").add_edge("open", "use")
    app = graph.compile(checkpointer=stored)
    with pytest.raises(RuntimeError, match="bad failed"):
        app.invoke({"log": []}, config())
    results = {t.name: t.result for t in app.get_state(config()).tasks}
    assert results["open"] == {"log": ["open"]}
    assert app.invoke(None, config())["log"] == ["bad", "open", "use none"]


def test_two_writes_in_one_step_are_refused_unless_unguarded() -> None:
    def fan_out(schema: Any) -> Any:
        graph = StateGraph(schema)
        graph.add_node("a", lambda s: {"session": Session("a")})
        graph.add_node("b", lambda s: {"session": Session("b")})
        graph.add_edge(START, "a").add_edge(START, "b")
        return graph.compile()

    with pytest.raises(InvalidUpdateError, match="At key 'session'"):
        fan_out(State).invoke({})

    class Unguarded(TypedDict, total=False):
        session: Annotated[Session, UntrackedValue(Session, guard=False)]

    assert fan_out(Unguarded).invoke({})["session"].name == "b"


def appended(state: list[str], batches: list[list[str]]) -> list[str]:
    """A ``DeltaChannel``'s reducer: a batch of writes at a time."""
    return state + [item for batch in batches for item in batch]


def test_langgraphs_value_channels_are_read_and_the_others_refused() -> None:
    class Channels(TypedDict, total=False):
        last: Annotated[str, LastValue]
        total: Annotated[int, BinaryOperatorAggregate(int, operator.add)]
        log: Annotated[list[str], DeltaChannel(appended)]

    def scenario(api: Api) -> Any:
        graph = api.StateGraph(Channels)
        graph.add_node("a", lambda s: {"last": "x", "total": 2, "log": ["a"]})
        graph.add_node("b", lambda s: {"log": ["b"]})
        graph.add_edge(api.START, "a").add_edge(api.START, "b")
        return graph.compile().invoke({"total": 1, "log": ["in"]})

    assert run_on_both(scenario) == {"last": "x", "total": 3, "log": ["in", "a", "b"]}

    class Topics(TypedDict):
        seen: Annotated[list[str], Topic]

    with pytest.raises(GraphValidationError, match="LangGraph's Topic channel"):
        StateGraph(Topics)


def test_langgraphs_managed_values_get_a_clear_error() -> None:
    """``RemainingSteps`` (a managed value, not a channel) is refused by name,
    not taken for a reducer of the wrong shape."""

    class Counted(TypedDict):
        remaining_steps: RemainingSteps

    with pytest.raises(GraphValidationError, match="RemainingStepsManager"):
        StateGraph(Counted)
