"""A step of parallel tasks that pauses or fails, in nested graphs: what the
run returns and streams, what the thread shows, and how a resume continues.

LangGraph's behaviour is the reference: most tests run one program on both
runtimes (``run_on_both``) and compare what a user sees; the stored ones run
Timeloom on every backend.
"""

from __future__ import annotations

import operator
from typing import Annotated, Any, TypedDict

import pytest

from tests.core.sides import TIMELOOM, run_on_both
from timeloom.core.checkpointer import BaseCheckpointer
from timeloom.core.constants import NODE_FINISHED


def config(thread_id: str = "t") -> dict[str, Any]:
    return {"configurable": {"thread_id": thread_id}}


def questions(result: dict[str, Any]) -> list[Any]:
    """The values of a paused run's questions (ids differ between runtimes)."""
    return sorted(i.value for i in result.pop("__interrupt__", []))


class Child(TypedDict, total=False):
    prompt: str
    answer: str
    answers: list[str]


class Parent(TypedDict, total=False):
    prompts: list[str]
    answers: Annotated[list[str], operator.add]


def fan_out_to_asking_children(api: Any, checkpointer: Any) -> Any:
    """One ``Send`` per prompt to a child graph that asks for an answer; the
    child is compiled with the parent's checkpointer given again."""

    def ask(state: Child) -> dict[str, Any]:
        answer = api.interrupt(state["prompt"])
        return {"answer": answer, "answers": [answer]}

    child = (
        api.StateGraph(Child)
        .add_node("ask", ask)
        .add_edge(api.START, "ask")
        .compile(checkpointer=checkpointer)
    )

    def fan_out(state: Parent) -> list[Any]:
        return [api.Send("child", {"prompt": p}) for p in state["prompts"]]

    return (
        api.StateGraph(Parent)
        .add_node("child", child)
        .add_conditional_edges(api.START, fan_out, ["child"])
        .compile(checkpointer=checkpointer)
    )


def answer_all(app: Any, api: Any) -> Any:
    """Answer every open question of the thread in one resume, by id."""
    asked = app.get_state(config()).interrupts
    return app.invoke(
        api.Command(resume={i.id: f"re:{i.value}" for i in asked}), config()
    )


def test_a_resume_map_answers_subgraphs_given_the_parents_checkpointer(
    stored: BaseCheckpointer,
) -> None:
    app = fan_out_to_asking_children(TIMELOOM, stored)
    paused = app.invoke({"prompts": ["a", "b", "c"]}, config())
    assert questions(paused) == ["a", "b", "c"]
    done = answer_all(app, TIMELOOM)
    assert done == {"prompts": ["a", "b", "c"], "answers": ["re:a", "re:b", "re:c"]}


def test_same_as_langgraph_resume_map_into_sent_subgraphs() -> None:
    def scenario(api: Any) -> Any:
        app = fan_out_to_asking_children(api, api.checkpointer())
        paused = app.invoke({"prompts": ["a", "b"]}, config())
        return questions(paused), paused, answer_all(app, api)

    run_on_both(scenario)


class Log(TypedDict, total=False):
    log: Annotated[str, operator.add]
    other: str


def asking_subgraph_beside_a_node(api: Any, checkpointer: Any, static: bool) -> Any:
    """``sub`` (``a`` then ``b``, which asks, or before which the subgraph
    pauses when ``static``) runs beside ``p`` in the parent's first step."""

    def ask(state: Log) -> dict[str, Any]:
        return {"log": api.interrupt("q")}

    inner = api.StateGraph(Log)
    inner.add_node("a", lambda s: {"log": "a"})
    inner.add_node("b", ask)
    inner.add_edge(api.START, "a")
    inner.add_edge("a", "b")
    parent = api.StateGraph(Log)
    parent.add_node("sub", inner.compile(interrupt_before=["b"] if static else None))
    parent.add_node("p", lambda s: {"log": "p"})
    parent.add_edge(api.START, "sub")
    parent.add_edge(api.START, "p")
    return parent.compile(checkpointer=checkpointer)


def test_a_pause_returns_and_shows_what_finished_siblings_wrote(
    stored: BaseCheckpointer,
) -> None:
    app = asking_subgraph_beside_a_node(TIMELOOM, stored, static=False)
    paused = app.invoke({"log": ""}, config())
    assert (questions(paused), paused) == (["q"], {"log": "p"})
    now = app.get_state(config())
    assert (now.values, now.next) == ({"log": "p"}, ("sub",))
    recorded = app.get_state(now.config)  # the checkpoint: as the step started
    assert (recorded.values, recorded.next) == ({"log": ""}, ("sub", "p"))
    assert app.invoke(TIMELOOM.Command(resume="x"), config()) == {"log": "pax"}


@pytest.mark.parametrize("static", [False, True])
def test_same_as_langgraph_a_paused_parallel_step_streams(static: bool) -> None:
    """The pause's chunks (none under a subgraph's namespace for its
    breakpoint), then the state with the finished sibling's update."""

    def scenario(api: Any) -> Any:
        app = asking_subgraph_beside_a_node(api, api.checkpointer(), static)
        modes = ["updates", "values"]
        chunks = app.stream({"log": ""}, config(), stream_mode=modes, subgraphs=True)
        shown = [
            (ns[:1] and ns[0].split(":")[0], mode, without_ids(chunk))
            for ns, mode, chunk in chunks
        ]
        # Timeloom streams a subgraph's chunks when its step ends: compare
        # each namespace's own order.
        by_ns = {ns: [c for c in shown if c[0] == ns] for ns, _, _ in shown}
        now = app.get_state(config())
        resumed = app.invoke(None if static else api.Command(resume="x"), config())
        return by_ns, now.values, now.next, without_ids(resumed)

    run_on_both(scenario)


def without_ids(chunk: Any) -> Any:
    """``chunk`` with its interrupts as their values (ids differ by runtime)."""
    if isinstance(chunk, dict) and "__interrupt__" in chunk:
        return {**chunk, "__interrupt__": [i.value for i in chunk["__interrupt__"]]}
    return chunk


def test_same_as_langgraph_steps_that_write_nothing_show_no_state() -> None:
    """An input or a node that writes no key streams no ``values`` chunk (a
    node's ``updates`` chunk is then ``None``), and snapshots' metadata is
    LangGraph's (``source``, ``step``, ``parents``)."""

    def scenario(api: Any) -> Any:
        graph = api.StateGraph(Log)
        graph.add_node("empty", lambda s: {})
        graph.add_node("none", lambda s: None)
        graph.add_node("writes", lambda s: {"other": "x"})
        graph.add_edge(api.START, "empty")
        graph.add_edge("empty", "none")
        graph.add_edge("none", "writes")
        app = graph.compile(checkpointer=api.checkpointer())
        modes = ["values", "updates"]
        streamed = list(app.stream({}, config(), stream_mode=modes))
        given = list(app.stream({"log": "z"}, config("u"), stream_mode=modes))
        metadata = [s.metadata for s in app.get_state_history(config())]
        return streamed, given, metadata

    run_on_both(scenario)


def test_same_as_langgraph_nodes_that_finish_are_reported_in_subgraphs_too() -> None:
    """``configurable["__pregel_node_finished"]`` hears each node that succeeds,
    at every depth, not one paused by a breakpoint inside it."""

    def scenario(api: Any) -> Any:
        grandchild = api.StateGraph(Log)
        grandchild.add_node("g1", lambda s: {"log": " g1"})
        grandchild.add_node("g2", lambda s: {"log": " g2"})
        grandchild.add_edge(api.START, "g1")
        grandchild.add_edge("g1", "g2")
        child = api.StateGraph(Log)
        child.add_node("c1", grandchild.compile(interrupt_before=["g2"]))
        child.add_edge(api.START, "c1")
        parent = api.StateGraph(Log)
        parent.add_node("p1", lambda s: {"log": "p1"})
        parent.add_node("child", child.compile())
        parent.add_edge(api.START, "p1")
        parent.add_edge("p1", "child")
        app = parent.compile(checkpointer=api.checkpointer())
        heard: list[str] = []
        given = {"configurable": {"thread_id": "t", NODE_FINISHED: heard.append}}
        first = app.invoke({"log": ""}, given)
        until_pause = list(heard)
        done = app.invoke(None, given)
        return first, until_pause, done, heard

    run_on_both(scenario)


class Sum(TypedDict):
    value: Annotated[int, operator.add]


def test_same_as_langgraph_a_failed_step_resumes_with_its_finished_update() -> None:
    """``one`` succeeds beside ``two``, which fails (retried): the head shows
    ``one``'s update applied and only ``two`` due; resumes run ``two`` alone
    (a failing one stores nothing new) until it succeeds."""

    def scenario(api: Any) -> Any:
        calls = {"one": 0, "two": 0}
        fails = [True]

        def one(state: Sum) -> dict[str, Any]:
            calls["one"] += 1
            return {"value": 2}

        def two(state: Sum) -> dict[str, Any]:
            calls["two"] += 1
            if fails[0]:
                raise ConnectionError("not good")
            return {"value": 3}

        retry = api.RetryPolicy(max_attempts=2, initial_interval=0, jitter=False)
        graph = api.StateGraph(Sum)
        graph.add_node("one", one)
        graph.add_node("two", two, retry_policy=retry)
        graph.add_edge(api.START, "one")
        graph.add_edge(api.START, "two")
        app = graph.compile(checkpointer=api.checkpointer())
        seen: list[Any] = []
        for given in ({"value": 1}, None):
            with pytest.raises(ConnectionError):
                app.invoke(given, config())
            now = app.get_state(config())
            recorded = app.get_state(now.config)
            seen.append((dict(calls), now.values, now.next, now.metadata))
            seen.append((recorded.values, recorded.next))
            seen.append([(t.name, t.result, t.error is None) for t in now.tasks])
        fails[0] = False
        done = app.invoke(None, config())
        return seen, done, dict(calls), len(list(app.get_state_history(config())))

    run_on_both(scenario)


class Asked(TypedDict, total=False):
    a: str
    b: str


def asking_in_a_row(api: Any, nested: bool) -> Any:
    """``ask_a`` asks once and, beside it, ``ask_b`` asks three questions in a
    row; ``nested``: both in a subgraph, which the root runs as one task."""

    def ask_a(state: Asked) -> dict[str, Any]:
        return {"a": api.interrupt("a1")}

    def ask_b(state: Asked) -> dict[str, Any]:
        return {"b": "/".join(api.interrupt(f"b{i}") for i in (1, 2, 3))}

    graph = (
        api.StateGraph(Asked)
        .add_node("ask_a", ask_a)
        .add_node("ask_b", ask_b)
        .add_edge(api.START, "ask_a")
        .add_edge(api.START, "ask_b")
    )
    if nested:
        child = graph.compile()
        graph = (
            api.StateGraph(Asked).add_node("child", child).add_edge(api.START, "child")
        )
    return graph.compile(checkpointer=api.checkpointer())


def asked_per_task(snapshot: Any) -> tuple[Any, ...]:
    """What a snapshot shows of the questions: each task's, then all of them,
    in the snapshot's order."""
    return (
        snapshot.next,
        [(t.name, [i.value for i in t.interrupts], t.result) for t in snapshot.tasks],
        [i.value for i in snapshot.interrupts],
    )


@pytest.mark.parametrize("nested", [False, True])
def test_same_as_langgraph_history_shows_the_question_a_task_asked_last(
    nested: bool,
) -> None:
    """A node that asks again replaces its question in the record of the step
    (the history's checkpoint), answered or not, as LangGraph's; a subgraph's
    task shows the questions its subgraph asked last."""

    def scenario(api: Any) -> Any:
        app = asking_in_a_row(api, nested)
        seen = []
        app.invoke({}, config())
        while app.get_state(config()).next:
            asked = app.get_state(config()).interrupts
            app.invoke(
                api.Command(resume={i.id: f"re:{i.value}" for i in asked}), config()
            )
            seen.append(
                (
                    asked_per_task(app.get_state(config())),
                    [asked_per_task(s) for s in app.get_state_history(config())],
                )
            )
        return seen

    seen = run_on_both(scenario)
    last_history = seen[-1][1]
    # The subgraph last asked b3 alone; the root's two tasks last asked a1, b3.
    last_asked = ["b3"] if nested else ["a1", "b3"]
    assert [sorted(i) for _, _, i in last_history] == [[], last_asked, []]
