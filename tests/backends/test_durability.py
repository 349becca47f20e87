"""``durability="async"`` on every backend: what is stored is what each step made."""

from __future__ import annotations

import operator
from typing import Annotated, Any, TypedDict

from timeloom.core import END, START, StateGraph
from timeloom.core.checkpointer import BaseCheckpointer


class Chat(TypedDict):
    messages: Annotated[list[dict[str, Any]], operator.add]


async def test_a_later_in_place_change_does_not_reach_an_earlier_checkpoint(
    checkpointer: BaseCheckpointer,
) -> None:
    """Checkpoints wait to be committed while later steps run; a node that changes
    an old message in place (a bug, but a common one) must not rewrite the
    checkpoints made before it ran."""

    def ask(state: Chat) -> dict[str, Any]:
        return {"messages": [{"role": "ai", "text": "which size?"}]}

    def edit(state: Chat) -> dict[str, Any]:
        state["messages"][0]["text"] = "edited in place"
        return {"messages": [{"role": "ai", "text": "done"}]}

    graph = StateGraph(Chat)
    graph.add_node("ask", ask).add_node("edit", edit)
    graph.add_edge(START, "ask").add_edge("ask", "edit").add_edge("edit", END)
    app = graph.compile(checkpointer=checkpointer)
    config = {"configurable": {"thread_id": "t"}}
    user = {"role": "user", "text": "a shirt"}
    await app.ainvoke({"messages": [user]}, config, durability="async")
    history = [s async for s in app.aget_state_history(config)]
    texts = [[m["text"] for m in s.values["messages"]] for s in reversed(history)]
    assert texts == [
        ["a shirt"],
        ["a shirt", "which size?"],
        ["edited in place", "which size?", "done"],
    ]
