"""Errors have the types LangGraph raises, so code written against it catches them."""

from __future__ import annotations

from collections import Counter
from typing import Any, TypedDict

import pytest

from tests.core.graphs import linear_graph, thread
from timeloom.backends.memory import MemoryCheckpointer
from timeloom.core import START, Command, StateGraph, interrupt


class State(TypedDict):
    n: int


def test_validation_and_config_errors_are_value_errors(
    memory: MemoryCheckpointer, calls: Counter[str]
) -> None:
    with pytest.raises(ValueError, match="no entry point"):
        StateGraph(State).add_node("a", lambda s: {}).compile()
    app = linear_graph(memory, calls)
    with pytest.raises(ValueError, match="thread id"):
        app.invoke({"log": [], "count": 0}, {})


def test_too_many_steps_is_a_recursion_error(memory: MemoryCheckpointer) -> None:
    graph = StateGraph(State).add_node("loop", lambda s: {"n": s["n"] + 1})
    graph.add_edge(START, "loop").add_edge("loop", "loop")
    with pytest.raises(RecursionError, match="recursion_limit"):
        graph.compile().invoke({"n": 0}, {"recursion_limit": 5})


def test_an_ambiguous_resume_is_a_runtime_error(memory: MemoryCheckpointer) -> None:
    def ask(name: str) -> Any:
        return lambda state: {"n": interrupt(name)}

    graph = StateGraph(State).add_node("a", ask("a")).add_node("b", ask("b"))
    graph.add_edge(START, "a").add_edge(START, "b")
    app = graph.compile(checkpointer=memory)
    app.invoke({"n": 0}, thread("t"))
    with pytest.raises(RuntimeError, match="2 interrupts are pending"):
        app.invoke(Command(resume=1), thread("t"))
