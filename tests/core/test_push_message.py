"""``push_message``: a node streams a message it made itself (``messages``
mode) and writes it to the state with its update, as LangGraph's."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage

from tests.core.sides import Api, run_on_both
from timeloom.core import START, MessagesState, StateGraph, push_message
from timeloom.core.checkpointer import BaseCheckpointer


def chat_program(api: Api) -> Any:
    def chat(state: Any) -> dict[str, Any]:
        api.push_message(AIMessage(content="first", id="1"))
        api.push_message(HumanMessage(content="second", id="2"))
        api.push_message(AIMessage(content="not kept", id="3"), state_key=None)
        return {"messages": [AIMessage(content="returned", id="4")]}

    graph = api.StateGraph(api.MessagesState).add_node("chat", chat)
    return graph.add_edge(api.START, "chat")


def streamed(app: Any, config: Any) -> tuple[list[Any], Any]:
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
    def scenario(api: Api) -> Any:
        app = chat_program(api).compile(checkpointer=api.checkpointer())
        return streamed(app, {"configurable": {"thread_id": "t"}})

    messages, values = run_on_both(scenario, stored)
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
