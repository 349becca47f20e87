"""State schemas as LangGraph reads them: input, output and private keys, a state of
one value, pydantic models, and what a node may return."""

from __future__ import annotations

import operator
from dataclasses import dataclass
from typing import Annotated, Any, NotRequired, Required, TypedDict

import pydantic
import pytest

from tests.core.graphs import thread
from tests.core.sides import Api, run_on_both
from timeloom.backends.memory import MemoryCheckpointer
from timeloom.core import START, Command, StateGraph
from timeloom.core.errors import GraphValidationError


class Overall(TypedDict, total=False):
    question: str
    answer: str
    notes: Annotated[list[str], operator.add]


class Question(TypedDict):
    question: str


class Answer(TypedDict):
    answer: str


class Scratch(TypedDict):
    question: str
    draft: str  # private: in no state schema, shared by the nodes that declare it


def test_input_output_and_private_keys(memory: MemoryCheckpointer) -> None:
    seen: dict[str, Any] = {}

    def think(state: Question) -> dict[str, Any]:
        seen["think"] = dict(state)
        return {"draft": f"draft of {state['question']}", "notes": ["thought"]}

    def write(state: Scratch) -> dict[str, Any]:
        seen["write"] = dict(state)
        return {"answer": state["draft"].upper()}

    graph = StateGraph(Overall, input_schema=Question, output_schema=Answer)
    graph.add_node("think", think).add_node("write", write)
    graph.add_edge(START, "think").add_edge("think", "write")
    app = graph.compile(checkpointer=memory)
    # Keys outside the input schema are ignored, as in LangGraph.
    result = app.invoke(
        {"question": "why", "answer": "sneaky", "bogus": 1}, thread("t")
    )
    assert result == {"answer": "DRAFT OF WHY"}, "only the output schema's keys"
    assert seen["think"] == {"question": "why"}, "a node reads its own schema"
    assert seen["write"] == {"question": "why", "draft": "draft of why"}
    values = app.get_state(thread("t")).values
    assert values["draft"] == "draft of why", "private keys are stored"
    assert values["notes"] == ["thought"]


def test_a_state_of_one_value(memory: MemoryCheckpointer) -> None:
    def more(state: list[int]) -> list[int]:
        return [len(state)]

    graph = StateGraph(Annotated[list[int], operator.add])
    graph.add_node("more", more).add_node("again", more)
    graph.add_edge(START, "more").add_edge("more", "again")
    app = graph.compile(checkpointer=memory)
    assert app.invoke([7], thread("t")) == [7, 1, 2]
    assert app.invoke([0], thread("t")) == [7, 1, 2, 0, 4, 5]


def test_a_node_may_return_a_list_of_updates_and_commands() -> None:
    def plan(state: Overall) -> list[Any]:
        return [
            {"notes": ["one"]},
            Command(update={"notes": ["two"]}, goto="finish"),
        ]

    def finish(state: Overall) -> dict[str, Any]:
        return {"answer": ",".join(state["notes"])}

    graph = StateGraph(Overall).add_node("plan", plan).add_node("finish", finish)
    graph.add_edge(START, "plan")
    assert graph.compile().invoke({"notes": []})["answer"] == "one,two"


def test_pydantic_and_dataclass_states() -> None:
    class Model(pydantic.BaseModel):
        n: int
        log: Annotated[list[str], operator.add] = []

    @dataclass
    class Data:
        n: int

    def bump(state: Model) -> Model:
        return Model(n=state.n + 1, log=["bumped"])

    graph = StateGraph(Model).add_node("bump", bump).add_edge(START, "bump")
    assert graph.compile().invoke({"n": 1}) == {"n": 2, "log": ["bumped"]}
    assert graph.compile().invoke(Model(n=5)) == {"n": 6, "log": ["bumped"]}

    def half(state: Data) -> Data:
        return Data(n=state.n // 2)

    graph2 = StateGraph(Data).add_node("half", half).add_edge(START, "half")
    assert graph2.compile().invoke({"n": 9}) == {"n": 4}


def test_command_goto_as_input_adds_a_node(memory: MemoryCheckpointer) -> None:
    def say(word: str) -> Any:
        return lambda state: {"notes": [word]}

    graph = StateGraph(Overall).add_node("a", say("a")).add_node("b", say("b"))
    graph.add_node("c", say("c"))
    graph.add_edge(START, "a").add_edge("a", "b")
    app = graph.compile(checkpointer=memory, interrupt_before=["b"])
    app.invoke({"notes": []}, thread("t"))
    assert app.invoke(Command(goto="c"), thread("t"))["notes"] == ["a", "b", "c"]


def test_unreadable_schema_hints_are_a_validation_error() -> None:
    class Broken(TypedDict):
        x: NotDefined  # type: ignore[name-defined]  # noqa: F821

    with pytest.raises(GraphValidationError, match="type hints"):
        StateGraph(Broken)


class Route(TypedDict):
    answer: str


def test_a_router_reads_its_own_schema() -> None:
    seen: list[Any] = []

    def route(state: Route) -> str:
        seen.append(dict(state))
        return "__end__"

    graph = StateGraph(Overall).add_node("a", lambda s: {"answer": "x", "notes": []})
    graph.add_edge(START, "a").add_conditional_edges("a", route)
    graph.compile().invoke({"question": "q"})
    assert seen == [{"answer": "x"}]


def test_state_of_one_value_in_snapshots(memory: MemoryCheckpointer) -> None:
    graph = StateGraph(Annotated[list[int], operator.add])
    graph.add_node("one", lambda s: [1]).add_edge(START, "one")
    app = graph.compile(checkpointer=memory)
    app.invoke([0], thread("t"))
    assert app.get_state(thread("t")).values == [0, 1]
    app.update_state(thread("t"), [2])
    assert [s.values for s in app.get_state_history(thread("t"))] == [
        [0, 1, 2],
        [0, 1],
        [0],
        [],
    ]


class Qualified(TypedDict, total=False):
    needed: Required[Annotated[list[str], operator.add]]
    optional: NotRequired[Annotated[list[str], operator.add]]


def test_a_reducer_inside_required_or_not_required_is_used_as_langgraphs() -> None:
    def node(state: Qualified) -> dict[str, Any]:
        return {"needed": ["n"], "optional": ["o"]}

    def scenario(api: Api) -> Any:
        graph = api.StateGraph(Qualified).add_node("a", node).add_node("b", node)
        graph.add_edge(api.START, "a").add_edge(api.START, "b")
        return graph.compile().invoke({"needed": ["x"], "optional": []})

    assert run_on_both(scenario) == {"needed": ["x", "n", "n"], "optional": ["o", "o"]}
    channels = StateGraph(Qualified).channels
    assert channels["needed"].reducer is channels["optional"].reducer is operator.add
