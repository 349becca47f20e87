"""What a LangGraph program reads or changes on a compiled graph besides running
it: ``with_config`` (a bound config merged under every call's), ``copy``, a node's
``copy``, ``channels`` and ``get_context_jsonschema``, compared with LangGraph."""

from __future__ import annotations

import dataclasses
import operator
from typing import Annotated, Any, TypedDict

import pytest
import typing_extensions
from pydantic import BaseModel

import timeloom.core as tl
from tests.core.sides import TIMELOOM, Api, run_on_both
from timeloom.backends.memory import MemoryCheckpointer
from timeloom.core import GraphRecursionError
from timeloom.core.config import merge_configs


class State(TypedDict):
    log: Annotated[list[str], operator.add]


def step(state: State) -> dict[str, Any]:
    return {"log": ["step"]}


def program(api: Api) -> Any:
    graph = api.StateGraph(State).add_node("a", step).add_node("b", step)
    return graph.add_edge(api.START, "a")


def test_with_config_binds_a_thread_and_merges_metadata_as_langgraph() -> None:
    bound = {"configurable": {"thread_id": "t1"}, "metadata": {"team": "x"}}
    call = {"metadata": {"user": "u"}}
    saver = MemoryCheckpointer()

    def scenario(api: Api) -> Any:
        base = program(api).add_edge("a", "b").compile(checkpointer=api.checkpointer())
        app = base.with_config(bound)
        assert app is not base
        assert base.config is None
        out = app.invoke({"log": []}, call)
        state = app.get_state({"configurable": {}})
        metadata = state.metadata
        # the unbound graph needs the thread in the call
        assert base.get_state({"configurable": {"thread_id": "t1"}}).values == out
        return (out, state.values, metadata["team"], metadata["user"])

    assert run_on_both(scenario, saver)[0] == {"log": ["step", "step"]}
    # Timeloom's history and updates read the bound thread too (LangGraph's
    # get_state_history raises KeyError without a thread in the call)
    base = program(TIMELOOM).add_edge("a", "b").compile(checkpointer=saver)
    app = base.with_config(bound)  # anew, on the store the scenario wrote
    assert len(list(app.get_state_history({}))) == 4
    app.update_state({}, {"log": ["edit"]})
    assert app.get_state({}).values == {"log": ["step", "step", "edit"]}


def test_with_config_kwargs_and_a_calls_config_win() -> None:
    app = (
        program(TIMELOOM)
        .add_edge("a", "b")
        .add_edge("b", "a")
        .compile()
        .with_config(recursion_limit=3)
    )
    with pytest.raises(GraphRecursionError):
        app.invoke({"log": []})
    with pytest.raises(GraphRecursionError):
        app.invoke({"log": []}, {"recursion_limit": 5})
    assert app.with_config(tags=["t"]).config == {"recursion_limit": 3, "tags": ["t"]}


def test_merge_configs_is_langgraphs() -> None:
    from langgraph._internal._config import merge_configs as lg_merge

    configs: list[Any] = [
        {"configurable": {"thread_id": "a", "x": 1}, "tags": ["t1"], "run_name": "r"},
        {"configurable": {"thread_id": "b"}, "tags": ["t2"], "metadata": {"m": 1}},
        {"metadata": {"n": 2}, "run_name": "", "recursion_limit": 7},
        None,
    ]
    ours = merge_configs(*configs)
    theirs = lg_merge(*configs)
    assert ours == {k: v for k, v in theirs.items() if v or k != "configurable"}


def test_copy_replaces_settings_and_refuses_the_rest() -> None:
    app = program(TIMELOOM).compile()
    saver = MemoryCheckpointer()
    copied = app.copy({"checkpointer": saver, "interrupt_before": ["a"]})
    assert (copied.checkpointer, app.checkpointer) == (saver, None)
    config = {"configurable": {"thread_id": "t"}}
    copied.invoke({"log": []}, config)
    assert copied.get_state(config).next == ("a",)  # paused before a
    assert app.invoke({"log": []}) == {"log": ["step"]}  # the original is unchanged
    assert app.copy().nodes == app.nodes
    assert app.copy().nodes is not app.nodes
    with pytest.raises(ValueError, match="cannot replace edges"):
        app.copy({"edges": []})


def test_a_node_copy_replaces_its_fields() -> None:
    app = program(TIMELOOM).compile()
    node = app.nodes["a"]
    assert node.copy({}) == node
    assert node.copy({"metadata": {"k": 1}}).metadata == {"k": 1}
    assert node.metadata == {}


def test_channels_are_the_states_keys() -> None:
    class Keys(TypedDict):
        total: Annotated[int, operator.add]
        name: str

    channels = tl.StateGraph(Keys).add_node("a", lambda s: {}).add_edge(tl.START, "a")
    compiled = channels.compile().channels
    assert list(compiled) == ["total", "name"]
    assert compiled["total"].reducer is operator.add
    assert compiled["name"].reducer is None


class Ctx(typing_extensions.TypedDict, total=False):
    # pydantic reads only typing_extensions' TypedDict before Python 3.12
    tools: list[str]


@dataclasses.dataclass
class DataCtx:
    user: str
    limit: int = 3


class ModelCtx(BaseModel):
    user: str


@pytest.mark.parametrize("context", [Ctx, DataCtx, ModelCtx, None])
def test_context_jsonschema_is_langgraphs(context: Any) -> None:
    def scenario(api: Api) -> Any:
        graph = api.StateGraph(State, context).add_node("a", step)
        return graph.add_edge(api.START, "a").compile().get_context_jsonschema()

    schema = run_on_both(scenario)  # LangGraph's, as ours is the same
    keyword = tl.StateGraph(State, context_schema=context).add_node("a", step)
    assert keyword.add_edge(tl.START, "a").compile().get_context_jsonschema() == schema


def test_a_context_schema_of_another_kind_is_refused() -> None:
    app = tl.StateGraph(State, int).add_node("a", step).add_edge(tl.START, "a")
    with pytest.raises(ValueError, match="TypedDict or a dataclass"):
        app.compile().get_context_jsonschema()
