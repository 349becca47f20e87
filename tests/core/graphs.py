"""Small graphs the runtime tests share, with call counters to prove what re-ran."""

from __future__ import annotations

import operator
from collections import Counter
from typing import Annotated, Any, TypedDict

from timeloom.core import END, START, CompiledGraph, StateGraph
from timeloom.core.checkpointer import BaseCheckpointer
from timeloom.core.sync import run_sync


class LinearState(TypedDict):
    log: Annotated[list[str], operator.add]
    count: int


def linear_graph(
    checkpointer: BaseCheckpointer | None, calls: Counter[str], **compile_args: Any
) -> CompiledGraph:
    """The classic step1 -> step2 -> step3 example; ``calls`` counts node runs."""

    def make(name: str) -> Any:
        def node(state: LinearState) -> dict[str, Any]:
            calls[name] += 1
            return {"log": [name], "count": state["count"] + 1}

        return node

    graph = StateGraph(LinearState)
    for name in ("step1", "step2", "step3"):
        graph.add_node(name, make(name))
    graph.add_edge(START, "step1")
    graph.add_edge("step1", "step2")
    graph.add_edge("step2", "step3")
    graph.add_edge("step3", END)
    return graph.compile(checkpointer=checkpointer, **compile_args)


def thread(thread_id: str) -> dict[str, Any]:
    return {"configurable": {"thread_id": thread_id}}


def stored_writes(checkpointer: BaseCheckpointer, snapshot: Any) -> dict[str, Any]:
    """What the step (or update) that made ``snapshot``'s checkpoint wrote, by
    node, as stored (a snapshot shows it as its parent's task results)."""
    own = snapshot.config["configurable"]
    found = run_sync(checkpointer.get(own["thread_id"], own["checkpoint_id"]))
    assert found is not None
    return dict(found.writes)
