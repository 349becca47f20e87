"""Build real LangGraph checkpoint databases for the reader's tests and for demos.

Every database here is written by LangGraph itself (``SqliteSaver`` / ``PostgresSaver``)
so the reader is tested against the real format, not our idea of it. Import it as
``tests.langgraph.lgdb`` (``build_sqlite(path)`` makes the scenario database), or run
it as a script: ``python -m tests.langgraph.lgdb out.db``.
"""

from __future__ import annotations

import operator
import sqlite3
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, TypedDict

from langchain_core.messages import AIMessage, AnyMessage, HumanMessage, ToolMessage
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.postgres import PostgresSaver
from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.message import add_messages
from langgraph.types import Command, interrupt
from pydantic import BaseModel, SecretStr


@dataclass
class Built:
    """A scenario database and LangGraph's own view of it."""

    url: str
    """A path (SQLite) or a DSN (Postgres): what ``open_langgraph`` takes."""
    threads: dict[str, str]
    history: dict[tuple[str, str], list[dict[str, Any]]]
    """``(thread_id, checkpoint_ns)`` -> :func:`langgraph_history`."""


class Color(Enum):
    """An Enum stored in state."""

    RED = "red"
    GREEN = "green"


@dataclass
class Point:
    """A dataclass stored in state."""

    x: int
    y: int


class Profile(BaseModel):
    """A pydantic model stored in state; its secret must never be shown."""

    name: str
    api_key: SecretStr


SECRET = "sk-very-secret-123"
WHEN = datetime(2024, 5, 17, 12, 30, 15, 123456, tzinfo=UTC)
UID = uuid.UUID("12345678-1234-5678-1234-567812345678")


class State(TypedDict, total=False):
    """The state of the scenario graphs."""

    messages: Annotated[list[AnyMessage], add_messages]
    log: Annotated[list[str], operator.add]
    when: datetime
    uid: uuid.UUID
    amount: Decimal
    tags: set[str]
    raw: bytes
    color: Color
    point: Point
    profile: Profile
    approved: str
    fail: bool


def _agent(state: State) -> dict[str, Any]:
    turn = len(state.get("messages", []))
    return {
        "messages": [
            AIMessage(
                content="",
                tool_calls=[
                    {"name": "lookup", "args": {"q": turn}, "id": f"call{turn}"}
                ],
            )
        ],
        "log": ["agent"],
    }


def _tool(state: State) -> dict[str, Any]:
    call = state["messages"][-1].tool_calls[0]  # type: ignore[union-attr]
    return {
        "messages": [
            ToolMessage(content=f"result {call['args']}", tool_call_id=call["id"])
        ],
        "log": ["tool"],
    }


def _respond(state: State) -> dict[str, Any]:
    if state.get("fail"):
        raise ValueError("kaboom")
    return {"messages": [AIMessage(content="done")], "log": ["respond"]}


def chat_graph(saver: BaseCheckpointSaver[Any]) -> Any:
    """A 3-node agent -> tool -> respond graph (one turn = 5 checkpoints)."""
    return chat_builder().compile(checkpointer=saver)


def chat_builder() -> StateGraph[Any]:
    """The builder of :func:`chat_graph` (``--graph tests.langgraph.lgdb:chat_builder``)."""
    builder = StateGraph(State)
    builder.add_node("agent", _agent)
    builder.add_node("tool", _tool)
    builder.add_node("respond", _respond)
    builder.add_edge(START, "agent")
    builder.add_edge("agent", "tool")
    builder.add_edge("tool", "respond")
    builder.add_edge("respond", END)
    return builder


class SmallState(TypedDict, total=False):
    """A state that does not grow (unless ``grow``): constant cost per checkpoint."""

    step: int
    last: str
    data: dict[str, Any]
    notes: Annotated[list[dict[str, Any]], operator.add]


def _small_node(name: str, grow: bool) -> Any:
    def run(state: SmallState) -> dict[str, Any]:
        update: dict[str, Any] = {"step": state.get("step", 0) + 1, "last": name}
        if grow:  # a plain-dict "message" of ~200 bytes per node
            update["notes"] = [{"role": name, "content": "x" * 180}]
        return update

    return run


def small_graph(saver: BaseCheckpointSaver[Any], *, grow: bool = False) -> Any:
    """A 3-node a -> b -> c graph over :class:`SmallState` (5 checkpoints a turn);
    with ``grow`` each node appends a plain dict to ``notes``."""
    builder = StateGraph(SmallState)
    for name in ("a", "b", "c"):
        builder.add_node(name, _small_node(name, grow))
    builder.add_edge(START, "a")
    builder.add_edge("a", "b")
    builder.add_edge("b", "c")
    builder.add_edge("c", END)
    return builder.compile(checkpointer=saver)


def _typed(state: State) -> dict[str, Any]:
    return {
        "when": WHEN,
        "uid": UID,
        "amount": Decimal("42.10"),
        "tags": {"a", "b"},
        "raw": b"\x00\x01binary",
        "color": Color.GREEN,
        "point": Point(3, 4),
        "profile": Profile(name="ada", api_key=SecretStr(SECRET)),
        "messages": [AIMessage(content="typed values stored")],
        "log": ["typed"],
    }


def _approve(state: State) -> dict[str, Any]:
    answer = interrupt({"question": "Approve the refund?", "amount": 42})
    return {"approved": str(answer), "log": ["approve"]}


def _sub_step(state: State) -> dict[str, Any]:
    return {"log": ["inner"]}


def _deep_step(state: State) -> dict[str, Any]:
    return {"approved": f"{state.get('approved')} (checked deep down)"}


def scenario_graph(saver: BaseCheckpointSaver[Any]) -> Any:
    """typed -> approve (interrupt) -> sub (a subgraph: inner -> deep, itself a
    subgraph) -> respond."""
    return scenario_builder().compile(checkpointer=saver)


def scenario_builder() -> StateGraph[Any]:
    """The builder of :func:`scenario_graph`."""
    deepest = StateGraph(State)
    deepest.add_node("deepest", _deep_step)
    deepest.add_edge(START, "deepest")
    deepest.add_edge("deepest", END)
    inner = StateGraph(State)
    inner.add_node("inner", _sub_step)
    inner.add_node("deep", deepest.compile())  # a subgraph inside the subgraph
    inner.add_edge(START, "inner")
    inner.add_edge("inner", "deep")
    inner.add_edge("deep", END)
    builder = StateGraph(State)
    builder.add_node("typed", _typed)
    builder.add_node("approve", _approve)
    builder.add_node("sub", inner.compile())
    builder.add_node("respond", _respond)
    builder.add_edge(START, "typed")
    builder.add_edge("typed", "approve")
    builder.add_edge("approve", "sub")
    builder.add_edge("sub", "respond")
    builder.add_edge("respond", END)
    return builder


def _cfg(thread_id: str, **extra: Any) -> dict[str, Any]:
    return {"configurable": {"thread_id": thread_id, **extra}}


SCENARIO_THREADS = ("hitl-1", "paused-1")
"""The threads written by :func:`scenario_graph`; the others by :func:`chat_graph`."""


def populate(saver: BaseCheckpointSaver[Any]) -> dict[str, str]:
    """Write every scenario into ``saver``; return what each thread demonstrates."""
    chat = chat_graph(saver)
    # Two turns of a plain chat, with user metadata.
    cfg = _cfg("chat-1")
    meta = {"metadata": {"user_id": "u1"}}
    chat.invoke({"messages": [HumanMessage(content="hi")]}, {**cfg, **meta})
    chat.invoke({"messages": [HumanMessage(content="again")]}, {**cfg, **meta})

    # A fork: replay from the checkpoint before "tool" ran, so a sibling branch grows.
    chat.invoke({"messages": [HumanMessage(content="fork me")]}, _cfg("fork-1"))
    history = list(chat.get_state_history(_cfg("fork-1")))
    before_tool = next(s for s in history if s.next == ("tool",))
    chat.invoke(None, before_tool.config)

    # update_state on the head, then continue.
    chat.invoke({"messages": [HumanMessage(content="edit me")]}, _cfg("update-1"))
    chat.update_state(_cfg("update-1"), {"log": ["edited"]}, as_node="respond")

    # A failing node (the run raises; the error stays as a pending write).
    try:
        chat.invoke(
            {"messages": [HumanMessage(content="boom")], "fail": True}, _cfg("fail-1")
        )
    except ValueError:
        pass

    # Typed values, an interrupt, its resume, and a subgraph.
    scenario = scenario_graph(saver)
    scenario.invoke({"messages": [HumanMessage(content="refund")]}, _cfg("hitl-1"))
    scenario.invoke(Command(resume="yes"), _cfg("hitl-1"))
    # Left paused at the interrupt.
    scenario.invoke({"messages": [HumanMessage(content="refund 2")]}, _cfg("paused-1"))
    return {
        "chat-1": "two turns",
        "fork-1": "replayed from a historical checkpoint",
        "update-1": "update_state",
        "fail-1": "a node raised ValueError('kaboom')",
        "hitl-1": "typed values, interrupt + resume, subgraph",
        "paused-1": "waiting at an interrupt",
    }


def langgraph_history(
    saver: BaseCheckpointSaver[Any],
) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """What LangGraph itself reports for every timeline in ``saver``, newest first.

    Root graphs come from ``get_state_history`` (values, next, tasks with errors and
    interrupts); subgraph namespaces from the saver's ``list`` (values only).

    Returns:
        ``(thread_id, checkpoint_ns)`` -> one dict per checkpoint with ``id``,
        ``parent``, ``values``, ``metadata``, ``created_at`` and, for root graphs,
        ``next``, ``errors`` (repr strings) and ``interrupts`` (``(id, value)``).
    """
    graphs = {"scenario": scenario_graph(saver), "chat": chat_graph(saver)}
    keys = sorted(
        {
            (
                t.config["configurable"]["thread_id"],
                t.config["configurable"]["checkpoint_ns"],
            )
            for t in saver.list(None)
        }
    )
    out: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for thread, ns in keys:
        config: Any = {"configurable": {"thread_id": thread, "checkpoint_ns": ns}}
        if ns:
            out[(thread, ns)] = [
                {
                    "id": t.config["configurable"]["checkpoint_id"],
                    "parent": (t.parent_config or {})
                    .get("configurable", {})
                    .get("checkpoint_id"),
                    "values": {
                        k: v
                        for k, v in t.checkpoint["channel_values"].items()
                        if not k.startswith(("branch:", "__"))
                    },
                    "metadata": dict(t.metadata),
                    "created_at": t.checkpoint["ts"],
                }
                for t in saver.list(config)
            ]
            continue
        out[(thread, ns)] = [
            {
                "id": snap.config["configurable"]["checkpoint_id"],
                "parent": (snap.parent_config or {})
                .get("configurable", {})
                .get("checkpoint_id"),
                "values": dict(snap.values),
                "metadata": dict(snap.metadata or {}),
                "created_at": snap.created_at,
                "next": tuple(snap.next),
                "errors": [t.error for t in snap.tasks if t.error],
                "interrupts": [
                    (i.id, i.value) for t in snap.tasks for i in t.interrupts
                ],
            }
            for snap in graphs[
                "scenario" if thread in SCENARIO_THREADS else "chat"
            ].get_state_history(config)
        ]
    return out


@contextmanager
def sqlite_saver(path: str | Path) -> Iterator[SqliteSaver]:
    """A LangGraph ``SqliteSaver`` on ``path`` (created, WAL mode), closed on exit."""
    conn = sqlite3.connect(str(path), check_same_thread=False)
    try:
        saver = SqliteSaver(conn)
        saver.setup()
        yield saver
    finally:
        conn.close()


def build_sqlite(path: str | Path) -> Built:
    """Create a LangGraph SQLite database at ``path`` holding every scenario.

    Returns:
        The database and LangGraph's own view of it.
    """
    with sqlite_saver(path) as saver:
        threads = populate(saver)
        return Built(str(path), threads, langgraph_history(saver))


@contextmanager
def postgres_saver(dsn: str) -> Iterator[PostgresSaver]:
    """A LangGraph ``PostgresSaver`` on ``dsn``, its tables created, closed on exit."""
    with PostgresSaver.from_conn_string(dsn) as saver:
        saver.setup()
        yield saver


def build_postgres(dsn: str) -> Built:
    """Write every scenario into the (empty) Postgres database ``dsn`` with LangGraph.

    Returns:
        The database and LangGraph's own view of it.
    """
    with postgres_saver(dsn) as saver:
        threads = populate(saver)
        return Built(dsn, threads, langgraph_history(saver))


def write_small(
    saver: BaseCheckpointSaver[Any], *, turns: int, grow: bool = False
) -> None:
    """Write ``turns`` turns of :func:`small_graph` into thread ``small``."""
    graph = small_graph(saver, grow=grow)
    for turn in range(turns):
        graph.invoke({"data": {"turn": turn, "note": "x" * 100}}, _cfg("small"))


def write_chats(
    saver: BaseCheckpointSaver[Any], *, threads: int = 1, turns: int = 1
) -> None:
    """Write ``threads`` chats (``thread-00000``...) of ``turns`` turns each."""
    chat = chat_graph(saver)
    for t in range(threads):
        for turn in range(turns):
            chat.invoke(
                {"messages": [HumanMessage(content=f"turn {turn}")]},
                _cfg(f"thread-{t:05d}"),
            )


if __name__ == "__main__":
    built = build_sqlite(sys.argv[1] if len(sys.argv) > 1 else "langgraph-demo.db")
    for thread, what in built.threads.items():
        print(f"{thread}: {what}")
