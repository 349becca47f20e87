"""``durability="async"`` on every backend: what is stored is what each step made."""

from __future__ import annotations

import operator
from pathlib import Path
from typing import Annotated, Any, TypedDict

import pytest

from timeloom.backends.postgres import PostgresCheckpointer
from timeloom.backends.sqlite import SqliteCheckpointer
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
        [],  # the input checkpoint of a new thread
        ["a shirt"],
        ["a shirt", "which size?"],
        ["edited in place", "which size?", "done"],
    ]


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
async def test_a_run_starts_from_the_real_head_when_another_writer_moved_it(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """A new input starts from the head this checkpointer committed last, without
    reading it back; if another writer (here another process's checkpointer on the
    same database) moved the thread meanwhile, the input commit conflicts, and the
    run reads the real head and continues from it. No node runs twice."""
    checkpointer: BaseCheckpointer
    other: BaseCheckpointer
    if backend == "sqlite":
        checkpointer = SqliteCheckpointer(tmp_path / "two.db")
        other = SqliteCheckpointer(tmp_path / "two.db")
    else:
        dsn = request.getfixturevalue("postgres_dsn")
        checkpointer, other = PostgresCheckpointer(dsn), PostgresCheckpointer(dsn)
    calls: list[str] = []

    def reply(state: Chat) -> dict[str, Any]:
        calls.append(state["messages"][-1]["text"])
        return {"messages": [{"role": "ai", "text": f"re: {calls[-1]}"}]}

    graph = StateGraph(Chat)
    graph.add_node("reply", reply).add_edge(START, "reply").add_edge("reply", END)
    mine = graph.compile(checkpointer=checkpointer)
    theirs = graph.compile(checkpointer=other)
    config = {"configurable": {"thread_id": "t"}}

    def said(text: str) -> dict[str, Any]:
        return {"messages": [{"role": "user", "text": text}]}

    async with checkpointer, other:
        for durability in ("sync", "async"):
            await mine.ainvoke(
                said(f"mine {durability}"), config, durability=durability
            )
            await theirs.ainvoke(said(f"theirs {durability}"), config)
        final = await mine.ainvoke(said("mine again"), config, durability="async")
        history = [s async for s in mine.aget_state_history(config)]
    assert [m["text"] for m in final["messages"]] == [
        "mine sync",
        "re: mine sync",
        "theirs sync",
        "re: theirs sync",
        "mine async",
        "re: mine async",
        "theirs async",
        "re: theirs async",
        "mine again",
        "re: mine again",
    ]
    assert len(calls) == 5
    # The input checkpoint, the input applied and a step per turn, nothing lost.
    assert len(history) == 15
