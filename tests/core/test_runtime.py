"""Runtime semantics with the memory checkpointer: runs, history, time travel, forks."""

from __future__ import annotations

import asyncio
import enum
import operator
from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Annotated, Any, Literal, TypedDict

import pytest

from tests.core.graphs import linear_graph, stored_writes, thread
from timeloom.backends.inert import Inert
from timeloom.backends.memory import MemoryCheckpointer
from timeloom.core import END, START, Command, StateGraph
from timeloom.core.errors import (
    CheckpointNotFound,
    ConfigError,
    GraphRecursionError,
    InvalidUpdateError,
    ResumeError,
    node_failure,
)


def test_linear_graph_runs_and_checkpoints_every_step(
    memory: MemoryCheckpointer, calls: Counter[str]
) -> None:
    app = linear_graph(memory, calls)
    result = app.invoke({"log": [], "count": 0}, thread("t"))
    assert result == {"log": ["step1", "step2", "step3"], "count": 3}
    history = list(app.get_state_history(thread("t")))
    # As in LangGraph: the input checkpoint (step -1, before the input), the
    # input applied by __start__ (step 0), then one checkpoint per step.
    assert [h.metadata["step"] for h in history] == [3, 2, 1, 0, -1]
    assert [h.metadata["source"] for h in history] == [
        *["loop"] * 4,
        "input",
    ]
    assert [h.next for h in history] == [
        (),
        ("step3",),
        ("step2",),
        ("step1",),
        ("__start__",),
    ]
    assert stored_writes(memory, history[0]) == {
        "step3": {"log": ["step3"], "count": 3}
    }
    assert stored_writes(memory, history[-2]) == {"__start__": {"log": [], "count": 0}}
    assert (history[-1].values, stored_writes(memory, history[-1])) == ({"log": []}, {})
    assert [t.name for t in history[-1].tasks] == ["__start__"]
    # Parent links chain the history, newest to oldest.
    for child, parent in zip(history, history[1:], strict=False):
        assert child.parent_config == parent.config
    assert history[-1].parent_config is None
    ids = [h.config["configurable"]["checkpoint_id"] for h in history]
    assert ids == sorted(ids, reverse=True), "ids are time-ordered"


def test_runs_without_a_checkpointer(calls: Counter[str]) -> None:
    app = linear_graph(None, calls)
    assert app.invoke({"log": [], "count": 0}) == {
        "log": ["step1", "step2", "step3"],
        "count": 3,
    }


def test_threads_are_isolated(memory: MemoryCheckpointer, calls: Counter[str]) -> None:
    app = linear_graph(memory, calls)
    app.invoke({"log": ["a"], "count": 10}, thread("a"))
    app.invoke({"log": ["b"], "count": 20}, thread("b"))
    assert app.get_state(thread("a")).values["count"] == 13
    assert app.get_state(thread("b")).values["log"] == ["b", "step1", "step2", "step3"]
    assert len(list(app.get_state_history(thread("a")))) == 5


def test_second_input_continues_the_thread(
    memory: MemoryCheckpointer, calls: Counter[str]
) -> None:
    app = linear_graph(memory, calls)
    app.invoke({"log": [], "count": 0}, thread("t"))
    result = app.invoke({"log": ["again"]}, thread("t"))
    assert result["log"] == [
        "step1",
        "step2",
        "step3",
        "again",
        "step1",
        "step2",
        "step3",
    ]
    steps = [h.metadata["step"] for h in app.get_state_history(thread("t"))]
    # As in LangGraph, the second input continues the numbering.
    assert steps == [8, 7, 6, 5, 4, 3, 2, 1, 0, -1]


def test_resume_with_none_after_static_interrupt(
    memory: MemoryCheckpointer, calls: Counter[str]
) -> None:
    app = linear_graph(memory, calls, interrupt_before=["step2"])
    paused = app.invoke({"log": [], "count": 0}, thread("t"))
    assert paused["log"] == ["step1"]
    assert "__interrupt__" not in paused, "a breakpoint asks nothing (as LangGraph)"
    state = app.get_state(thread("t"))
    assert state.next == ("step2",)
    assert state.interrupts == (), "a breakpoint is no question (as LangGraph)"
    assert asyncio.run(memory.get_thread("t")).status == "paused"  # type: ignore[union-attr]
    # Another graph object (as another process would build it) resumes it.
    other = linear_graph(memory, calls, interrupt_before=["step2"])
    assert other.invoke(None, thread("t"))["log"] == ["step1", "step2", "step3"]
    assert calls == Counter(step1=1, step2=1, step3=1)
    assert asyncio.run(memory.get_thread("t")).status == "done"  # type: ignore[union-attr]


def test_interrupt_after(memory: MemoryCheckpointer, calls: Counter[str]) -> None:
    app = linear_graph(memory, calls, interrupt_after=["step1"])
    assert app.invoke({"log": [], "count": 0}, thread("t"))["log"] == ["step1"]
    assert app.get_state(thread("t")).next == ("step2",)
    assert app.invoke(None, thread("t"))["count"] == 3


def test_time_travel_reruns_only_later_steps(
    memory: MemoryCheckpointer, calls: Counter[str]
) -> None:
    app = linear_graph(memory, calls)
    app.invoke({"log": [], "count": 0}, thread("t"))
    after_step1 = next(
        h for h in app.get_state_history(thread("t")) if h.metadata["step"] == 1
    )
    calls.clear()
    result = app.invoke(None, after_step1.config)
    assert result["log"] == ["step1", "step2", "step3"]
    assert calls == Counter(step2=1, step3=1), "step1 is not re-run"
    history = list(app.get_state_history(thread("t")))
    # The old branch is kept beside the new one, which starts with a copy of the
    # replayed checkpoint (as in LangGraph).
    assert len(history) == 8
    head = app.get_state(thread("t"))
    new_step2 = app.get_state(head.parent_config or {})
    assert new_step2.values["log"] == ["step1", "step2"]
    copy = app.get_state(new_step2.parent_config or {})
    assert copy.metadata["source"] == "fork"
    assert copy.parent_config == after_step1.config, "a new branch grew from it"
    assert (copy.values, copy.next) == (after_step1.values, after_step1.next)
    siblings = [h for h in history if h.parent_config == after_step1.config]
    assert len(siblings) == 2, "the old step 2 and the copy share a parent"


def test_update_state_then_resume(
    memory: MemoryCheckpointer, calls: Counter[str]
) -> None:
    app = linear_graph(memory, calls, interrupt_before=["step3"])
    app.invoke({"log": [], "count": 0}, thread("t"))
    config = app.update_state(thread("t"), {"count": 100, "log": ["edited"]})
    edited = app.get_state(config)
    assert edited.metadata["source"] == "update"
    assert edited.values == {"log": ["step1", "step2", "edited"], "count": 100}
    assert edited.next == ("step3",), "as_node defaults to the node that wrote it"
    assert stored_writes(memory, edited) == {"step2": {"count": 100, "log": ["edited"]}}
    result = app.invoke(None, thread("t"))
    assert result == {"log": ["step1", "step2", "edited", "step3"], "count": 101}


def test_update_state_as_node_picks_next(
    memory: MemoryCheckpointer, calls: Counter[str]
) -> None:
    app = linear_graph(memory, calls)
    app.invoke({"log": [], "count": 0}, thread("t"))
    config = app.update_state(thread("t"), {"count": 0}, as_node="step1")
    assert app.get_state(config).next == ("step2",)
    with pytest.raises(InvalidUpdateError, match="not a node"):
        app.update_state(thread("t"), {"count": 0}, as_node="nope")
    # As in LangGraph, keys the state does not have are ignored.
    ignored = app.update_state(thread("t"), {"bogus": 1})
    assert "bogus" not in app.get_state(ignored).values


def test_fork_into_a_new_thread(
    memory: MemoryCheckpointer, calls: Counter[str]
) -> None:
    app = linear_graph(memory, calls)
    app.invoke({"log": [], "count": 0}, thread("main"))
    origin = next(
        h for h in app.get_state_history(thread("main")) if h.metadata["step"] == 1
    )
    origin_id = origin.config["configurable"]["checkpoint_id"]
    fork_config = app.update_state(
        {"configurable": {"thread_id": "feature", "checkpoint_id": origin_id}},
        {"count": 50},
    )
    fork = app.get_state(fork_config)
    assert fork.metadata["source"] == "fork"
    assert fork.parent_config == origin.config, "the parent lives in the other thread"
    assert fork.values == {"log": ["step1"], "count": 50}
    calls.clear()
    assert app.invoke(None, thread("feature"))["count"] == 52
    assert calls == Counter(step2=1, step3=1)
    assert app.get_state(thread("main")).values["count"] == 3, "main is untouched"
    info = asyncio.run(memory.get_thread("feature"))
    assert info is not None
    assert info.forked_from == ("main", origin_id)
    children = asyncio.run(memory.children(origin_id))
    assert {c.thread_id for c in children} == {"main", "feature"}
    # Forking onto an existing thread is refused; fork() names the new thread.
    with pytest.raises(ConfigError, match="already exists"):
        app.update_state(
            {"configurable": {"thread_id": "feature", "checkpoint_id": origin_id}}, None
        )
    copy = app.fork(origin.config, "copy")
    assert app.get_state(copy).values == origin.values


def test_conditional_routing_with_path_map(memory: MemoryCheckpointer) -> None:
    class State(TypedDict):
        n: int
        path: Annotated[list[str], operator.add]

    def classify(state: State) -> dict[str, Any]:
        return {"path": ["classify"]}

    def big(state: State) -> dict[str, Any]:
        return {"path": ["big"]}

    def small(state: State) -> dict[str, Any]:
        return {"path": ["small"]}

    def route(state: State) -> Literal["large", "tiny", "stop"]:
        if state["n"] < 0:
            return "stop"
        return "large" if state["n"] > 10 else "tiny"

    graph = StateGraph(State)
    graph.add_node("classify", classify).add_node("big", big).add_node("small", small)
    graph.add_edge(START, "classify")
    graph.add_conditional_edges(
        "classify", route, {"large": "big", "tiny": "small", "stop": END}
    )
    graph.add_edge("big", END).add_edge("small", END)
    app = graph.compile(checkpointer=memory)
    assert app.invoke({"n": 50}, thread("1"))["path"] == ["classify", "big"]
    assert app.invoke({"n": 5}, thread("2"))["path"] == ["classify", "small"]
    assert app.invoke({"n": -1}, thread("3"))["path"] == ["classify"]


def test_parallel_fan_out_with_reducer(memory: MemoryCheckpointer) -> None:
    class State(TypedDict):
        items: Annotated[list[str], operator.add]
        total: Annotated[int, operator.add]

    async def fetch_a(state: State) -> dict[str, Any]:
        await asyncio.sleep(0.02)  # finishes last, still applied in node order
        return {"items": ["a"], "total": 1}

    def fetch_b(state: State) -> dict[str, Any]:
        return {"items": ["b"], "total": 2}

    def fan_out(state: State) -> list[str]:
        return ["fetch_b", "fetch_a"]

    def join(state: State) -> dict[str, Any]:
        return {"items": [f"join:{len(state['items'])}"]}

    graph = StateGraph(State)
    graph.add_node("start", lambda s: {"items": ["start"]})
    graph.add_node("fetch_a", fetch_a).add_node("fetch_b", fetch_b).add_node(
        "join", join
    )
    graph.add_edge(START, "start")
    graph.add_conditional_edges("start", fan_out, ["fetch_a", "fetch_b"])
    graph.add_edge("fetch_a", "join").add_edge("fetch_b", "join").add_edge("join", END)
    app = graph.compile(checkpointer=memory)
    result = app.invoke({"items": [], "total": 0}, thread("t"))
    assert result == {"items": ["start", "a", "b", "join:3"], "total": 3}
    steps = list(app.get_state_history(thread("t")))
    fan_step = next(s for s in steps if s.metadata["step"] == 2)
    assert set(stored_writes(memory, fan_step)) == {"fetch_a", "fetch_b"}
    assert fan_step.next == ("join",), "join runs once, in the next step"


def test_two_writers_of_a_plain_key_in_one_step_is_an_error(
    memory: MemoryCheckpointer,
) -> None:
    class State(TypedDict):
        value: int

    graph = StateGraph(State)
    graph.add_node("a", lambda s: {"value": 1}).add_node("b", lambda s: {"value": 2})
    graph.add_edge(START, "a").add_edge(START, "b")
    graph.add_edge("a", END).add_edge("b", END)
    app = graph.compile(checkpointer=memory)
    with pytest.raises(
        InvalidUpdateError, match="At key 'value'.*'a' and 'b' both wrote it"
    ):
        app.invoke({"value": 0}, thread("t"))


class ApprovalState(TypedDict):
    amount: float
    decisions: Annotated[list[Any], operator.add]


def approval_graph(memory: MemoryCheckpointer, calls: Counter[str]) -> Any:
    def propose(state: ApprovalState) -> dict[str, Any]:
        calls["propose"] += 1
        return {"decisions": ["proposed"]}

    def approve(state: ApprovalState) -> dict[str, Any]:
        calls["approve"] += 1
        from timeloom.core import interrupt

        answer = interrupt({"question": "approve?", "amount": state["amount"]})
        second = interrupt("are you sure?") if answer == "yes" else None
        return {"decisions": [answer, second]}

    graph = StateGraph(ApprovalState)
    graph.add_node("propose", propose).add_node("approve", approve)
    graph.add_edge(START, "propose").add_edge("propose", "approve")
    graph.add_edge("approve", END)
    return graph.compile(checkpointer=memory)


def test_dynamic_interrupt_resumed_from_another_graph_object(
    memory: MemoryCheckpointer, calls: Counter[str]
) -> None:
    first = approval_graph(memory, calls)
    paused = first.invoke({"amount": 42.1, "decisions": []}, thread("t"))
    (pending,) = paused["__interrupt__"]
    assert pending.value == {"question": "approve?", "amount": 42.1}
    state = first.get_state(thread("t"))
    assert state.next == ("approve",)
    assert state.tasks[0].interrupts[0].value == pending.value
    # A second process: a new graph over the same storage.
    second = approval_graph(MemoryCheckpointer(), calls)
    second.checkpointer = memory
    again = second.invoke(Command(resume="yes"), thread("t"))
    (sure,) = again["__interrupt__"]
    assert sure.value == "are you sure?"
    done = second.invoke(Command(resume="sure"), thread("t"))
    assert done["decisions"] == ["proposed", "yes", "sure"]
    assert calls == Counter(propose=1, approve=3), "only the interrupted node re-ran"
    with pytest.raises(ResumeError, match="no pending interrupt"):
        second.invoke(Command(resume="again"), thread("t"))


def test_failing_node_among_siblings_reruns_alone(memory: MemoryCheckpointer) -> None:
    class State(TypedDict):
        results: Annotated[list[str], operator.add]

    calls: Counter[str] = Counter()
    flaky = {"fail": True}

    def good(state: State) -> dict[str, Any]:
        calls["good"] += 1
        return {"results": ["good"]}

    def bad(state: State) -> dict[str, Any]:
        calls["bad"] += 1
        if flaky["fail"]:
            raise ValueError("tool timed out")
        return {"results": ["bad-recovered"]}

    graph = StateGraph(State)
    graph.add_node("good", good).add_node("bad", bad)
    graph.add_edge(START, "good").add_edge(START, "bad")
    graph.add_edge("good", END).add_edge("bad", END)
    app = graph.compile(checkpointer=memory)
    # The node's own exception reaches the caller (as in LangGraph), marked with
    # where it happened.
    with pytest.raises(ValueError, match="tool timed out") as raised:
        app.invoke({"results": []}, thread("t"))
    failure = node_failure(raised.value)
    assert failure is not None
    assert (failure.node, failure.thread_id) == ("bad", "t")
    state = app.get_state(thread("t"))
    assert failure.checkpoint_id == state.config["configurable"]["checkpoint_id"]
    assert any("'bad'" in note for note in raised.value.__notes__)
    bad_task = next(t for t in state.tasks if t.name == "bad")
    # As LangGraph shows it: the exception's repr; the whole record stays on the
    # checkpoint.
    assert bad_task.error == "ValueError('tool timed out')"
    [record] = asyncio.run(memory.get("t")).errors  # type: ignore[union-attr]
    assert (record.node, record.value["type"]) == ("bad", "ValueError")
    assert record.value["message"] == "tool timed out"
    assert "tool timed out" in record.value["traceback"]
    good_task = next(t for t in state.tasks if t.name == "good")
    assert good_task.result == {"results": ["good"]}
    assert (state.values, state.next) == ({"results": ["good"]}, ("bad",))
    recorded = app.get_state(state.config)  # the checkpoint: as the step started
    assert (recorded.values, recorded.next) == ({"results": []}, ("good", "bad"))
    assert asyncio.run(memory.get_thread("t")).status == "failed"  # type: ignore[union-attr]

    flaky["fail"] = False
    # Updates apply by node name, as in LangGraph.
    assert app.invoke(None, thread("t")) == {"results": ["bad-recovered", "good"]}
    assert calls == Counter(good=1, bad=2)


def test_conflicting_writers_get_a_conflict_error(memory: MemoryCheckpointer) -> None:
    from timeloom.core.errors import ConflictError

    class State(TypedDict):
        n: int

    started = asyncio.Event()
    proceed = asyncio.Event()

    async def slow(state: State) -> dict[str, Any]:
        started.set()
        await proceed.wait()
        return {"n": state["n"] + 1}

    graph = StateGraph(State)
    graph.add_node("slow", slow).add_edge(START, "slow").add_edge("slow", END)
    app = graph.compile(checkpointer=memory, interrupt_before=["slow"])

    async def scenario() -> None:
        await app.ainvoke({"n": 0}, thread("t"))
        first = asyncio.create_task(app.ainvoke(None, thread("t")))
        await started.wait()
        started.clear()
        second = asyncio.create_task(app.ainvoke(None, thread("t")))
        await started.wait()
        proceed.set()
        results = await asyncio.gather(first, second, return_exceptions=True)
        errors = [r for r in results if isinstance(r, ConflictError)]
        assert len(errors) == 1, results
        assert "moved on" in str(errors[0])
        winners = [r for r in results if isinstance(r, dict)]
        assert winners == [{"n": 1}]

    asyncio.run(scenario())
    history = list(app.get_state_history(thread("t")))
    assert [h.metadata["step"] for h in history] == [1, 0, -1], "nothing is lost"


async def test_async_api(memory: MemoryCheckpointer, calls: Counter[str]) -> None:
    app = linear_graph(memory, calls, interrupt_before=["step3"])
    paused = await app.ainvoke({"log": [], "count": 0}, thread("t"))
    assert paused["count"] == 2
    chunks = [c async for c in app.astream(None, thread("t"))]
    assert chunks == [{"step3": {"log": ["step3"], "count": 3}}]
    state = await app.aget_state(thread("t"))
    assert state.next == ()
    history = [s async for s in app.aget_state_history(thread("t"), limit=2)]
    assert len(history) == 2
    config = await app.aupdate_state(thread("t"), {"count": 0}, as_node="step2")
    assert (await app.aget_state(config)).next == ("step3",)
    fork = await app.afork(config, "other")
    assert (await app.aget_state(fork)).metadata["source"] == "fork"


def test_stream_modes(memory: MemoryCheckpointer, calls: Counter[str]) -> None:
    app = linear_graph(memory, calls)
    updates = list(app.stream({"log": [], "count": 0}, thread("u")))
    assert updates == [
        {"step1": {"log": ["step1"], "count": 1}},
        {"step2": {"log": ["step2"], "count": 2}},
        {"step3": {"log": ["step3"], "count": 3}},
    ]
    values = list(
        app.stream({"log": [], "count": 0}, thread("v"), stream_mode="values")
    )
    assert [v["count"] for v in values] == [0, 1, 2, 3]
    snaps = list(
        app.stream({"log": [], "count": 0}, thread("c"), stream_mode="checkpoints")
    )
    assert [s["metadata"]["step"] for s in snaps] == [-1, 0, 1, 2, 3]
    head = app.get_state(thread("c"))
    assert snaps[-1]["config"] == head.config
    with pytest.raises(ConfigError, match="stream_mode"):
        list(app.stream(None, thread("c"), stream_mode="bogus"))  # type: ignore[arg-type]


def test_filter_before_and_limit_in_history(
    memory: MemoryCheckpointer, calls: Counter[str]
) -> None:
    app = linear_graph(memory, calls)
    app.invoke(
        {"log": [], "count": 0},
        thread("t"),
    )
    history = list(app.get_state_history(thread("t")))
    loops = list(app.get_state_history(thread("t"), filter={"source": "loop"}))
    assert len(loops) == 4
    older = list(app.get_state_history(thread("t"), before=history[2].config))
    assert [h.metadata["step"] for h in older] == [0, -1]
    assert len(list(app.get_state_history(thread("t"), limit=1))) == 1


def test_metadata_from_config_is_recorded(
    memory: MemoryCheckpointer, calls: Counter[str]
) -> None:
    app = linear_graph(memory, calls)
    config = {
        "configurable": {"thread_id": "t"},
        "metadata": {"user": "ada"},
        "run_id": 7,
    }
    app.invoke({"log": [], "count": 0}, config)
    state = app.get_state(thread("t"))
    assert state.metadata["user"] == "ada"
    assert state.metadata["run_id"] == "7"
    assert len(list(app.get_state_history(thread("t"), filter={"user": "ada"}))) == 5


def test_config_errors(memory: MemoryCheckpointer, calls: Counter[str]) -> None:
    app = linear_graph(memory, calls)
    with pytest.raises(ConfigError, match="thread id"):
        app.invoke({"log": [], "count": 0}, {})
    with pytest.raises(CheckpointNotFound, match="has no checkpoints"):
        app.invoke(None, thread("empty"))
    with pytest.raises(CheckpointNotFound):
        app.invoke(None, {"configurable": {"thread_id": "t", "checkpoint_id": "nope"}})
    flat = {"thread_id": "flat"}
    assert app.invoke({"log": [], "count": 0}, flat)["count"] == 3
    assert app.get_state(flat).values["count"] == 3
    no_store = linear_graph(None, calls)
    with pytest.raises(ConfigError, match="checkpointer"):
        no_store.invoke(None, thread("t"))


def test_bad_node_output_is_an_invalid_update(memory: MemoryCheckpointer) -> None:
    class State(TypedDict):
        n: int

    graph = StateGraph(State)
    graph.add_node("typo", lambda s: {"m": 1}).add_node("wrong", lambda s: 42)
    graph.add_edge(START, "typo").add_edge("typo", "wrong").add_edge("wrong", END)
    app = graph.compile(checkpointer=memory)
    with pytest.raises(InvalidUpdateError, match="returned int 42") as raised:
        app.invoke({"n": 0}, thread("a"))
    assert node_failure(raised.value) is not None
    # The unknown key "typo" wrote was ignored, as LangGraph ignores it.
    assert app.get_state(thread("a")).values == {"n": 0}


def test_recursion_limit(memory: MemoryCheckpointer) -> None:
    class State(TypedDict):
        n: int

    graph = StateGraph(State)
    graph.add_node("loop", lambda s: {"n": s["n"] + 1})
    graph.add_edge(START, "loop")
    graph.add_conditional_edges("loop", lambda s: "loop" if s["n"] < 1000 else END)
    app = graph.compile(checkpointer=memory)
    with pytest.raises(GraphRecursionError) as raised:
        app.invoke({"n": 0}, {"configurable": {"thread_id": "t"}, "recursion_limit": 5})
    assert str(raised.value).splitlines()[0] == (  # LangGraph's first line
        "Recursion limit of 5 reached without hitting a stop condition. You can "
        "increase the limit by setting the `recursion_limit` config key."
    )
    assert app.invoke({"n": 990}, thread("u"))["n"] == 1000


def test_command_goto_and_dataclass_state(memory: MemoryCheckpointer) -> None:
    @dataclass
    class State:
        trail: Annotated[list[str], operator.add] = field(default_factory=list)
        mood: str = "calm"

    def decide(state: State) -> Command[Literal["shout", "whisper"]]:
        target = "shout" if state.mood == "angry" else "whisper"
        return Command(update={"trail": ["decide"]}, goto=target)

    graph = StateGraph(State)
    graph.add_node("decide", decide)
    graph.add_node("shout", lambda s: {"trail": ["SHOUT"]})
    graph.add_node("whisper", lambda s: {"trail": ["whisper"]})
    graph.add_edge(START, "decide").add_edge("shout", END).add_edge("whisper", END)
    app = graph.compile(checkpointer=memory)
    assert app.invoke({"mood": "angry"}, thread("a"))["trail"] == ["decide", "SHOUT"]
    assert app.invoke(State(), thread("b"))["trail"] == ["decide", "whisper"]


def test_unstorable_value_names_its_path(memory: MemoryCheckpointer) -> None:
    from timeloom.core.errors import SerializationError

    class State(TypedDict):
        payload: dict[str, Any]

    graph = StateGraph(State)
    graph.add_node("n", lambda s: {"payload": {"handle": object()}})
    graph.add_edge(START, "n").add_edge("n", END)
    app = graph.compile(checkpointer=memory)
    with pytest.raises(
        SerializationError, match=r'values\["payload"\]\["handle"\].*object'
    ):
        app.invoke({"payload": {}}, thread("t"))


class Mood(enum.Enum):
    CALM = "calm"
    ANGRY = "angry"


@dataclass
class Ticket:
    id: int
    mood: Mood


@dataclass
class Unlisted:
    note: str


class TicketState(TypedDict):
    ticket: Ticket
    extra: Any


def test_schema_classes_are_revived_others_stay_inert(
    memory: MemoryCheckpointer,
) -> None:
    graph = StateGraph(TicketState)
    graph.add_node("n", lambda s: {"extra": Unlisted("kept as data")})
    graph.add_edge(START, "n").add_edge("n", END)
    app = graph.compile(checkpointer=memory)
    app.invoke({"ticket": Ticket(7, Mood.ANGRY)}, thread("t"))
    values = app.get_state(thread("t")).values
    assert values["ticket"] == Ticket(7, Mood.ANGRY), "schema classes are revived"
    extra = values["extra"]
    assert isinstance(extra, Inert), "a class the schema does not name stays inert"
    assert extra.type_name.endswith("Unlisted")
    assert extra.fields == {"note": "kept as data"}


def test_sync_api_works_inside_a_running_event_loop(
    memory: MemoryCheckpointer, calls: Counter[str]
) -> None:
    app = linear_graph(memory, calls)

    async def inside() -> Any:
        # A notebook or async framework calling the sync API: served by a helper loop.
        return app.invoke({"log": [], "count": 0}, thread("nb"))

    assert asyncio.run(inside())["count"] == 3
    assert app.get_state(thread("nb")).values["count"] == 3


def test_runtime_refuses_to_continue_from_unreadable_values(
    memory: MemoryCheckpointer, calls: Counter[str]
) -> None:
    from timeloom.core.checkpoint import UnreadableValue
    from timeloom.core.errors import SerializationError

    app = linear_graph(memory, calls, interrupt_before=["step2"])
    app.invoke({"log": [], "count": 0}, thread("t"))
    real_get = memory.get

    async def corrupt_get(
        thread_id: str | None, checkpoint_id: str | None = None
    ) -> Any:
        found = await real_get(thread_id, checkpoint_id)
        if found is None:
            return None
        values = {**found.values, "log": UnreadableValue("log", "blob does not decode")}
        return replace(found, values=values)

    memory.get = corrupt_get  # type: ignore[method-assign]
    with pytest.raises(SerializationError, match=r"could not be read back \(log\)"):
        app.invoke(None, thread("t"))
    with pytest.raises(SerializationError, match="Unreadable|could not be read"):
        app.update_state(thread("t"), {"count": 1})
    assert calls == Counter(step1=1)
