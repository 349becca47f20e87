"""A LangGraph thread that fans out with ``Send``, as the read-only reader shows it:
``next`` lists a node once per pending send, as LangGraph's ``get_state`` does."""

from __future__ import annotations

import operator
from pathlib import Path
from typing import Annotated, Any, TypedDict

from langgraph.graph import END, START, StateGraph
from langgraph.types import Send

from tests.langgraph import lgdb
from timeloom.backends.langgraph import open_langgraph


class State(TypedDict, total=False):
    subjects: list[str]
    jokes: Annotated[list[str], operator.add]


def fan_out_graph(saver: Any) -> Any:
    """START sends each subject to ``joke``; ``joke`` -> ``best``; ``best`` sends
    one more ``joke`` beside ``last``, once."""
    graph = StateGraph(State)
    graph.add_node("joke", lambda arg: {"jokes": [f"joke about {arg}"]})
    graph.add_node("best", lambda state: {"jokes": ["best"]})
    graph.add_node("last", lambda state: {"jokes": ["last"]})
    graph.add_conditional_edges(
        START, lambda state: [Send("joke", s) for s in state["subjects"]]
    )
    graph.add_edge("joke", "best")
    graph.add_conditional_edges(
        "best",
        lambda state: (
            END
            if "joke about more" in state["jokes"]
            else [Send("joke", "more"), "last"]
        ),
    )
    return graph.compile(checkpointer=saver)


async def test_next_lists_each_pending_send_as_langgraph(tmp_path: Path) -> None:
    path = tmp_path / "sends.db"
    config = {"configurable": {"thread_id": "fan"}}
    with lgdb.sqlite_saver(path) as saver:
        app = fan_out_graph(saver)
        app.invoke({"subjects": ["cats", "dogs"]}, config)
        theirs = [s.next for s in app.get_state_history(config)]
    assert ("joke", "joke") in theirs  # the history has a fan-out to compare
    async with open_langgraph(str(path)) as reader:
        ours = [m.next async for m in reader.summaries("fan")]
    assert ours == theirs, (ours, theirs)


async def test_each_sends_update_is_kept_as_timeloom_records_them(
    tmp_path: Path,
) -> None:
    """A step that ran ``joke`` once per ``Send`` wrote an update per send: the
    checkpoint's writes list them all, in send order, as Timeloom's runtime
    records a node that ran as several tasks (each one overwrote the last, so
    the Writes tab showed one joke of twelve)."""
    path = tmp_path / "sends.db"
    config = {"configurable": {"thread_id": "fan"}}
    subjects = [f"subject {i}" for i in range(12)]
    with lgdb.sqlite_saver(path) as saver:
        app = fan_out_graph(saver)
        app.invoke({"subjects": subjects}, config)
    async with open_langgraph(str(path)) as reader:
        metas = [m async for m in reader.summaries("fan")]
        fanned = next(m for m in reversed(metas) if m.next == ("joke",) * 12)
        after = next(m for m in metas if m.parent_id == fanned.id)
        checkpoint = await reader.get("fan", after.id)
    assert checkpoint is not None
    assert checkpoint.writes == {
        "joke": [{"jokes": [f"joke about {s}"]} for s in subjects]
    }
