"""``update_state(config, values, as_node="__copy__")``, as LangGraph's: a
``fork`` copy of a checkpoint beside it, and with ``[StateUpdate(...)]`` the
copy's tasks given new results, to run on from; on every backend."""

from __future__ import annotations

from typing import Annotated, Any, TypedDict

import pytest
from langgraph.types import StateUpdate

from tests.core.sides import LANGGRAPH, TIMELOOM, Api, run_on_both
from timeloom.core import InvalidUpdateError
from timeloom.core.checkpointer import BaseCheckpointer


def joined(a: str, b: str) -> str:
    return f"{a} > {b}" if a else b


class State(TypedDict):
    name: Annotated[str, joined]


def program(api: Api, saver: Any) -> Any:
    """one (which also sends to two), two, three: two runs twice."""
    graph = api.StateGraph(State)
    graph.add_node(
        "one", lambda s: api.Command(goto=[api.Send("two", {})], update={"name": "one"})
    )
    graph.add_node("two", lambda s: {"name": "two"})
    graph.add_node("three", lambda s: {"name": "three"})
    graph.add_edge(api.START, "one").add_edge("one", "two").add_edge("two", "three")
    return graph.compile(checkpointer=saver)


def apps(stored: BaseCheckpointer) -> list[Any]:
    return [
        program(TIMELOOM, stored),
        program(LANGGRAPH, LANGGRAPH.checkpointer()),
    ]


def config(thread_id: str = "t") -> dict[str, Any]:
    return {"configurable": {"thread_id": thread_id}}


def parent_of(snapshot: Any) -> Any:
    parent = snapshot.parent_config
    return parent["configurable"]["checkpoint_id"] if parent else None


def test_a_copy_sits_beside_the_checkpoint_as_in_langgraph(
    stored: BaseCheckpointer,
) -> None:
    for app in apps(stored):
        app.invoke({"name": "start"}, config())
        base = list(app.get_state_history(config()))[2]  # one ran, two due
        copied = app.get_state(app.update_state(base.config, None, "__copy__"))
        assert copied.metadata["source"] == "fork"
        assert parent_of(copied) == parent_of(base)
        assert (copied.values, copied.next) == (base.values, base.next)
        assert copied.next == ("two", "two")


def test_a_copy_with_updates_replaces_the_tasks_results_as_in_langgraph(
    stored: BaseCheckpointer,
) -> None:
    def scenario(api: Api) -> Any:
        app = program(api, api.checkpointer())
        app.invoke({"name": "start"}, config())
        base = list(app.get_state_history(config()))[2]
        updates = [
            StateUpdate({"name": "2a"}, "two"),
            StateUpdate({"name": "2b"}, "two"),
        ]
        updated = app.update_state(base.config, updates, "__copy__")
        after = app.get_state(updated)
        copy = app.get_state(after.parent_config)
        assert parent_of(copy) == parent_of(base)
        return (
            # Which of two's two tasks (an edge's, a send's) gets which update
            # is Timeloom's (the edge's first, as updates apply): compared as
            # a set of results.
            sorted((t.name, t.result["name"]) for t in copy.tasks),
            after.values,
            after.next,
            app.invoke(None, updated),
        )

    assert run_on_both(scenario, stored) == (
        [("two", "2a"), ("two", "2b")],
        {"name": "start > one > 2a > 2b"},
        ("three",),
        {"name": "start > one > 2a > 2b > three"},
    )


def test_a_copy_of_the_input_checkpoint_with_a_new_input(
    stored: BaseCheckpointer,
) -> None:
    def scenario(api: Api) -> Any:
        app = program(api, api.checkpointer())
        app.invoke({"name": "start"}, config())
        received = list(app.get_state_history(config()))[-1]  # __start__ due
        updated = app.update_state(
            received.config, [StateUpdate({"name": "start*"}, "__start__")], "__copy__"
        )
        copy = app.get_state(app.get_state(updated).parent_config)
        return [(t.name, t.result) for t in copy.tasks], app.invoke(None, updated)

    assert run_on_both(scenario, stored)[1] == {
        "name": "start* > one > two > two > three"
    }


def test_a_copy_refuses_values_that_are_not_updates(memory: BaseCheckpointer) -> None:
    app = program(TIMELOOM, memory)
    app.invoke({"name": "start"}, config())
    base = list(app.get_state_history(config()))[2]
    with pytest.raises(InvalidUpdateError, match="a list of StateUpdate"):
        app.update_state(base.config, {"name": "x"}, "__copy__")
    with pytest.raises(InvalidUpdateError, match="not a node"):
        app.update_state(base.config, [StateUpdate({"name": "x"}, "ghost")], "__copy__")
