"""LangGraph's ``DeltaChannel`` (a key annotated
``Annotated[list, DeltaChannel(reducer)]``, usually a chat transcript): the same
program on LangGraph and on Timeloom shows the same values, history and time
travel. LangGraph stores such a key as its writes and replays them on each read;
Timeloom stores every value whole, so what is read back must be the messages
themselves (LangChain's classes revived, never inert), on every backend.
"""

from __future__ import annotations

from typing import Annotated, Any, TypedDict

import pytest
from langchain_core.messages import (
    AIMessage,
    AnyMessage,
    BaseMessage,
    HumanMessage,
    RemoveMessage,
)
from langgraph.channels.delta import DeltaChannel
from langgraph.graph.message import REMOVE_ALL_MESSAGES, _messages_delta_reducer
from langgraph.types import Overwrite

from tests.core.sides import LANGGRAPH, TIMELOOM, Api
from timeloom.core.checkpointer import BaseCheckpointer
from timeloom.core.state import StateSchema


class Chat(TypedDict):
    messages: Annotated[list, DeltaChannel(_messages_delta_reducer)]  # type: ignore[type-arg]
    turns: int


def config(thread_id: str = "t") -> dict[str, Any]:
    return {"configurable": {"thread_id": thread_id}}


def chat(checkpointer: Any, api: Api = TIMELOOM) -> Any:
    """respond and note run together; respond replies with a message with an id
    and one without (a string), note writes a message as a dict."""
    graph_cls, start = api.StateGraph, api.START

    def respond(state: Chat) -> dict[str, Any]:
        n = len(state["messages"])
        return {"messages": [AIMessage(f"reply-{n}", id=f"ai-{n}"), "said"], "turns": n}

    def note(state: Chat) -> dict[str, Any]:
        return {"messages": {"role": "user", "content": "noted"}}

    graph = graph_cls(Chat)
    graph.add_node("respond", respond)
    graph.add_node("note", note)
    graph.add_edge(start, "respond")
    graph.add_edge(start, "note")
    return graph.compile(checkpointer=checkpointer)


def shown(messages: list[Any]) -> list[tuple[str, Any, str]]:
    """What a user reads of messages: class, content, and the id (``"new"`` for
    one a run made up: a random UUID)."""
    return [
        (
            type(m).__name__,
            m.content,
            "new" if len(m.id or "") == 36 else m.id,
        )
        for m in messages
    ]


def history(app: Any) -> list[tuple[Any, ...]]:
    return [
        (s.metadata["step"], s.next, shown(s.values.get("messages", [])))
        for s in app.get_state_history(config())
    ]


def two_turns(app: Any, durability: str = "sync") -> None:
    first = [HumanMessage("h1", id="h1"), ("user", "pair")]
    app.invoke({"messages": first}, config(), durability=durability)
    app.invoke(
        {"messages": [HumanMessage("h2", id="h2")]}, config(), durability=durability
    )


@pytest.mark.parametrize("durability", ["sync", "async", "exit"])
def test_history_and_values_are_langgraphs(
    stored: BaseCheckpointer, durability: str
) -> None:
    # LangGraph's writes must be saved before a checkpoint that replays them;
    # Timeloom commits whole values with their checkpoint, whenever it commits.
    ours = chat(stored)
    theirs = chat(LANGGRAPH.checkpointer(), LANGGRAPH)
    two_turns(ours, durability)
    two_turns(theirs, durability)

    expected = history(theirs)
    if durability == "exit":  # LangGraph's stub: a parent for a new thread's writes
        assert expected[-1] == (-2, (), [])
        expected = expected[:-1]
    assert history(ours) == expected
    values = ours.get_state(config()).values["messages"]
    assert all(isinstance(m, BaseMessage) for m in values)
    assert shown(values) == [
        ("HumanMessage", "h1", "h1"),
        ("HumanMessage", "pair", "new"),
        ("HumanMessage", "noted", "new"),  # the step's tasks in LangGraph's order
        ("AIMessage", "reply-2", "ai-2"),
        ("HumanMessage", "said", "new"),
        ("HumanMessage", "h2", "h2"),
        ("HumanMessage", "noted", "new"),
        ("AIMessage", "reply-6", "ai-6"),
        ("HumanMessage", "said", "new"),
    ]
    # A message given an id keeps it: each read gives the same ids.
    again = ours.get_state(config()).values["messages"]
    assert [m.id for m in again] == [m.id for m in values]


def test_a_message_is_updated_and_removed_by_the_id_it_was_given(
    stored: BaseCheckpointer,
) -> None:
    app = chat(stored)
    two_turns(app)
    first_turn = app.get_state(config()).values["messages"][:5]
    pair, said = first_turn[1].id, first_turn[4].id  # ids the first turn gave
    app.update_state(
        config(),
        {"messages": [HumanMessage("edited", id=pair), RemoveMessage(id=said)]},
        as_node="respond",
    )

    contents = [m.content for m in app.get_state(config()).values["messages"]]
    assert contents[:4] == ["h1", "edited", "noted", "reply-2"]


def test_time_travel_resumes_from_the_checkpoints_messages(
    stored: BaseCheckpointer,
) -> None:
    results = []
    for app in (chat(stored), chat(LANGGRAPH.checkpointer(), LANGGRAPH)):
        two_turns(app)
        first = next(
            s
            for s in app.get_state_history(config())
            if len(s.values.get("messages", [])) == 5 and not s.next
        )
        resumed = app.invoke({"messages": [HumanMessage("h3", id="h3")]}, first.config)
        results.append(shown(resumed["messages"]))
    assert results[0] == results[1]
    assert [content for _, content, _ in results[0]] == [
        "h1",
        "pair",
        "noted",
        "reply-2",
        "said",
        "h3",  # not turn two's h2 and replies
        "noted",
        "reply-6",
        "said",
    ]


def test_overwrite_sets_the_transcript_and_none_empties_it(
    stored: BaseCheckpointer,
) -> None:
    results = []
    for app in (chat(stored), chat(LANGGRAPH.checkpointer(), LANGGRAPH)):
        two_turns(app)
        app.update_state(
            config(), {"messages": Overwrite(["only", ("ai", "pair")])}, as_node="note"
        )
        overwritten = shown(app.get_state(config()).values["messages"])
        app.update_state(config(), {"messages": Overwrite(None)}, as_node="note")
        emptied = app.get_state(config()).values["messages"]
        app.update_state(
            config(),
            {"messages": [RemoveMessage(REMOVE_ALL_MESSAGES), "after"]},
            as_node="note",
        )
        results.append(
            (overwritten, emptied, shown(app.get_state(config()).values["messages"]))
        )
    assert results[0] == results[1]
    assert results[0] == (
        [("HumanMessage", "only", "new"), ("AIMessage", "pair", "new")],
        [],
        [("HumanMessage", "after", "new")],
    )


def flattened(state: list[Any], writes: list[Any]) -> list[Any]:
    """A ``DeltaChannel`` reducer that is not a transcript's: lists extend,
    anything else is appended."""
    out = list(state)
    for write in writes:
        out.extend(write if isinstance(write, list) else [write])
    return out


class Notes(TypedDict):
    notes: Annotated[list[AnyMessage | dict[str, Any] | str], DeltaChannel(flattened)]


def notes(checkpointer: Any, api: Api = TIMELOOM) -> Any:
    graph_cls, start = api.StateGraph, api.START

    def a_list(state: Notes) -> dict[str, Any]:
        return {
            "notes": [AIMessage("a"), {"role": "user", "content": "d"}, "s", {"k": 1}]
        }

    def b_alone(state: Notes) -> dict[str, Any]:
        return {"notes": {"role": "ai", "content": "alone"}}

    graph = graph_cls(Notes)
    graph.add_node("a_list", a_list)
    graph.add_node("b_alone", b_alone)
    graph.add_edge(start, "a_list")
    graph.add_edge(start, "b_alone")
    return graph.compile(checkpointer=checkpointer)


def seen(value: Any) -> Any:
    """A note as a user reads it (a generated id as ``"new"``)."""
    if isinstance(value, BaseMessage):
        return shown([value])[0]
    if isinstance(value, dict) and value.get("id"):
        return {**value, "id": "new"}
    return value


def test_another_reducers_messages_get_ids_as_in_langgraph(
    stored: BaseCheckpointer,
) -> None:
    results = []
    for app in (notes(stored), notes(LANGGRAPH.checkpointer(), LANGGRAPH)):
        app.invoke({"notes": [HumanMessage("in")]}, config())
        after_input = app.get_state(config()).values["notes"]
        overwrite = (AIMessage("o"), {"role": "ai", "content": "x"})
        app.update_state(config(), {"notes": Overwrite(overwrite)}, as_node="a_list")
        results.append(
            [
                [seen(v) for v in values]
                for values in (after_input, app.get_state(config()).values["notes"])
            ]
        )
    assert results[0] == results[1]
    assert results[0][0] == [
        ("HumanMessage", "in", "new"),
        ("AIMessage", "a", "new"),
        ("HumanMessage", "d", "new"),  # a message dict in a list becomes one
        "s",
        {"k": 1},
        {"role": "ai", "content": "alone", "id": "new"},  # alone, it stays a dict
    ]
    assert results[0][1] == [
        ("AIMessage", "o", "new"),
        {"role": "ai", "content": "x"},  # an Overwrite's dicts stay as they are
    ]


def kept(state: list[str], writes: list[list[str]]) -> list[str]:
    """A ``DeltaChannel`` reducer of a list that is not a transcript."""
    return state + [item for batch in writes for item in batch]


class Logs(TypedDict):
    messages: Annotated[list, DeltaChannel(_messages_delta_reducer)]  # type: ignore[type-arg]
    log: Annotated[list, DeltaChannel(kept)]  # type: ignore[type-arg]


class OnlyLog(TypedDict):
    log: Annotated[list, DeltaChannel(kept)]  # type: ignore[type-arg]


def test_the_codec_may_revive_messages_of_a_transcript_only() -> None:
    assert {AIMessage, HumanMessage} <= StateSchema.from_type(Logs).classes()
    assert StateSchema.from_type(OnlyLog).classes() == set()
