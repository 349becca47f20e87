"""The same program on LangGraph and on Timeloom records the same history.

Each scenario is written once against the LangGraph API names and run twice:
with LangGraph's runtime and in-memory saver (a dev dependency), and with
Timeloom's. The histories must agree on what a user of ``get_state_history``
reads: how many checkpoints, and each one's step, source, ``next``, task names,
interrupts and values.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Annotated, Any, TypedDict

import pytest

from tests.core.sides import Api, run_on_both


class State(TypedDict, total=False):
    log: Annotated[list[str], operator.add]
    n: int
    ok: bool


def approval(api: Api) -> Any:
    """propose -> approve (interrupt) -> notify."""

    def propose(state: State) -> dict[str, Any]:
        return {"log": ["propose"], "n": state.get("n", 0) + 1}

    def approve(state: State) -> dict[str, Any]:
        answer = api.interrupt({"question": "approve?"})
        return {"log": [f"answer:{answer}"]}

    def notify(state: State) -> dict[str, Any]:
        return {"log": ["notify"]}

    graph = api.StateGraph(State)
    graph.add_node("propose", propose)
    graph.add_node("approve", approve)
    graph.add_node("notify", notify)
    graph.add_edge(api.START, "propose")
    graph.add_edge("propose", "approve")
    graph.add_edge("approve", "notify")
    graph.add_edge("notify", api.END)
    return graph.compile(checkpointer=api.checkpointer())


def config(thread_id: str = "t") -> dict[str, Any]:
    return {"configurable": {"thread_id": thread_id}}


def shape(app: Any, thread_id: str = "t") -> list[tuple[Any, ...]]:
    """What a user reads of each checkpoint of the thread, newest first."""
    return [
        (
            s.metadata["step"],
            s.metadata["source"],
            s.next,
            tuple(t.name for t in s.tasks),
            tuple(len(t.interrupts) for t in s.tasks),
            tuple(t.result for t in s.tasks),
            dict(s.values),
            s.metadata.get("parents"),
        )
        for s in app.get_state_history(config(thread_id))
    ]


def at_next(app: Any, node: str) -> Any:
    return [s for s in app.get_state_history(config()) if s.next == (node,)][-1]


def run_twice(scenario: Callable[[Api, Any], Any]) -> None:
    """Run ``scenario`` on each side's ``approval`` app; compare what it returned
    and the history it left."""

    def on(api: Api) -> Any:
        app = approval(api)
        returned = scenario(api, app)
        return (returned, shape(app))

    run_on_both(on)


def values_only(result: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in result.items() if k != "__interrupt__"}


def test_input_interrupt_and_resume() -> None:
    def scenario(api: Api, app: Any) -> Any:
        paused = app.invoke({"log": [], "n": 0}, config())
        done = app.invoke(api.Command(resume="yes"), config())
        return values_only(paused), len(paused["__interrupt__"]), done

    run_twice(scenario)


def test_second_input_on_a_thread() -> None:
    def scenario(api: Api, app: Any) -> Any:
        app.invoke({"log": [], "n": 0}, config())
        app.invoke(api.Command(resume="a"), config())
        app.invoke({"log": ["again"]}, config())
        return app.invoke(api.Command(resume="b"), config())

    run_twice(scenario)


def test_replay_from_before_an_interrupt() -> None:
    def scenario(api: Api, app: Any) -> Any:
        app.invoke({"log": [], "n": 0}, config())
        app.invoke(api.Command(resume="yes"), config())
        replayed = app.invoke(None, at_next(app, "approve").config)
        done = app.invoke(api.Command(resume="no"), config())
        return values_only(replayed), len(replayed["__interrupt__"]), done

    run_twice(scenario)


@pytest.mark.parametrize("node", ["propose", "approve", "__start__"])
def test_update_state_without_as_node(node: str) -> None:
    def scenario(api: Api, app: Any) -> Any:
        app.invoke({"log": [], "n": 0}, config())
        edited = app.update_state(at_next(app, node).config, {"n": 10})
        snapshot = app.get_state(edited)
        return snapshot.next, snapshot.metadata["source"], dict(snapshot.values)

    run_twice(scenario)


def test_replay_from_the_input_checkpoint() -> None:
    def scenario(api: Api, app: Any) -> Any:
        app.invoke({"log": [], "n": 0}, config())
        first = list(app.get_state_history(config()))[-1]
        return values_only(app.invoke(None, first.config))

    run_twice(scenario)


@pytest.mark.parametrize("mode", ["values", "updates"])
def test_streams_of_a_resume_and_a_replay(mode: str) -> None:
    def scenario(api: Api, app: Any) -> Any:
        first = list(app.stream({"log": [], "n": 0}, config(), stream_mode=mode))
        resumed = list(
            app.stream(api.Command(resume="yes"), config(), stream_mode=mode)
        )
        replayed = list(
            app.stream(None, at_next(app, "approve").config, stream_mode=mode)
        )
        return [
            [e for e in events if "__interrupt__" not in e]
            for events in (first, resumed, replayed)
        ]

    run_twice(scenario)


def test_a_static_breakpoint() -> None:
    def scenario(api: Api) -> Any:
        graph = api.StateGraph(State)
        graph.add_node("a", lambda s: {"log": ["a"]})
        graph.add_node("b", lambda s: {"log": ["b"]})
        graph.add_edge(api.START, "a")
        graph.add_edge("a", "b")
        app = graph.compile(checkpointer=api.checkpointer(), interrupt_before=["b"])
        paused = app.invoke({"log": []}, config())
        streamed = list(app.stream({"log": ["x"]}, config("s")))
        done = app.invoke(None, config())
        return (paused, streamed, done, shape(app))

    run_on_both(scenario)


def test_a_node_returning_nothing_streams_none() -> None:
    def scenario(api: Api) -> Any:
        graph = api.StateGraph(State)
        graph.add_node("quiet", lambda s: None)
        graph.add_node("loud", lambda s: {"log": ["loud"]})
        graph.add_edge(api.START, "quiet")
        graph.add_edge("quiet", "loud")
        return list(graph.compile().stream({"log": []}))

    run_on_both(scenario)


def test_a_waiting_edge_runs_its_end_once_after_all_its_starts() -> None:
    """``add_edge(["a", "b2"], "c")`` with starts finishing in different steps,
    paused between them (``a`` at step 1, ``b2`` at step 2), then a loop back to
    ``a`` alone, which does not run ``c`` again."""

    def scenario(api: Api) -> Any:
        graph = api.StateGraph(State)
        for node in ("a", "b", "b2", "c"):
            graph.add_node(node, lambda s, node=node: {"log": [node]})
        graph.add_edge(api.START, "a")
        graph.add_edge(api.START, "b")
        graph.add_edge("b", "b2")
        graph.add_edge(["a", "b2"], "c")
        graph.add_conditional_edges(
            "c", lambda s, end=api.END: end if s["log"].count("c") > 1 else "a"
        )
        app = graph.compile(checkpointer=api.checkpointer(), interrupt_after=["b"])
        paused = app.invoke({"log": []}, config())
        done = app.invoke(None, config())
        return (paused, done, shape(app))

    _, done, _ = run_on_both(scenario)
    assert done == {"log": ["a", "b", "b2", "c", "a"]}


def test_a_values_stream_ends_with_the_questions_when_paused() -> None:
    """At ``interrupt()`` the last values chunk is the state with
    ``__interrupt__``; at a static breakpoint nothing is added."""

    def scenario(api: Api) -> Any:
        app = approval(api)
        chunks = list(app.stream({"log": [], "n": 0}, config(), stream_mode="values"))
        last = dict(chunks[-1])
        asked = [i.value for i in last.pop("__interrupt__")]
        graph = api.StateGraph(State)
        graph.add_node("a", lambda s: {"log": ["a"]})
        graph.add_node("b", lambda s: {"log": ["b"]})
        graph.add_edge(api.START, "a")
        graph.add_edge("a", "b")
        paused = graph.compile(
            checkpointer=api.checkpointer(), interrupt_before=["b"]
        ).stream({"log": []}, config(), stream_mode=["values", "updates"])
        return (chunks[:-1], last, asked, list(paused))

    run_on_both(scenario)


def test_history_of_a_config_naming_a_checkpoint_is_that_checkpoint(
    stored: Any,
) -> None:
    """As LangGraph's savers list it: a config with a ``checkpoint_id`` names that
    checkpoint alone (with its task results), whatever ``limit`` says; ``before``
    and ``filter`` can still leave it out."""

    def scenario(api: Api) -> Any:
        app = approval(api)
        app.invoke({"log": [], "n": 0}, config())
        app.invoke(api.Command(resume="yes"), config())
        at = at_next(app, "approve").config
        steps = [
            [(s.metadata["step"], s.next, s.tasks[0].result) for s in found]
            for found in (
                app.get_state_history(at),
                app.get_state_history(at, limit=3),
                app.get_state_history(at, filter={"source": "input"}),
                app.get_state_history(at, before=at),
            )
        ]
        return steps

    assert run_on_both(scenario, stored)[0] == [
        (1, ("approve",), {"log": ["answer:yes"]})
    ]
