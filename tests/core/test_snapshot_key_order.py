"""A snapshot's values list the state's keys in the schema's order, as
LangGraph's do (printing ``get_state(...).values`` shows it)."""

from __future__ import annotations

import operator
from typing import Annotated, Any, TypedDict

from tests.core.sides import LANGGRAPH, TIMELOOM, Api


class State(TypedDict, total=False):
    foo: str
    bar: Annotated[list[str], operator.add]
    zed: int


class Private(TypedDict):
    secret: str


def scenario(api: Api) -> Any:
    def first(state: State) -> Private:
        return {"secret": "s"}

    def second(state: Private) -> dict[str, Any]:
        return {"foo": state["secret"], "bar": ["b"]}

    app = (
        api.StateGraph(State)
        .add_sequence([first, second])
        .add_edge(api.START, "first")
        .compile(checkpointer=api.checkpointer())
    )
    config = {"configurable": {"thread_id": "t"}}
    app.invoke({"zed": 1, "foo": ""}, config)
    app.update_state(config, {"bar": ["u"], "zed": 2})
    head = list(app.get_state(config).values.items())
    return head, [list(s.values.items()) for s in app.get_state_history(config)]


def test_get_state_and_history_values_follow_the_schemas_key_order() -> None:
    head, history = scenario(TIMELOOM)
    assert [k for k, _ in head] == ["foo", "bar", "zed", "secret"]
    assert (head, history) == scenario(LANGGRAPH)


def nodes_see(api: Api) -> Any:
    seen: list[list[str]] = []

    def look(state: State) -> dict[str, Any]:
        seen.append(list(state))
        return {"foo": "a", "bar": ["a"]}

    def again(state: State) -> dict[str, Any]:
        seen.append(list(state))
        return {"zed": 3}

    app = api.StateGraph(State).add_sequence([look, again])
    app = app.add_edge(api.START, "look").compile()
    app.invoke({"zed": 1, "foo": ""})
    app.invoke({"foo": "x"})
    return seen


def test_a_node_sees_its_state_in_the_schemas_key_order() -> None:
    seen = nodes_see(TIMELOOM)
    assert seen[0] == ["foo", "bar", "zed"]
    assert seen == nodes_see(LANGGRAPH)
