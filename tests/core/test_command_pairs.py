"""A node's several writes of one key: ``Command(update=[(key, value), ...])``,
as LangGraph allows, applied in order through the reducer, streamed and kept in
the history as LangGraph shows them, and stored on every backend."""

from __future__ import annotations

from typing import Annotated, Any, TypedDict

import pytest

from tests.core.sides import LANGGRAPH, TIMELOOM, Api, run_on_both
from timeloom.core import START, Command, InvalidUpdateError, StateGraph
from timeloom.core.checkpointer import BaseCheckpointer


def joined(a: str, b: str) -> str:
    return ", ".join(x for x in (a, b) if x)


class State(TypedDict):
    foo: Annotated[str, joined]


def config(thread_id: str = "t") -> dict[str, Any]:
    return {"configurable": {"thread_id": thread_id}}


def program(api: Api, saver: Any) -> Any:
    """one writes foo twice (as pairs), then two writes it once."""
    graph = api.StateGraph(State)
    graph.add_node("one", lambda s: api.Command(update=[("foo", "1a"), ("foo", "1b")]))
    graph.add_node("two", lambda s: {"foo": "two"})
    graph.add_edge(api.START, "one").add_edge("one", "two")
    return graph.compile(checkpointer=saver)


def seen(app: Any) -> tuple[list[Any], list[Any]]:
    """The run's updates and task results as streamed, and the history's task
    results and values."""
    chunks = [
        (mode, {k: v for k, v in chunk.items() if k != "id"})
        for mode, chunk in app.stream(
            {"foo": "in"}, config(), stream_mode=["updates", "tasks"]
        )
        if mode == "updates" or "result" in chunk
    ]
    history = [
        ([(t.name, t.result) for t in s.tasks], s.values)
        for s in app.get_state_history(config())
    ]
    return chunks, history


def test_pairs_write_a_key_several_times_as_in_langgraph(
    stored: BaseCheckpointer,
) -> None:
    chunks, history = run_on_both(
        lambda api: seen(program(api, api.checkpointer())), stored
    )
    assert chunks[0] == ("updates", {"one": [{"foo": "1a"}, {"foo": "1b"}]})
    assert chunks[1][1]["result"] == {"foo": {"$writes": ["1a", "1b"]}}
    assert history[0][1] == {"foo": "in, 1a, 1b, two"}
    assert history[2][0] == [("one", {"foo": {"$writes": ["1a", "1b"]}})]


def test_several_commands_of_one_node_stream_as_langgraphs() -> None:
    """A list of commands writing different keys shows as one update; writing
    a key twice, as one update per write (LangGraph's ``updates`` shape)."""

    class Two(TypedDict):
        a: Annotated[str, joined]
        b: Annotated[str, joined]

    def updates(api: Api, *writes: Any) -> Any:
        graph = api.StateGraph(Two)
        graph.add_node("n", lambda s: [api.Command(update=w) for w in writes])
        graph.add_edge(api.START, "n")
        app = graph.compile()
        return list(app.stream({"a": "", "b": ""}, stream_mode="updates"))

    for writes in (({"a": "1"}, {"b": "2"}), ({"a": "1", "b": "2"}, {"a": "3"})):

        def scenario(api: Api, writes: tuple[Any, ...] = writes) -> Any:
            return updates(api, *writes)

        ours = run_on_both(scenario)
    assert ours == [{"n": [{"a": "1"}, {"b": "2"}, {"a": "3"}]}]


def test_a_task_that_writes_nothing_streams_none_as_in_langgraph() -> None:
    def updates(api: Api, returned: Any) -> Any:
        graph = api.StateGraph(State).add_node("n", lambda s: returned)
        graph.add_edge(api.START, "n")
        return list(graph.compile().stream({"foo": ""}, stream_mode="updates"))

    assert updates(TIMELOOM, {}) == [{"n": None}]
    assert updates(TIMELOOM, Command(update=[])) == [{"n": None}]
    assert updates(LANGGRAPH, {}) == [{"n": None}]


def test_a_key_without_reducer_written_twice_by_pairs_is_refused() -> None:
    class Plain(TypedDict):
        foo: str

    graph = StateGraph(Plain)
    graph.add_node("n", lambda s: Command(update=[("foo", "a"), ("foo", "b")]))
    graph.add_edge(START, "n")
    with pytest.raises(InvalidUpdateError, match="At key 'foo'.*'n' wrote it twice"):
        graph.compile().invoke({"foo": ""})


def test_pairs_of_a_node_whose_sibling_failed_are_reused_in_order(
    stored: BaseCheckpointer,
) -> None:
    """Stored as the step's pending writes: the resume applies both, in order,
    without running the node again."""
    runs: list[str] = []
    failing = {"bad"}

    def one(state: State) -> Command[str]:
        runs.append("one")
        return Command(update=[("foo", "1a"), ("foo", "1b")])

    def bad(state: State) -> dict[str, str]:
        if "bad" in failing:
            failing.clear()
            raise RuntimeError("bad failed")
        return {"foo": "bad"}

    graph = StateGraph(State).add_node("one", one).add_node("bad", bad)
    graph.add_edge(START, "one").add_edge(START, "bad")
    app = graph.compile(checkpointer=stored)
    with pytest.raises(RuntimeError, match="bad failed"):
        app.invoke({"foo": "in"}, config())
    failed = app.get_state(config())
    one_task = next(t for t in failed.tasks if t.name == "one")
    assert one_task.result == {"foo": {"$writes": ["1a", "1b"]}}
    assert app.invoke(None, config()) == {"foo": "in, bad, 1a, 1b"}
    assert runs == ["one"]


def test_command_input_with_pairs_applies_each_write(memory: BaseCheckpointer) -> None:
    graph = StateGraph(State).add_node("n", lambda s: {"foo": "n"})
    graph.add_edge(START, "n")
    app = graph.compile(checkpointer=memory, interrupt_before=["n"])
    app.invoke({"foo": "in"}, config())
    update: Command[str] = Command(update=[("foo", "x"), ("foo", "y")])
    assert app.invoke(update, config()) == {"foo": "in, x, y, n"}
