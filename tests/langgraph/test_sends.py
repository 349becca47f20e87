"""A LangGraph thread that fans out with ``Send``, as the read-only reader shows it:
``next`` lists a node once per pending send, as LangGraph's ``get_state`` does."""

from __future__ import annotations

import operator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Annotated, Any, TypedDict

import pytest
from langgraph.checkpoint.base import BaseCheckpointSaver
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


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def fanned(
    request: pytest.FixtureRequest, tmp_path: Path
) -> tuple[str, dict[str, set[str]]]:
    """The fan-out thread ``fan`` written by LangGraph (SQLite, then Postgres), and
    the nodes that ran to make each of its checkpoints after the input, by
    LangGraph's own account (the names of its parent's tasks)."""
    if request.param == "sqlite":
        url = str(tmp_path / "sends.db")
        saving: AbstractContextManager[BaseCheckpointSaver[Any]]
        saving = lgdb.sqlite_saver(url)
    else:
        url = request.getfixturevalue("postgres_dsn")
        saving = lgdb.postgres_saver(url)
    config = {"configurable": {"thread_id": "fan"}}
    with saving as saver:
        app = fan_out_graph(saver)
        app.invoke({"subjects": ["cats", "dogs", "owls"]}, config)
        snapshots = list(app.get_state_history(config))
    by_id = {s.config["configurable"]["checkpoint_id"]: s for s in snapshots}
    ran = {
        s.config["configurable"]["checkpoint_id"]: {
            t.name
            for t in by_id[s.parent_config["configurable"]["checkpoint_id"]].tasks
        }
        for s in snapshots
        if s.parent_config and s.metadata and s.metadata["source"] == "loop"
    }
    assert {"joke"} in ran.values()  # a step of Send tasks alone
    assert {"joke", "last"} in ran.values()  # and one beside an edge
    return url, ran


async def test_send_tasks_are_named_whatever_page_their_parent_is_on(
    fanned: tuple[str, dict[str, set[str]]],
) -> None:
    """A step's ``Send`` tasks are named by the sends pending on its parent: read a
    page at a time (the parent on the next page) or a checkpoint alone (recent,
    children), the step is still ``joke``, never ``__push__``."""
    url, ran = fanned
    async with open_langgraph(url) as reader:
        paged: dict[str, set[str]] = {}
        written: dict[str, set[str]] = {}
        before = None
        while page := [
            m async for m in reader.summaries("fan", before=before, limit=1)
        ]:
            paged[page[0].id] = set(page[0].nodes)
            (full,) = await reader.history("fan", before=before, limit=1)
            written[full.id] = set(full.writes)
            before = page[0].id
        recent = {m.id: set(m.nodes) for m in await reader.recent(thread_id="fan")}
        children = {
            m.id: set(m.nodes)
            for parent in list(paged)
            for m in await reader.children(parent)
        }
    for seen in (paged, written, recent, children):
        assert {cid: seen[cid] for cid in ran} == ran
