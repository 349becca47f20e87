"""A step of parallel tasks that pauses or fails, in nested graphs: what the
run returns and streams, what the thread shows, and how a resume continues.

LangGraph's behaviour is the reference: most tests run one program on both
runtimes (``run_on_both``) and compare what a user sees; the stored ones run
Timeloom on every backend.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from types import SimpleNamespace
from typing import Annotated, Any, TypedDict

import langgraph.graph as lg_graph
import langgraph.types as lg_types
from langgraph.checkpoint.memory import InMemorySaver

import timeloom.core as tl
from timeloom.backends.memory import MemoryCheckpointer
from timeloom.core.checkpointer import BaseCheckpointer

LANGGRAPH = SimpleNamespace(
    StateGraph=lg_graph.StateGraph,
    START=lg_graph.START,
    Command=lg_types.Command,
    Send=lg_types.Send,
    interrupt=lg_types.interrupt,
    checkpointer=InMemorySaver,
)
TIMELOOM = SimpleNamespace(
    StateGraph=tl.StateGraph,
    START=tl.START,
    Command=tl.Command,
    Send=tl.Send,
    interrupt=tl.interrupt,
    checkpointer=MemoryCheckpointer,
)


def run_on_both(scenario: Callable[[Any], Any]) -> None:
    assert scenario(TIMELOOM) == scenario(LANGGRAPH)


def config(thread_id: str = "t") -> dict[str, Any]:
    return {"configurable": {"thread_id": thread_id}}


def questions(result: dict[str, Any]) -> list[Any]:
    """The values of a paused run's questions (ids differ between runtimes)."""
    return sorted(i.value for i in result.pop("__interrupt__", []))


class Child(TypedDict, total=False):
    prompt: str
    answer: str
    answers: list[str]


class Parent(TypedDict, total=False):
    prompts: list[str]
    answers: Annotated[list[str], operator.add]


def fan_out_to_asking_children(api: Any, checkpointer: Any) -> Any:
    """One ``Send`` per prompt to a child graph that asks for an answer; the
    child is compiled with the parent's checkpointer given again."""

    def ask(state: Child) -> dict[str, Any]:
        answer = api.interrupt(state["prompt"])
        return {"answer": answer, "answers": [answer]}

    child = (
        api.StateGraph(Child)
        .add_node("ask", ask)
        .add_edge(api.START, "ask")
        .compile(checkpointer=checkpointer)
    )

    def fan_out(state: Parent) -> list[Any]:
        return [api.Send("child", {"prompt": p}) for p in state["prompts"]]

    return (
        api.StateGraph(Parent)
        .add_node("child", child)
        .add_conditional_edges(api.START, fan_out, ["child"])
        .compile(checkpointer=checkpointer)
    )


def answer_all(app: Any, api: Any) -> Any:
    """Answer every open question of the thread in one resume, by id."""
    asked = app.get_state(config()).interrupts
    return app.invoke(
        api.Command(resume={i.id: f"re:{i.value}" for i in asked}), config()
    )


def test_a_resume_map_answers_subgraphs_given_the_parents_checkpointer(
    stored: BaseCheckpointer,
) -> None:
    app = fan_out_to_asking_children(TIMELOOM, stored)
    paused = app.invoke({"prompts": ["a", "b", "c"]}, config())
    assert questions(paused) == ["a", "b", "c"]
    done = answer_all(app, TIMELOOM)
    assert done == {"prompts": ["a", "b", "c"], "answers": ["re:a", "re:b", "re:c"]}


def test_same_as_langgraph_resume_map_into_sent_subgraphs() -> None:
    def scenario(api: Any) -> Any:
        app = fan_out_to_asking_children(api, api.checkpointer())
        paused = app.invoke({"prompts": ["a", "b"]}, config())
        return questions(paused), paused, answer_all(app, api)

    run_on_both(scenario)
