"""Subgraphs: a compiled graph as a node or invoked inside one, on every backend.

LangGraph's behaviour is the reference: ``test_same_as_langgraph_*`` run the same
program on both runtimes and compare what a user sees.
"""

from __future__ import annotations

import operator
import re
from collections import Counter
from typing import Annotated, Any, TypedDict

import pytest

from tests.core.sides import TIMELOOM, Api, run_on_both
from timeloom.core import START, Command, StateGraph
from timeloom.core.checkpointer import BaseCheckpointer
from timeloom.core.errors import ParentCommand
from timeloom.core.sync import run_sync


class State(TypedDict, total=False):
    log: Annotated[list[str], operator.add]
    note: str


class Parent(TypedDict, total=False):
    log: Annotated[list[str], operator.add]


class Other(TypedDict, total=False):
    items: Annotated[list[str], operator.add]


def config(thread_id: str = "t") -> dict[str, Any]:
    return {"configurable": {"thread_id": thread_id}}


def timelines(cp: BaseCheckpointer, thread_id: str = "t") -> list[str]:
    """The thread ids of ``thread_id``'s subgraph timelines, sorted."""
    found = run_sync(cp.threads(search=f"{thread_id}|", limit=100))
    return sorted(i.thread_id for i in found)


def asking_child(api: Api, calls: Counter[str], **compile: Any) -> Any:
    """first -> ask (interrupt) -> last."""

    def first(state: State) -> dict[str, Any]:
        calls["first"] += 1
        return {"log": ["first"]}

    def ask(state: State) -> dict[str, Any]:
        calls["ask"] += 1
        return {"log": [f"answer:{api.interrupt('why?')}"]}

    def last(state: State) -> dict[str, Any]:
        calls["last"] += 1
        return {"log": ["last"], "note": "child-only"}

    graph = api.StateGraph(State)
    graph.add_node("first", first)
    graph.add_node("ask", ask)
    graph.add_node("last", last)
    graph.add_edge(api.START, "first")
    graph.add_edge("first", "ask")
    graph.add_edge("ask", "last")
    return graph.compile(**compile)


def parent_of(api: Api, child: Any, checkpointer: Any, node: str = "child") -> Any:
    """before -> ``node`` (the child graph) -> after."""
    graph = api.StateGraph(Parent)
    graph.add_node("before", lambda s: {"log": ["before"]})
    graph.add_node(node, child)
    graph.add_node("after", lambda s: {"log": ["after"]})
    graph.add_edge(api.START, "before")
    graph.add_edge("before", node)
    graph.add_edge(node, "after")
    return graph.compile(checkpointer=checkpointer)


def without_interrupts(result: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in result.items() if k != "__interrupt__"}


# -- a compiled graph as a node ------------------------------------------------------


def test_a_compiled_graph_as_a_node_shares_the_keys_both_have(
    stored: BaseCheckpointer,
) -> None:
    class Child(TypedDict, total=False):
        log: Annotated[list[str], operator.add]
        secret: str

    seen: list[dict[str, Any]] = []

    def inner(state: Child, config: dict[str, Any]) -> dict[str, Any]:
        seen.append(dict(config["configurable"]))
        return {"log": ["inner"], "secret": "kept inside"}

    child = StateGraph(Child).add_node("inner", inner).add_edge(START, "inner")
    app = parent_of(TIMELOOM, child.compile(), stored)
    result = app.invoke({"log": ["in"]}, config())
    # The child got the parent's keys it has, returned its whole state; the parent
    # took the keys it has (with its reducer: the child's log includes the input).
    assert result == {"log": ["in", "before", "in", "before", "inner", "after"]}
    ns = seen[0]["checkpoint_ns"]
    assert seen[0]["thread_id"] == "t"
    assert ns.startswith("child:")
    assert timelines(stored) == [f"t|{ns}"]
    sub = app.get_state({"configurable": {"thread_id": "t", "checkpoint_ns": ns}})
    assert sub.values["secret"] == "kept inside"
    assert sub.config["configurable"]["checkpoint_ns"] == ns
    step = next(s for s in app.get_state_history(config()) if s.next == ("child",))
    assert sub.metadata["parents"] == {"": step.config["configurable"]["checkpoint_id"]}


def test_a_graph_invoked_in_a_node_function_with_another_schema(
    stored: BaseCheckpointer,
) -> None:
    def collect(state: Other) -> dict[str, Any]:
        return {"items": [f"got {len(state['items'])}"]}

    child = StateGraph(Other).add_node("collect", collect).add_edge(START, "collect")
    compiled = child.compile()

    def wrapper(state: Parent) -> dict[str, Any]:
        out = compiled.invoke({"items": state["log"]})
        return {"log": out["items"][-1:]}

    app = (
        StateGraph(Parent)
        .add_node("wrapper", wrapper)
        .add_edge(START, "wrapper")
        .compile(checkpointer=stored)
    )
    assert app.invoke({"log": ["a", "b"]}, config()) == {"log": ["a", "b", "got 2"]}
    assert app.invoke({"log": ["c"]}, config()) == {
        "log": ["a", "b", "got 2", "c", "got 4"]
    }
    # Each call is a fresh history of its own (the default: no state kept).
    found = timelines(stored)
    assert len(found) == 2
    assert all(t.startswith("t|wrapper:") for t in found)


def test_checkpointer_true_keeps_one_history_per_thread(
    stored: BaseCheckpointer,
) -> None:
    child = StateGraph(Other).add_node("add", lambda s: {"items": ["x"]})
    app = (
        StateGraph(Other)
        .add_node("child", child.add_edge(START, "add").compile(checkpointer=True))
        .add_edge(START, "child")
        .compile(checkpointer=stored)
    )
    app.invoke({"items": []}, config())
    app.invoke({"items": []}, config())
    assert timelines(stored) == ["t|child"]
    sub = app.get_state({"configurable": {"thread_id": "t", "checkpoint_ns": "child"}})
    # The second call continued the first one's state ([x]): its input (the
    # parent's [x]) appended, then its node's x.
    assert sub.values == {"items": ["x", "x", "x"]}


def test_checkpointer_false_stores_nothing(stored: BaseCheckpointer) -> None:
    child = StateGraph(Other).add_node("add", lambda s: {"items": ["x"]})
    app = (
        StateGraph(Other)
        .add_node("child", child.add_edge(START, "add").compile(checkpointer=False))
        .add_edge(START, "child")
        .compile(checkpointer=stored)
    )
    assert app.invoke({"items": []}, config()) == {"items": ["x"]}
    assert timelines(stored) == []


# -- interrupts ------------------------------------------------------------------------


def test_an_interrupt_in_a_subgraph_pauses_the_parent_and_resumes_into_it(
    stored: BaseCheckpointer,
) -> None:
    calls: Counter[str] = Counter()
    app = parent_of(TIMELOOM, asking_child(TIMELOOM, calls), stored)
    paused = app.invoke({"log": []}, config())
    assert [i.value for i in paused["__interrupt__"]] == ["why?"]
    state = app.get_state(config())
    assert state.next == ("child",)
    assert [i.value for i in state.tasks[0].interrupts] == ["why?"]
    done = app.invoke(Command(resume="because"), config())
    assert done["log"] == [
        "before",
        "before",
        "first",
        "answer:because",
        "last",
        "after",
    ]
    # Only the interrupted node ran again.
    assert calls == Counter(first=1, ask=2, last=1)


def test_nested_subgraphs_write_nested_namespaces(stored: BaseCheckpointer) -> None:
    calls: Counter[str] = Counter()
    middle = parent_of(TIMELOOM, asking_child(TIMELOOM, calls), None, node="inner")
    app = parent_of(TIMELOOM, middle, stored, node="outer")
    app.invoke({"log": []}, config())
    found = timelines(stored)
    assert len(found) == 2
    outer, inner = found
    assert outer.startswith("t|outer:")
    assert inner.startswith(f"{outer}|inner:")
    deep = app.get_state(config(), subgraphs=True)
    middle_state = deep.tasks[0].state
    assert middle_state.next == ("inner",)
    assert middle_state.tasks[0].state.next == ("ask",)
    assert (
        middle_state.tasks[0].state.config["configurable"]["checkpoint_ns"]
        == (inner.split("|", 1)[1])
    )
    done = app.invoke(Command(resume="ok"), config())
    assert done["log"][-4:] == ["answer:ok", "last", "after", "after"]
    assert calls == Counter(first=1, ask=2, last=1)


def test_command_parent_goes_to_a_node_of_the_parent(stored: BaseCheckpointer) -> None:
    def escalate(state: Parent) -> Command[Any]:
        return Command(graph=Command.PARENT, goto="handler", update={"log": ["up"]})

    child = StateGraph(Parent).add_node("escalate", escalate)
    app = (
        StateGraph(Parent)
        .add_node("child", child.add_edge(START, "escalate").compile())
        .add_node("handler", lambda s: {"log": ["handled"]})
        .add_edge(START, "child")
        .compile(checkpointer=stored)
    )
    assert app.invoke({"log": []}, config()) == {"log": ["up", "handled"]}


# -- state access and time travel ----------------------------------------------------------


def test_update_state_on_a_subgraph_config_then_resume(
    stored: BaseCheckpointer,
) -> None:
    calls: Counter[str] = Counter()
    app = parent_of(TIMELOOM, asking_child(TIMELOOM, calls), stored)
    app.invoke({"log": []}, config())
    sub = app.get_state(config(), subgraphs=True).tasks[0].state
    edited = app.update_state(sub.config, {"note": "edited"})
    assert (
        edited["configurable"]["checkpoint_ns"]
        == sub.config["configurable"]["checkpoint_ns"]
    )
    assert app.get_state(edited).values["note"] == "edited"
    timeline = {  # the subgraph's timeline, not one checkpoint of it
        k: v for k, v in sub.config["configurable"].items() if k != "checkpoint_id"
    }
    history = list(app.get_state_history({"configurable": timeline}))
    assert [s.metadata["source"] for s in history][:2] == ["update", "loop"]


def test_time_travel_into_a_subgraph_checkpoint_reruns_from_there(
    stored: BaseCheckpointer,
) -> None:
    calls: Counter[str] = Counter()
    child = asking_child(TIMELOOM, calls, checkpointer=True)
    app = parent_of(TIMELOOM, child, stored)
    app.invoke({"log": []}, config())
    at_question = app.get_state(config(), subgraphs=True).tasks[0].state.config
    app.invoke(Command(resume="one"), config())
    calls.clear()
    replayed = app.invoke(None, at_question)
    assert [i.value for i in replayed["__interrupt__"]] == ["why?"]
    assert calls == Counter(ask=1)  # not "first": it ran before that checkpoint
    done = app.invoke(Command(resume="two"), config())
    assert done["log"][-3:] == ["answer:two", "last", "after"]
    assert calls == Counter(ask=2, last=1)


def test_a_replay_of_the_parent_sees_a_stateful_subgraph_as_it_was(
    stored: BaseCheckpointer,
) -> None:
    seen: list[list[str]] = []

    def add(state: Other) -> dict[str, Any]:
        seen.append(list(state["items"]))
        return {"items": ["x"]}

    child = StateGraph(Other).add_node("add", add).add_edge(START, "add")
    app = (
        StateGraph(Parent)
        .add_node("before", lambda s: {"log": ["b"]})
        .add_node("child", child.compile(checkpointer=True))
        .add_edge(START, "before")
        .add_edge("before", "child")
        .compile(checkpointer=stored)
    )
    app.invoke({"log": []}, config())
    app.invoke({"log": []}, config())
    second = [s for s in app.get_state_history(config()) if s.next == ("child",)][0]
    seen.clear()
    app.invoke(None, second.config)
    # The state after the first call (langgraph#8458, fixed), not after the second.
    assert seen == [["x"]]


# -- the same program on LangGraph ------------------------------------------------------


def namespaces(app: Any) -> list[tuple[str, ...]]:
    """The namespace of each subgraph task of the head, task ids made generic."""
    state = app.get_state(config(), subgraphs=True)
    out = []
    while state is not None and state.tasks:
        ns = state.tasks[0].state.config["configurable"]["checkpoint_ns"]
        out.append(tuple(part.split(":")[0] for part in ns.split("|")))
        state = state.tasks[0].state
        if not state.tasks or state.tasks[0].state is None:
            break
    return out


@pytest.mark.parametrize("persistence", [None, True])
def test_same_as_langgraph_interrupt_resume_and_history(
    persistence: bool | None,
) -> None:
    def scenario(api: Api) -> Any:
        calls: Counter[str] = Counter()
        child = asking_child(api, calls, checkpointer=persistence)
        app = parent_of(api, child, api.checkpointer())
        paused = app.invoke({"log": []}, config())
        shape = namespaces(app)
        state = app.get_state(config(), subgraphs=True).tasks[0].state
        done = app.invoke(api.Command(resume="yes"), config())
        history = [
            (s.metadata["source"], s.next) for s in app.get_state_history(config())
        ]
        return (
            without_interrupts(paused),
            shape,
            dict(state.values),
            state.next,
            done,
            history,
            dict(calls),
        )

    run_on_both(scenario)


@pytest.mark.parametrize("persistence", [None, True])
def test_same_as_langgraph_time_travel_into_a_subgraph(
    persistence: bool | None,
) -> None:
    """With the default, the replayed parent step is a new task: the subgraph
    starts over (LangGraph too); with ``checkpointer=True`` it continues from
    the checkpoint."""

    def scenario(api: Api) -> Any:
        calls: Counter[str] = Counter()
        child = asking_child(api, calls, checkpointer=persistence)
        app = parent_of(api, child, api.checkpointer())
        app.invoke({"log": []}, config())
        at_question = app.get_state(config(), subgraphs=True).tasks[0].state.config
        app.invoke(api.Command(resume="one"), config())
        calls.clear()
        replayed = app.invoke(None, at_question)
        done = app.invoke(api.Command(resume="two"), config())
        return without_interrupts(replayed), done, dict(calls)

    run_on_both(scenario)


_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def ids_in_order(value: Any) -> str:
    """``repr(value)`` with each id (checkpoint, task) replaced by the order it
    first appears in (ids differ between runtimes)."""
    seen: dict[str, str] = {}
    return _UUID.sub(lambda m: seen.setdefault(m[0], f"id{len(seen)}"), repr(value))


def test_same_as_langgraph_a_subgraph_snapshots_configs() -> None:
    """A subgraph's snapshot's config and its parent's name the checkpoints of
    the graphs it runs in (``checkpoint_map``); in the history and the
    ``checkpoints`` chunks a subgraph node's task shows its timeline's config,
    as LangGraph's."""

    def scenario(api: Api) -> Any:
        app = parent_of(api, asking_child(api, Counter()), api.checkpointer())
        app.invoke({"log": []}, config())
        root = app.get_state(config(), subgraphs=True)
        sub = root.tasks[0].state
        resumed = app.stream(
            api.Command(resume="r"),
            config(),
            stream_mode="checkpoints",
            subgraphs=True,
        )
        streamed = [[t["state"] for t in c["tasks"]] for _, c in resumed]
        history = [[t.state for t in s.tasks] for s in app.get_state_history(config())]
        return ids_in_order(
            [root.config, root.parent_config, sub.config, sub.parent_config]
            + [streamed, history]
        )

    run_on_both(scenario)


def test_same_as_langgraph_a_nested_timeline_shows_its_subgraphs() -> None:
    """The state and the history of a subgraph's timeline show it as its own
    graph does: a task of a subgraph node inside it has that subgraph's
    timeline config."""

    def scenario(api: Api) -> Any:
        middle = parent_of(api, asking_child(api, Counter()), None, node="deep")
        app = parent_of(api, middle, api.checkpointer(), node="sub")
        app.invoke({"log": []}, config())
        ns = app.get_state(config()).tasks[0].state["configurable"]["checkpoint_ns"]
        timeline = {"configurable": {"thread_id": "t", "checkpoint_ns": ns}}
        shown = [app.get_state(timeline), *app.get_state_history(timeline)]
        return ids_in_order([[(t.name, t.state) for t in s.tasks] for s in shown])

    run_on_both(scenario)


def test_same_as_langgraph_a_paused_subgraphs_state_has_its_finished_writes() -> None:
    """The head of a paused subgraph's timeline shows what its finished tasks
    wrote through the subgraph's own keys (``note``: not the parent's)."""

    def scenario(api: Api) -> Any:
        child = (
            api.StateGraph(State)
            .add_node("write", lambda s: {"log": ["write"], "note": "kept"})
            .add_node("ask", lambda s: {"log": [api.interrupt("why?")]})
            .add_edge(api.START, "write")
            .add_edge(api.START, "ask")
            .compile()
        )
        app = parent_of(api, child, api.checkpointer())
        app.invoke({"log": []}, config())
        ns = app.get_state(config()).tasks[0].state["configurable"]["checkpoint_ns"]
        paused = app.get_state(
            {"configurable": {"thread_id": "t", "checkpoint_ns": ns}}
        )
        return paused.values, paused.next

    values, _ = run_on_both(scenario)
    assert values["note"] == "kept"


def test_same_as_langgraph_stateful_subgraph_across_calls() -> None:
    def scenario(api: Api) -> Any:
        calls: Counter[str] = Counter()
        child = asking_child(api, calls, checkpointer=True)
        app = parent_of(api, child, api.checkpointer())
        results = []
        for _ in range(2):
            app.invoke({"log": []}, config())
            results.append(app.invoke(api.Command(resume="a"), config()))
        sub = app.get_state(
            {"configurable": {"thread_id": "t", "checkpoint_ns": "child"}}
        )
        return results, dict(sub.values), dict(calls)

    run_on_both(scenario)


# -- the storage convention (the LangGraph reader's) ------------------------------------


def test_subgraph_timelines_are_stored_as_the_reader_shows_langgraph_ones(
    stored: BaseCheckpointer,
) -> None:
    calls: Counter[str] = Counter()
    middle = parent_of(TIMELOOM, asking_child(TIMELOOM, calls), None, node="deep")
    app = parent_of(TIMELOOM, middle, stored, node="sub")
    app.invoke({"log": []}, config())
    app.invoke({"log": []}, config("other"))

    async def check() -> None:
        subgraphs = await stored.subgraphs("t")
        (sub,) = [s for s in subgraphs if s.thread_id.count("|") == 1]
        (deep,) = [s for s in subgraphs if s.thread_id.count("|") == 2]
        ns = sub.thread_id.split("|", 1)[1]
        assert ns.startswith("sub:")
        assert deep.thread_id.startswith(f"{sub.thread_id}|deep:")
        # The root checkpoint the subgraph ran from names its timeline...
        metas = [m async for m in stored.summaries(sub.thread_id)]
        plain = await stored.get("t", metas[0].metadata["parents"][""])
        assert plain is not None
        assert "timeloom.subgraphs" not in plain.metadata  # asked for, not read
        root = await stored.with_subgraph_links(plain)
        assert root is not None
        assert root.metadata["timeloom.subgraphs"] == [sub.thread_id]
        # ...and the subgraph's checkpoint that ran "deep" names the nested one.
        deep_metas = [m async for m in stored.summaries(deep.thread_id)]
        runner = await stored.with_subgraph_links(
            await stored.get(sub.thread_id, deep_metas[0].metadata["parents"][ns])
        )
        assert runner is not None
        assert runner.metadata["timeloom.subgraphs"] == [deep.thread_id]
        # Thread listings show root timelines; a search for "t|" reaches the others.
        assert {t.thread_id for t in await stored.threads()} == {"t", "other"}
        assert await stored.count_threads() == 2
        found = {t.thread_id for t in await stored.threads(search="t|")}
        assert found == {sub.thread_id, deep.thread_id}
        assert await stored.count_threads(search="t|") == 2

    run_sync(check())
    # A snapshot, as LangGraph's, does not carry the link.
    step = next(s for s in app.get_state_history(config()) if s.next == ("sub",))
    assert "timeloom.subgraphs" not in step.metadata


# -- streaming ----------------------------------------------------------------------------


def generic(item: Any) -> Any:
    """A streamed item with task ids and interrupt ids left out."""
    if isinstance(item, tuple) and item and isinstance(item[0], tuple):
        ns = tuple(part.split(":")[0] for part in item[0])
        return (ns, *(generic(x) for x in item[1:]))
    if isinstance(item, dict):
        return {k: generic(v) for k, v in item.items()}
    if isinstance(item, tuple | list):
        return [generic(x) for x in item]
    if hasattr(item, "value") and hasattr(item, "id"):
        return ("interrupt", item.value)
    return item


@pytest.mark.parametrize("modes", ["updates", ["updates", "values"]])
@pytest.mark.parametrize("persistence", [None, True])
def test_same_as_langgraph_stream_with_subgraphs(
    modes: Any, persistence: bool | None
) -> None:
    def scenario(api: Api) -> Any:
        calls: Counter[str] = Counter()
        child = asking_child(api, calls, checkpointer=persistence)
        app = parent_of(api, child, api.checkpointer())
        first = app.stream({"log": []}, config(), stream_mode=modes, subgraphs=True)
        resumed = app.stream(
            api.Command(resume="r"), config(), stream_mode=modes, subgraphs=True
        )
        return [generic(i) for i in first], [generic(i) for i in resumed]

    run_on_both(scenario)


def task_events(item: Any) -> Any:
    """A ``tasks`` or ``debug`` chunk streamed with ``subgraphs=True`` (modes
    given as a list), as what it says of which task starts or ends where."""
    ns, mode, chunk = generic(item)
    if mode == "debug":
        return (ns, chunk["type"], chunk["step"], chunk["payload"].get("name"))
    if mode == "tasks":  # as debug names them, without the step
        return (ns, "task_result" if "result" in chunk else "task", chunk["name"])
    return (ns, mode, chunk)


@pytest.mark.parametrize("modes", [["debug"], ["tasks"], ["tasks", "updates"]])
def test_same_as_langgraph_a_task_starts_before_its_subgraph_streams(
    modes: list[str],
) -> None:
    def scenario(api: Api) -> Any:
        calls: Counter[str] = Counter()
        app = parent_of(api, asking_child(api, calls), api.checkpointer())
        first = app.stream({"log": []}, config(), stream_mode=modes, subgraphs=True)
        resumed = app.stream(
            api.Command(resume="r"), config(), stream_mode=modes, subgraphs=True
        )
        return [task_events(i) for i in first], [task_events(i) for i in resumed]

    first, _ = run_on_both(scenario)
    start = ((), "task", 2, "child") if "debug" in modes else ((), "task", "child")
    assert first.index(start) < [e[0] for e in first].index(("child",))


def test_stream_with_subgraphs_names_nested_namespaces(
    stored: BaseCheckpointer,
) -> None:
    calls: Counter[str] = Counter()
    middle = parent_of(TIMELOOM, asking_child(TIMELOOM, calls), None, node="inner")
    app = parent_of(TIMELOOM, middle, stored, node="outer")
    streamed = list(app.stream({"log": []}, config(), subgraphs=True))
    spaces = [tuple(p.split(":")[0] for p in ns) for ns, _ in streamed]
    assert spaces == [
        (),
        ("outer",),
        ("outer", "inner"),
        ("outer", "inner"),
        ("outer",),
        (),
    ]
    assert list(streamed[2][1]) == ["first"]


def test_destinations_draw_where_a_command_may_go() -> None:
    def escalate(state: Parent) -> Command[Any]:
        return Command(graph=Command.PARENT, goto="handler")

    child = StateGraph(Parent).add_node("escalate", escalate)
    graph = (
        StateGraph(Parent)
        .add_node(
            "child",
            child.add_edge(START, "escalate").compile(),
            destinations=("handler",),
        )
        .add_node("other", lambda s: {}, destinations={"handler": "why"})
        .add_node("handler", lambda s: {"log": ["h"]})
        .add_edge(START, "child")
        .add_edge("child", "other")
        .compile()
    )
    drawn = graph.get_graph().draw_mermaid()
    assert "\tchild -.-> handler;" in drawn
    assert "\tother -. &nbsp;why&nbsp; .-> handler;" in drawn


def test_a_command_for_the_parent_of_a_root_graph_reaches_the_caller() -> None:
    def escalate(state: Parent) -> Command[Any]:
        return Command(graph=Command.PARENT, goto="elsewhere", update={"log": ["x"]})

    app = StateGraph(Parent).add_node("escalate", escalate).add_edge(START, "escalate")
    with pytest.raises(ParentCommand) as raised:
        app.compile().invoke({"log": []})
    assert raised.value.args[0].goto == "elsewhere"


@pytest.mark.parametrize("mode", ["values", "updates"])
def test_same_as_langgraph_invoke_with_subgraphs(mode: str) -> None:
    def scenario(api: Api) -> Any:
        calls: Counter[str] = Counter()
        app = parent_of(api, asking_child(api, calls), api.checkpointer())
        first = app.invoke({"log": []}, config(), stream_mode=mode, subgraphs=True)
        return generic(first if mode == "updates" else without_interrupts(first))

    run_on_both(scenario)
