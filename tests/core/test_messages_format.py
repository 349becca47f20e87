"""``add_messages(format="langchain-openai")``: the reducer with a format, as
LangGraph's, keeps messages with their contents in OpenAI's shape. Each case is
merged by LangGraph's reducer too and must come out the same."""

from __future__ import annotations

import operator
from typing import Annotated, Any, TypedDict

import pytest
from langchain_core.messages import AIMessage, HumanMessage
from langgraph.graph.message import add_messages as lg_add_messages

from timeloom.core import START, StateGraph, add_messages
from timeloom.core.checkpointer import BaseCheckpointer

IMAGE = {
    "type": "image",
    "source_type": "base64",
    "data": "iVBORw0KGgo=",
    "mime_type": "image/png",
}


def dumped(messages: list[Any]) -> list[Any]:
    return [(type(m).__name__, m.content, m.id) for m in messages]


def test_the_reducer_with_a_format_converts_contents_as_langgraph_does() -> None:
    left = [HumanMessage(content=[{"type": "text", "text": "hi"}, IMAGE], id="1")]
    right = [AIMessage(content=[{"type": "text", "text": "a picture"}], id="2")]
    ours = add_messages(format="langchain-openai")(left, right)
    reducer: Any = lg_add_messages  # typed as taking both lists
    theirs = reducer(format="langchain-openai")(left, right)
    assert dumped(ours) == dumped(theirs)
    # The image block is now OpenAI's image_url block.
    assert ours[0].content[1]["type"] == "image_url"
    # Without a format nothing is converted.
    assert add_messages(left, right)[0].content[1] == IMAGE


def test_a_graph_keeps_a_formatted_transcript_in_its_checkpoints(
    stored: BaseCheckpointer,
) -> None:
    """The stores revive the messages (their classes are the schema's)."""

    class State(TypedDict):
        messages: Annotated[list[Any], add_messages(format="langchain-openai")]
        turns: Annotated[int, operator.add]

    def reply(state: State) -> dict[str, Any]:
        return {"messages": [AIMessage(content=[IMAGE], id="r")], "turns": 1}

    graph = StateGraph(State).add_node("reply", reply).add_edge(START, "reply")
    app = graph.compile(checkpointer=stored)
    cfg = {"configurable": {"thread_id": "t"}}
    out = app.invoke({"messages": [HumanMessage("hi", id="h")], "turns": 0}, cfg)
    assert out["messages"][1].content[0]["type"] == "image_url"
    kept = app.get_state(cfg).values["messages"]
    assert dumped(kept) == dumped(out["messages"])


def test_an_unknown_format_or_one_list_is_refused() -> None:
    with pytest.raises(ValueError, match="Unrecognized format"):
        add_messages(format="openai")
    with pytest.raises(ValueError, match="both 'left' and 'right'"):
        add_messages([HumanMessage("hi")])
