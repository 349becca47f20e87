"""The ``tasks``, ``debug``, ``checkpoints`` and ``messages`` stream modes give
LangGraph's chunks: same keys, same order of events. Each program runs on
LangGraph and on Timeloom; ids and timestamps (which differ by design) are
replaced by the order they first appear in before comparing."""

from __future__ import annotations

import asyncio
import operator
import re
import threading
import time
from collections.abc import Callable
from typing import Annotated, Any, TypedDict

import pytest
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from langchain_core.runnables import RunnableConfig

from tests.core.sides import LANGGRAPH, TIMELOOM, Api, run_on_both
from timeloom.core import (
    START,
    Interrupt,
    MessagesState,
    StateGraph,
    StreamWriter,
    get_config,
)


class State(TypedDict, total=False):
    log: Annotated[list[str], operator.add]
    n: int


def config(thread_id: str = "t") -> dict[str, Any]:
    return {"configurable": {"thread_id": thread_id}}


_ID = re.compile(
    r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}(:\w+)?|[0-9a-f]{32}"
)


class Normal:
    """Replaces ids by their order of first appearance, timestamps by ``"T"``,
    interrupts and messages by plain tuples."""

    def __init__(self) -> None:
        self.ids: dict[str, str] = {}

    def __call__(self, value: Any, key: str = "") -> Any:
        if key == "timestamp":
            return "T"
        if key == "langgraph_checkpoint_ns":  # "node:<task id>"
            return value.split(":")[0]
        if isinstance(value, str) and _ID.fullmatch(value):
            return self.ids.setdefault(value, f"id{len(self.ids)}")
        if type(value).__name__ == "Interrupt":
            return ("Interrupt", self(value.value), self(value.id))
        if isinstance(value, BaseMessage):
            return (type(value).__name__, value.content, value.id)
        if isinstance(value, dict):
            # LangGraph's interrupt payloads also carry a response_schema (None).
            return {
                k: self(v, k)
                for k, v in value.items()
                if k not in ("response_schema", "checkpoint_ns", "ls_provider")
                and not k.startswith(("lc_", "ls_model"))
            }
        if isinstance(value, list | tuple):
            return type(value)(self(v) for v in value)
        if isinstance(value, Exception):
            return (type(value).__name__, str(value))
        return value


def both(run: Callable[[Api], Any]) -> Any:
    """``run_on_both``, each side's result normalised (its own ``Normal``)."""
    return run_on_both(lambda api: Normal()(run(api)))


def fan_out(api: Api) -> Any:
    """START -> a, b (b slower, so it finishes second); a -> c, which asks."""

    def a(state: State) -> dict[str, Any]:
        api.get_stream_writer()({"from": "a"})
        return {"log": ["a"], "n": state["n"] + 1}

    def b(state: State) -> dict[str, Any]:
        time.sleep(0.05)
        api.get_stream_writer()({"from": "b"})
        return {"log": ["b"]}

    def c(state: State) -> dict[str, Any]:
        return {"log": [f"c:{api.interrupt('ok?')}"]}

    graph = api.StateGraph(State)
    graph.add_node("a", a)
    graph.add_node("b", b)
    graph.add_node("c", c)
    graph.add_edge(api.START, "a")
    graph.add_edge(api.START, "b")
    graph.add_edge("a", "c")
    return graph.compile(checkpointer=api.checkpointer())


@pytest.mark.parametrize(
    "modes",
    [
        "tasks",
        "debug",
        "checkpoints",
        ["updates", "values", "checkpoints", "tasks", "custom"],
        ["debug", "updates"],
    ],
)
def test_a_run_paused_and_resumed_streams_as_langgraphs(modes: Any) -> None:
    def run(api: Api) -> Any:
        app = fan_out(api)
        first = list(app.stream({"log": [], "n": 0}, config(), stream_mode=modes))
        resumed = list(app.stream(api.Command(resume="y"), config(), stream_mode=modes))
        return first, resumed

    first, resumed = both(run)
    assert first
    assert resumed


def test_a_failed_task_streams_its_error_before_the_run_raises() -> None:
    def run(api: Api) -> Any:
        def boom(state: State) -> dict[str, Any]:
            time.sleep(0.05)
            raise ValueError("boom")

        graph = api.StateGraph(State)
        graph.add_node("ok", lambda s: {"log": ["ok"]})
        graph.add_node("oops", boom)
        graph.add_edge(api.START, "ok")
        graph.add_edge(api.START, "oops")
        app = graph.compile(checkpointer=api.checkpointer())
        seen: list[Any] = []
        stream = app.stream({"log": []}, config(), stream_mode="tasks")
        with pytest.raises(ValueError, match="boom"):
            seen.extend(stream)
        return seen

    seen = both(run)
    assert seen[-1]["error"] == ("ValueError", "boom")


def test_messages_stream_a_chat_models_tokens_and_returned_messages() -> None:
    """Tokens of a model called with ``invoke`` inside a node, then a message a
    node returns (not the input's, nor one streamed already)."""

    def run(api: Api) -> Any:
        def call(state: Any) -> dict[str, Any]:
            model = GenericFakeChatModel(
                messages=iter([AIMessage("hello big world", id="m1")])
            )
            return {"messages": [model.invoke(state["messages"])]}

        def plain(state: Any) -> dict[str, Any]:
            return {"messages": [AIMessage("plain", id="m2")]}

        graph = api.StateGraph(api.MessagesState)
        graph.add_node("call", call)
        graph.add_node("plain", plain)
        graph.add_edge(api.START, "call")
        graph.add_edge("call", "plain")
        app = graph.compile(checkpointer=api.checkpointer())
        given = {"messages": [HumanMessage("hi", id="h1")]}
        return list(app.stream(given, config(), stream_mode=["messages", "updates"]))

    chunks = both(run)
    messages = [chunk for mode, chunk in chunks if mode == "messages"]
    assert [m[0][1] for m in messages] == ["hello", " ", "big", " ", "world", "plain"]
    assert messages[0][1]["langgraph_node"] == "call"
    assert messages[-1][1]["langgraph_step"] == 2


def test_messages_without_a_chat_model_are_the_dict_messages_a_node_returns() -> None:
    """Timeloom's messages may be dicts (no LangChain): the mode streams those."""
    graph = StateGraph(MessagesState)
    graph.add_node(
        "reply", lambda s: {"messages": [{"role": "ai", "content": "hi", "id": "r"}]}
    )
    graph.add_edge(START, "reply")
    app = graph.compile()
    given = {"messages": [{"role": "user", "content": "yo", "id": "u"}]}
    chunks = list(app.stream(given, stream_mode="messages"))
    assert len(chunks) == 1
    message, meta = chunks[0]
    assert message == {"role": "ai", "content": "hi", "id": "r"}
    assert meta["langgraph_node"] == "reply"
    assert meta["langgraph_step"] == 1


@pytest.mark.parametrize("stored", [False, True])
def test_messages_metadata_carries_the_runs_ids_as_langgraphs(stored: bool) -> None:
    """The run's thread, run, assistant, graph, task and checkpoint ids reach each
    chunk's metadata; other configurable values do not. Without a checkpointer a
    checkpoint id is only that: the run starts from its input."""
    run_config = {
        "configurable": {
            "thread_id": "th-1",
            "checkpoint_ns": "ns-1" if not stored else "",
            "task_id": "task-1",
            "run_id": "run-1",
            "assistant_id": "asst-1",
            "graph_id": "graph-1",
            "user_id": "uid-1",
            "api_key": "secret",
            "nested": {"a": 1},
        }
    }
    if not stored:
        run_config["configurable"]["checkpoint_id"] = "ckpt-1"

    def run(api: Api) -> Any:
        graph = api.StateGraph(api.MessagesState)
        graph.add_node("say", lambda s: {"messages": [AIMessage("hi", id="m1")]})
        graph.add_edge(api.START, "say")
        saver = api.checkpointer() if stored else None
        app = graph.compile(checkpointer=saver)
        chunks = app.stream({"messages": []}, run_config, stream_mode="messages")
        return [
            {k: v for k, v in meta.items() if not k.startswith(("langgraph_", "ls_"))}
            for _, meta in chunks
        ]

    [meta] = both(run)
    shown = {"thread_id", "task_id", "run_id", "assistant_id", "graph_id"}
    assert set(meta) == shown | (set() if stored else {"checkpoint_id"})
    assert meta["assistant_id"] == "asst-1"


def test_get_config_in_a_node_has_langgraphs_task_metadata() -> None:
    def run(api: Api) -> Any:
        seen = []

        def node(state: State) -> dict[str, Any]:
            cfg = api.get_config()
            meta = cfg["metadata"]
            seen.append(
                (
                    cfg["configurable"]["thread_id"],
                    meta["langgraph_node"],
                    meta["langgraph_step"],
                    meta["langgraph_triggers"],
                    meta["langgraph_path"],
                )
            )
            return {"log": ["x"]}

        graph = api.StateGraph(State)
        graph.add_node("node", node)
        graph.add_edge(api.START, "node")
        graph.compile(checkpointer=api.checkpointer()).invoke({"log": []}, config())
        return seen

    assert both(run) == [
        ("t", "node", 1, ("branch:to:node",), ("__pregel_pull", "node"))
    ]
    with pytest.raises(RuntimeError, match="outside of a runnable context"):
        get_config()


def test_parallel_sync_nodes_of_the_async_api_see_their_own_config() -> None:
    """Sync nodes of one step run in worker threads under ``ainvoke``: each one's
    ``config`` argument and ``get_config()`` name its own node (the config is made
    when a node first asks for it)."""

    def run(api: Api) -> Any:
        seen: set[tuple[str, str, str]] = set()

        def node(name: str) -> Callable[..., dict[str, Any]]:
            def call(state: State, config: RunnableConfig) -> dict[str, Any]:
                asked = api.get_config()["metadata"]["langgraph_node"]
                given = config["metadata"]["langgraph_node"]
                seen.add((name, given, asked))
                return {"log": [name]}

            return call

        graph = api.StateGraph(State)
        for name in ("a", "b", "c"):
            graph.add_node(name, node(name))
            graph.add_edge(api.START, name)
        app = graph.compile(checkpointer=api.checkpointer())
        out = asyncio.run(app.ainvoke({"log": []}, config()))
        return sorted(seen), out["log"]

    assert both(run) == (
        [("a", "a", "a"), ("b", "b", "b"), ("c", "c", "c")],
        ["a", "b", "c"],
    )


def test_an_interrupt_compares_and_shows_as_langgraphs() -> None:
    asked = Interrupt(value="ok?", id="abc")
    assert asked == Interrupt(value="ok?", id="abc")
    assert asked != Interrupt(value="ok?", id="abd")
    assert repr(asked) == "Interrupt(value='ok?', id='abc')"


def test_parallel_updates_apply_in_langgraphs_order_by_node_name() -> None:
    """Nodes of one step added as zed, ok, boom, alpha: their updates reach the
    reducer (and their tasks the stream) ordered by name, as in LangGraph."""

    def run(api: Api) -> Any:
        graph = api.StateGraph(State)
        for name in ("zed", "ok", "boom", "alpha"):
            graph.add_node(name, lambda s, name=name: {"log": [name]})
            graph.add_edge(api.START, name)
        app = graph.compile(checkpointer=api.checkpointer())
        result = app.invoke({"log": []}, config())
        started = [
            c["name"]
            for c in app.stream({"log": []}, config("s"), stream_mode="tasks")
            if "input" in c
        ]
        return result, started, app.get_state(config()).next

    result, started, _ = both(run)
    assert result["log"] == ["alpha", "boom", "ok", "zed"]
    assert started == ["alpha", "boom", "ok", "zed"]


def live_program(api: Api, got: threading.Event, by_parameter: bool) -> Any:
    """One node writes a chunk, then waits until the stream's reader got it."""

    def node(state: State, writer: StreamWriter) -> dict[str, Any]:
        write = writer if by_parameter else api.get_stream_writer()
        write("before")
        if not got.wait(10):
            raise AssertionError("the chunk did not reach the stream while running")
        write("after")
        return {"log": ["n"]}

    graph = api.StateGraph(State)
    graph.add_node("n", node)
    graph.add_edge(api.START, "n")
    return graph.compile()


@pytest.mark.parametrize("by_parameter", [False, True])
def test_custom_chunks_reach_the_stream_while_the_node_runs(by_parameter: bool) -> None:
    """As in LangGraph: a chunk is yielded as it is written (from a sync node in
    a worker thread), not when the step ends; a node may take ``writer``."""
    for api in (LANGGRAPH, TIMELOOM):
        got = threading.Event()
        stream = live_program(api, got, by_parameter).stream(
            {"log": []}, stream_mode="custom"
        )
        assert next(stream) == "before"
        got.set()
        assert list(stream) == ["after"]


def test_async_streams_deliver_chunks_while_the_node_runs() -> None:
    async def main() -> list[Any]:
        got = threading.Event()
        app = live_program(TIMELOOM, got, by_parameter=True)
        seen = []
        async for chunk in app.astream({"log": []}, stream_mode=["custom", "updates"]):
            seen.append(chunk)
            got.set()
        return seen

    assert asyncio.run(main()) == [
        ("custom", "before"),
        ("custom", "after"),
        ("updates", {"n": {"log": ["n"]}}),
    ]


@pytest.mark.parametrize("saver", [False, True])
@pytest.mark.parametrize("child_checkpointer", [None, False])
def test_only_a_graph_that_stores_checkpoints_streams_them(
    saver: bool, child_checkpointer: bool | None
) -> None:
    """Without a checkpointer (a subgraph: compiled with ``checkpointer=False``,
    or its parent has none) a graph streams no ``checkpoints`` chunk, and
    ``debug`` only its tasks, as LangGraph's."""

    def what(ns: tuple[str, ...], mode: str, chunk: Any) -> Any:
        """Which graph streamed what (the payloads are compared elsewhere)."""
        where = tuple(part.split(":")[0] for part in ns)
        if mode == "checkpoints":
            return (where, "checkpoint", chunk["metadata"]["step"])
        return (where, chunk["type"], chunk["step"])

    def run(api: Api) -> Any:
        child = (
            api.StateGraph(State)
            .add_node("inner", lambda s: {"log": ["inner"]})
            .add_edge(api.START, "inner")
            .compile(checkpointer=child_checkpointer)
        )
        app = (
            api.StateGraph(State)
            .add_node("child", child)
            .add_node("after", lambda s: {"log": ["after"]})
            .add_edge(api.START, "child")
            .add_edge("child", "after")
            .compile(checkpointer=api.checkpointer() if saver else None)
        )
        return [
            [
                what(*item)
                for item in app.stream(
                    {"log": []}, config(), stream_mode=modes, subgraphs=True
                )
            ]
            for modes in (["checkpoints"], ["debug"])
        ]

    checkpoints, debug = run_on_both(run)
    assert bool(checkpoints) == saver == any(e[:2] == ((), "checkpoint") for e in debug)
