"""``add_messages`` and ``MessagesState``: ids, replacement by id, removal; plain
dicts without LangChain, LangChain messages with it (stored and read back)."""

from __future__ import annotations

import sys
from typing import Any

import pytest

from tests.core.graphs import thread
from timeloom.core import (
    REMOVE_ALL_MESSAGES,
    START,
    MessagesState,
    RemoveMessage,
    StateGraph,
    add_messages,
)
from timeloom.core.checkpointer import BaseCheckpointer


@pytest.fixture
def without_langchain(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make ``import langchain_core.messages`` fail, as where it is not installed."""
    monkeypatch.setitem(sys.modules, "langchain_core", None)
    monkeypatch.setitem(sys.modules, "langchain_core.messages", None)


@pytest.mark.usefixtures("without_langchain")
def test_dict_messages_get_ids_and_merge_by_id() -> None:
    first = add_messages([], [{"role": "user", "content": "hi"}, "and you?"])
    assert [m["content"] for m in first] == ["hi", "and you?"]
    assert first[1]["role"] == "user"
    assert all(isinstance(m["id"], str) and m["id"] for m in first)
    assert len({m["id"] for m in first}) == 2
    hi = first[0]["id"]
    edited = add_messages(first, {"role": "user", "content": "hello", "id": hi})
    assert [m["content"] for m in edited] == ["hello", "and you?"], "replaced in place"
    assert first[0]["content"] == "hi", "the old list is untouched"
    removed = add_messages(edited, [RemoveMessage(hi), ("ai", "yes")])
    assert [(m["role"], m["content"]) for m in removed] == [
        ("user", "and you?"),
        ("ai", "yes"),
    ]
    with pytest.raises(ValueError, match="doesn't exist"):
        add_messages(removed, [RemoveMessage("nope")])
    fresh = add_messages(removed, [RemoveMessage(REMOVE_ALL_MESSAGES), "again"])
    assert [m["content"] for m in fresh] == ["again"]


@pytest.mark.usefixtures("without_langchain")
def test_messages_state_with_dicts_in_a_graph(stored: BaseCheckpointer) -> None:
    def reply(state: Any) -> dict[str, Any]:
        last = state["messages"][-1]
        return {"messages": [{"role": "ai", "content": f"re: {last['content']}"}]}

    graph = StateGraph(MessagesState).add_node("reply", reply)
    app = graph.add_edge(START, "reply").compile(checkpointer=stored)
    app.invoke({"messages": "hi"}, thread("t"))
    values = app.get_state(thread("t")).values
    assert [m["content"] for m in values["messages"]] == ["hi", "re: hi"]
    ai_id = values["messages"][1]["id"]
    app.update_state(
        thread("t"), {"messages": [{"role": "ai", "content": "fixed", "id": ai_id}]}
    )
    app.invoke({"messages": [{"role": "user", "content": "thanks"}]}, thread("t"))
    contents = [m["content"] for m in app.get_state(thread("t")).values["messages"]]
    assert contents == ["hi", "fixed", "thanks", "re: thanks"]


def test_langchain_messages_stored_and_read_back(stored: BaseCheckpointer) -> None:
    messages = pytest.importorskip("langchain_core.messages")

    def reply(state: Any) -> dict[str, Any]:
        return {"messages": [messages.AIMessage(content=state["messages"][-1].content)]}

    graph = StateGraph(MessagesState).add_node("reply", reply)
    app = graph.add_edge(START, "reply").compile(checkpointer=stored)
    app.invoke({"messages": [{"role": "user", "content": "echo"}]}, thread("t"))
    app.invoke({"messages": [("user", "again")]}, thread("t"))
    history = list(app.get_state_history(thread("t")))
    values = history[0].values["messages"]
    assert [type(m).__name__ for m in values] == [
        "HumanMessage",
        "AIMessage",
        "HumanMessage",
        "AIMessage",
    ]
    assert [m.content for m in values] == ["echo", "echo", "again", "again"]
    app.update_state(
        thread("t"), {"messages": [messages.RemoveMessage(id=values[0].id)]}
    )
    assert len(app.get_state(thread("t")).values["messages"]) == 3


def test_same_merges_as_langgraph() -> None:
    lg = pytest.importorskip("langgraph.graph.message")
    lc = pytest.importorskip("langchain_core.messages")
    left = [lc.HumanMessage(content="a", id="1"), lc.AIMessage(content="b", id="2")]
    updates: list[Any] = [
        [lc.AIMessage(content="B", id="2"), lc.HumanMessage(content="c", id="3")],
        [lc.RemoveMessage(id="1")],
        {"role": "user", "content": "d", "id": "4"},
        [lc.RemoveMessage(id=REMOVE_ALL_MESSAGES), lc.AIMessage(content="e", id="5")],
    ]
    ours, theirs = list(left), list(left)
    for update in updates:
        ours = add_messages(ours, update)
        theirs = lg.add_messages(theirs, update)
        assert ours == theirs
