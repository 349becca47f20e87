"""``push_message``: a node streams a message it made itself (``messages``
mode) and writes it to the state with its update, as LangGraph's."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage
from langgraph.graph import START as LG_START
from langgraph.graph import MessagesState as LgMessagesState
from langgraph.graph import StateGraph as LgStateGraph
from langgraph.graph.message import push_message as lg_push_message

from timeloom.core import START, MessagesState, StateGraph, push_message
from timeloom.core.checkpointer import BaseCheckpointer


def chat_program(graph_cls: Any, schema: Any, start: str, push: Any) -> Any:
    def chat(state: Any) -> dict[str, Any]:
        push(AIMessage(content="first", id="1"))
        push(HumanMessage(content="second", id="2"))
        push(AIMessage(content="not kept", id="3"), state_key=None)
        return {"messages": [AIMessage(content="returned", id="4")]}

    graph = graph_cls(schema).add_node("chat", chat).add_edge(start, "chat")
    return graph


def streamed(app: Any, config: Any = None) -> tuple[list[Any], Any]:
    messages, values = [], None
    for mode, chunk in app.stream(
        {"messages": []}, config, stream_mode=["messages", "values"]
    ):
        if mode == "values":
            values = chunk
        else:
            messages.append(chunk[0])
    return messages, values


def test_pushed_messages_stream_and_are_written_as_in_langgraph(
    stored: BaseCheckpointer,
) -> None:
    config = {"configurable": {"thread_id": "t"}}
    ours = streamed(
        chat_program(StateGraph, MessagesState, START, push_message).compile(
            checkpointer=stored
        ),
        config,
    )
    theirs = streamed(
        chat_program(LgStateGraph, LgMessagesState, LG_START, lg_push_message).compile()
    )
    assert ours == theirs
    messages, values = ours
    assert [m.id for m in messages] == ["1", "2", "3", "4"]
    assert [m.id for m in values["messages"]] == ["1", "2", "4"]


def test_a_message_without_id_is_refused_and_outside_a_node_too() -> None:
    def chat(state: Any) -> None:
        with pytest.raises(ValueError, match="Message ID is required"):
            push_message(AIMessage(content="no id"))

    graph = StateGraph(MessagesState).add_node("chat", chat).add_edge(START, "chat")
    assert graph.compile().invoke({"messages": []}) == {"messages": []}
    with pytest.raises(RuntimeError, match="outside of a running node"):
        push_message(AIMessage(content="x", id="1"))
