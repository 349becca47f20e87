"""``Send``: map-reduce fan-out, each send a task with its own input.

Compared with real LangGraph where the two can run the same graph: results,
history, ``next`` and ``tasks``. Semantics storage could change (what a crash, a
resume or a replay reads back) run on every backend (``stored``).
"""

from __future__ import annotations

import operator
from collections import Counter
from typing import Annotated, Any, TypedDict

import pytest
from langgraph.types import Command as LgCommand
from langgraph.types import Send as LgSend

from tests.core.sides import LANGGRAPH, TIMELOOM, Api, run_on_both
from timeloom.core import (
    START,
    Command,
    InvalidUpdateError,
    Send,
    StateGraph,
    node_failure,
)
from timeloom.core.checkpointer import BaseCheckpointer
from timeloom.core.writer import Durability


class State(TypedDict, total=False):
    subjects: list[str]
    jokes: Annotated[list[str], operator.add]


def config(thread_id: str = "t") -> dict[str, Any]:
    return {"configurable": {"thread_id": thread_id}}


def map_reduce(
    api: Api,
    checkpointer: Any = None,
    calls: Counter[str] | None = None,
    failing: set[str] | None = None,
) -> Any:
    """START sends each subject to ``joke``; ``joke`` -> ``best`` (runs once).
    A subject in ``failing`` makes its task raise once."""

    def joke(arg: dict[str, str]) -> dict[str, Any]:
        subject = arg["subject"]
        if calls is not None:
            calls[subject] += 1
        if failing is not None and subject in failing:
            failing.discard(subject)
            raise RuntimeError(f"no joke about {subject}")
        return {"jokes": [f"joke about {subject}"]}

    graph = api.StateGraph(State)
    graph.add_node("joke", joke)
    graph.add_node("best", lambda state: {"jokes": [f"best of {len(state['jokes'])}"]})
    graph.add_conditional_edges(
        api.START,
        lambda state: [api.Send("joke", {"subject": s}) for s in state["subjects"]],
    )
    graph.add_edge("joke", "best")
    graph.add_edge("best", api.END)
    return graph.compile(checkpointer=checkpointer)


def shape(app: Any, thread_id: str = "t") -> list[Any]:
    """A thread's history as both runtimes can show it: step, source, next, the
    tasks' names and paths, and the values."""
    return [
        (
            s.metadata["step"],
            s.metadata["source"],
            s.next,
            [(t.name, t.path) for t in s.tasks],
            s.values,
        )
        for s in app.get_state_history(config(thread_id))
    ]


def test_each_send_gets_its_own_input_and_results_join_as_langgraph() -> None:
    result = run_on_both(
        lambda api: map_reduce(api).invoke({"subjects": ["cats", "dogs", "owls"]})
    )
    assert result == {
        "subjects": ["cats", "dogs", "owls"],
        "jokes": [
            "joke about cats",
            "joke about dogs",
            "joke about owls",
            "best of 3",
        ],
    }


def test_history_next_and_tasks_show_the_sends_as_langgraph(
    stored: BaseCheckpointer,
) -> None:
    theirs = map_reduce(LANGGRAPH, LANGGRAPH.checkpointer())
    ours = map_reduce(TIMELOOM, stored)
    for app in (theirs, ours):
        app.invoke({"subjects": ["cats", "dogs"]}, config())
    assert shape(ours) == shape(theirs)
    fan_out = shape(ours)[2]
    assert fan_out[2] == ("joke", "joke")
    assert fan_out[3] == [
        ("joke", ("__pregel_push", 0, False)),
        ("joke", ("__pregel_push", 1, False)),
    ]
    # The sends are the runtime's bookkeeping, not the user's metadata.
    snapshots = list(ours.get_state_history(config()))
    assert not any(k.startswith("__") for s in snapshots for k in s.metadata)


def build_mixed(api: Api) -> Any:
    """Two routers in one step send to ``2`` and name ``3.1``; ``2`` routes to ``3``
    (LangGraph's order: edge-started tasks' updates first, then sends in order)."""

    def node(name: str) -> Any:
        def run(state: Any) -> list[str]:
            return [name if isinstance(state, list) else f"{name}|{state}"]

        return run

    graph = api.StateGraph(Annotated[list, operator.add])
    for name in ("1", "1.1", "2", "3", "3.1"):
        graph.add_node(name, node(name))
    graph.add_edge(api.START, "1")
    graph.add_edge(api.START, "1.1")
    graph.add_conditional_edges("1", lambda s: [api.Send("2", 1), "3.1"])
    graph.add_conditional_edges("1.1", lambda s: [api.Send("2", 2), api.Send("2", 3)])
    graph.add_conditional_edges("2", lambda s: "3", ["3"])
    return graph.compile()


def test_sends_mixed_with_names_apply_in_langgraph_order() -> None:
    ours = run_on_both(lambda api: build_mixed(api).invoke(["0"]))
    assert ours == ["0", "1", "1.1", "3.1", "2|1", "2|2", "2|3", "3"]


def build_goto(api: Api) -> Any:
    """``one`` returns ``Command(goto=[Send(...), ...])`` besides its edge."""

    def one(state: State) -> Any:
        return api.Command(
            update={"jokes": ["one"]},
            goto=[api.Send("two", {"subject": "a"}), api.Send("two", {"subject": "b"})],
        )

    graph = api.StateGraph(State)
    graph.add_node("one", one)
    graph.add_node("two", lambda arg: {"jokes": [f"two {arg['subject']}"]})
    graph.add_edge(api.START, "one")
    return graph.compile()


def test_command_goto_sends_from_a_node() -> None:
    ours = run_on_both(lambda api: build_goto(api).invoke({"jokes": []}))
    assert ours == {"jokes": ["one", "two a", "two b"]}


def test_a_lone_send_and_its_repr() -> None:
    graph = StateGraph(State)
    graph.add_node("joke", lambda arg: {"jokes": [arg]})
    graph.add_conditional_edges(START, lambda s: Send("joke", "solo"))
    assert graph.compile().invoke({"jokes": []}) == {"jokes": ["solo"]}
    assert repr(Send("joke", {"a": 1})) == repr(LgSend("joke", {"a": 1}))
    assert Send("joke", 1) == Send("joke", 1) != Send("joke", 2)
    assert repr(Command(goto=Send("2", 3))) == repr(LgCommand(goto=LgSend("2", 3)))


def test_a_send_to_an_unknown_node_is_a_clear_error() -> None:
    graph = StateGraph(State)
    graph.add_node("joke", lambda arg: {"jokes": [arg]})
    graph.add_conditional_edges(START, lambda s: [Send("nope", 1)])
    with pytest.raises(InvalidUpdateError, match="unknown node.*nope"):
        graph.compile().invoke({"jokes": []})


def test_two_sends_writing_one_plain_key_conflict_as_in_langgraph() -> None:
    class Plain(TypedDict, total=False):
        last: str

    for api in (TIMELOOM, LANGGRAPH):
        graph = api.StateGraph(Plain)
        graph.add_node("w", lambda arg: {"last": arg})
        graph.add_conditional_edges(
            api.START, lambda s, api=api: [api.Send("w", "a"), api.Send("w", "b")]
        )
        with pytest.raises(Exception, match="last") as raised:
            graph.compile().invoke({})
        assert type(raised.value).__name__ == "InvalidUpdateError"


def test_updates_stream_one_chunk_per_send_task() -> None:
    chunks = list(map_reduce(TIMELOOM).stream({"subjects": ["a", "b"]}))
    # The sends run concurrently: their chunks come as they finish, in any order.
    assert sorted(map(str, chunks[:2])) == [
        str({"joke": {"jokes": ["joke about a"]}}),
        str({"joke": {"jokes": ["joke about b"]}}),
    ]
    assert chunks[2:] == [{"best": {"jokes": ["best of 2"]}}]


def test_a_failed_send_resumes_alone_with_its_input(
    stored: BaseCheckpointer, calls: Counter[str]
) -> None:
    """One send fails: the error is its own, its siblings' updates are kept, and a
    graph compiled anew on the same store re-runs only that send, with its input."""
    with pytest.raises(RuntimeError, match="no joke about dogs") as raised:
        map_reduce(TIMELOOM, stored, calls, {"dogs"}).invoke(
            {"subjects": ["cats", "dogs", "owls"]}, config()
        )
    failure = node_failure(raised.value)
    assert failure is not None
    assert failure.node == "joke"
    app = map_reduce(TIMELOOM, stored, calls)
    state = app.get_state(config())
    # As LangGraph: the head as of now has the finished sends' updates applied
    # and only the failed one still due; the checkpoint itself records them all.
    assert state.values["jokes"] == ["joke about cats", "joke about owls"]
    assert state.next == ("joke",)
    assert app.get_state(state.config).next == ("joke", "joke", "joke")
    errors = [t.error for t in state.tasks]
    assert errors == [None, "RuntimeError('no joke about dogs')", None]
    results = [t.result for t in state.tasks]
    assert results == [
        {"jokes": ["joke about cats"]},
        None,
        {"jokes": ["joke about owls"]},
    ]

    assert app.invoke(None, config())["jokes"] == [
        "joke about cats",
        "joke about dogs",
        "joke about owls",
        "best of 3",
    ]
    assert calls == Counter(cats=1, dogs=2, owls=1)


def build_asking(api: Api, checkpointer: Any, calls: Counter[str]) -> Any:
    def ask(arg: dict[str, str]) -> dict[str, Any]:
        calls[arg["subject"]] += 1
        answer = api.interrupt(f"joke about {arg['subject']}?")
        return {"jokes": [f"{arg['subject']}: {answer}"]}

    graph = api.StateGraph(State)
    graph.add_node("ask", ask)
    graph.add_conditional_edges(
        api.START,
        lambda state: [api.Send("ask", {"subject": s}) for s in state["subjects"]],
    )
    return graph.compile(checkpointer=checkpointer)


def test_interrupts_in_sends_are_answered_per_task_as_langgraph(
    stored: BaseCheckpointer,
) -> None:
    def scenario(api: Api) -> Any:
        saver = api.checkpointer()
        calls: Counter[str] = Counter()
        app = build_asking(api, saver, calls)
        first = app.invoke({"subjects": ["cats", "dogs"]}, config())
        asked = app.get_state(config())
        by_question = {i.value: i.id for i in asked.interrupts}
        # One answer by id, then the last one plainly.
        app.invoke(
            api.Command(resume={by_question["joke about dogs?"]: "woof"}), config()
        )
        final = app.invoke(api.Command(resume="meow"), config())
        return (
            [i.value for i in first["__interrupt__"]],
            asked.next,
            [(t.path, [i.value for i in t.interrupts]) for t in asked.tasks],
            final,
            calls,
        )

    ours = run_on_both(scenario, stored)
    assert ours[3]["jokes"] == ["cats: meow", "dogs: woof"]


def test_several_answers_at_once_by_interrupt_id(stored: BaseCheckpointer) -> None:
    calls: Counter[str] = Counter()
    app = build_asking(TIMELOOM, stored, calls)
    app.invoke({"subjects": ["a", "b", "c"]}, config())
    ids = [i.id for i in app.get_state(config()).interrupts]
    assert len(set(ids)) == 3
    final = app.invoke(
        Command(resume=dict(zip(ids, ["x", "y", "z"], strict=True))), config()
    )
    assert final["jokes"] == ["a: x", "b: y", "c: z"]
    assert calls == Counter(a=2, b=2, c=2)


def test_replay_from_a_checkpoint_with_pending_sends_reruns_them(
    stored: BaseCheckpointer, calls: Counter[str]
) -> None:
    app = map_reduce(TIMELOOM, stored, calls)
    app.invoke({"subjects": ["cats", "dogs"]}, config())
    fan_out = next(
        s for s in app.get_state_history(config()) if s.next == ("joke", "joke")
    )
    calls.clear()
    replayed = app.invoke(None, fan_out.config)
    assert replayed["jokes"] == ["joke about cats", "joke about dogs", "best of 2"]
    assert calls == Counter(cats=1, dogs=1)
    # A fork copy of the fan-out checkpoint keeps its sends too.
    forked = app.fork(fan_out.config, "t-b")
    assert app.get_state(forked).next == ("joke", "joke")
    calls.clear()
    assert app.invoke(None, forked)["jokes"][-1] == "best of 2"
    assert calls == Counter(cats=1, dogs=1)


def test_command_goto_send_as_input_adds_a_task(stored: BaseCheckpointer) -> None:
    graph = StateGraph(State)
    graph.add_node("joke", lambda arg: {"jokes": [f"joke about {arg}"]})
    graph.add_edge(START, "joke")
    app = graph.compile(checkpointer=stored)
    app.invoke({"jokes": []}, config(), interrupt_before=["joke"])
    assert app.get_state(config()).next == ("joke",)
    out = app.invoke(Command(goto=Send("joke", "owls")), config())
    # As LangGraph: the due node's update first, then the send's.
    assert out["jokes"] == ["joke about {'jokes': []}", "joke about owls"]


def build_edge_and_send(api: Api, checkpointer: Any) -> Any:
    """``one`` -> ``two`` by an edge and by ``Command(goto=Send(...))``: two tasks
    of ``two`` in one step, each with its own result."""

    def one(state: State) -> Any:
        return api.Command(goto=[api.Send("two", {"subject": "sent"})])

    def two(state: Any) -> dict[str, Any]:
        return {"jokes": [f"two {state.get('subject', 'pulled')}"]}

    graph = api.StateGraph(State)
    graph.add_node("one", one)
    graph.add_node("two", two)
    graph.add_edge(api.START, "one")
    graph.add_edge("one", "two")
    return graph.compile(checkpointer=checkpointer)


def test_each_task_of_a_node_shows_its_own_result_as_langgraph(
    stored: BaseCheckpointer,
) -> None:
    def scenario(api: Api) -> Any:
        saver = api.checkpointer()
        app = build_edge_and_send(api, saver)
        app.invoke({"jokes": []}, config())
        return [
            [(t.name, t.path, t.result) for t in s.tasks]
            for s in app.get_state_history(config())
        ]

    ours = run_on_both(scenario, stored)
    assert ours[1] == [
        ("two", ("__pregel_push", 0, False), {"jokes": ["two sent"]}),
        ("two", ("__pregel_pull", "two"), {"jokes": ["two pulled"]}),
    ]


def test_a_breakpoint_before_sends_and_an_update_that_resends_as_langgraph(
    stored: BaseCheckpointer,
) -> None:
    """``interrupt_before`` a node pauses before its sends; ``update_state`` on the
    paused checkpoint routes again (as ``__start__``), so the sends follow the
    edited state."""

    def scenario(api: Api) -> Any:
        saver = api.checkpointer()
        graph = api.StateGraph(State)
        graph.add_node("joke", lambda arg: {"jokes": [arg]})
        graph.add_node("best", lambda state: {"jokes": ["best"]})
        graph.add_conditional_edges(
            api.START,
            lambda state, api=api: [api.Send("joke", s) for s in state["subjects"]],
        )
        graph.add_edge("joke", "best")
        app = graph.compile(checkpointer=saver, interrupt_before=["joke"])
        paused = app.invoke({"subjects": ["a", "b"]}, config())
        state = app.get_state(config())
        done = app.invoke(None, config())
        app.invoke({"subjects": ["a", "b"]}, config("u"))
        app.update_state(config("u"), {"subjects": ["x"]})
        edited = app.get_state(config("u"))
        return (
            paused,
            state.next,
            [t.path for t in state.tasks],
            done,
            edited.next,
            [t.path for t in edited.tasks],
            app.invoke(None, config("u")),
        )

    ours = run_on_both(scenario, stored)
    assert ours[3]["jokes"] == ["a", "b", "best"]
    assert ours[6]["jokes"] == ["x", "best"]


def test_stream_one_interrupt_chunk_per_send_and_reused_updates_marked_cached(
    stored: BaseCheckpointer,
) -> None:
    """As LangGraph: each interrupted send yields its own ``__interrupt__`` chunk,
    and a resume first yields the update it reuses, marked ``cached``."""

    def plain(chunks: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [
            {
                k: [i.value for i in v] if k == "__interrupt__" else v
                for k, v in c.items()
            }
            for c in chunks
        ]

    def scenario(api: Api) -> Any:
        saver = api.checkpointer()
        app = build_asking(api, saver, Counter())
        first = plain(list(app.stream({"subjects": ["cats", "dogs"]}, config())))
        ids = {i.value: i.id for i in app.get_state(config()).interrupts}
        resume = api.Command(resume={ids["joke about cats?"]: "meow"})
        second = plain(list(app.stream(resume, config())))
        third = plain(list(app.stream(api.Command(resume="woof"), config())))
        return (sorted(map(str, first)), second, third)

    ours = run_on_both(scenario, stored)
    assert ours[0] == [
        str({"__interrupt__": ["joke about cats?"]}),
        str({"__interrupt__": ["joke about dogs?"]}),
    ]
    assert ours[2][0] == {
        "ask": {"jokes": ["cats: meow"]},
        "__metadata__": {"cached": True},
    }


def test_the_names_langgraph_types_gives_are_importable_from_timeloom_core() -> None:
    """What a LangGraph program imports from ``langgraph.types`` and Timeloom has."""
    import langgraph.types

    import timeloom.core

    names = [
        "Command",
        "Durability",
        "Interrupt",
        "Overwrite",
        "RetryPolicy",
        "Send",
        "StateSnapshot",
        "StreamMode",
        "StreamWriter",
        "interrupt",
    ]
    assert all(hasattr(langgraph.types, n) for n in names)
    assert [n for n in names if not hasattr(timeloom.core, n)] == []


@pytest.mark.parametrize("durability", ["sync", "async"])
def test_a_send_whose_argument_cannot_be_stored_is_named_as_written(
    stored: BaseCheckpointer, durability: Durability
) -> None:
    import threading

    from timeloom.core import SerializationError

    class State(TypedDict):
        out: Annotated[list[int], operator.add]

    graph = StateGraph(State).add_node("a", lambda s: {})
    graph.add_node("worker", lambda s: {"out": [1]})
    graph.add_edge(START, "a")
    graph.add_conditional_edges(
        "a",
        lambda s: [
            Send("worker", {"n": 1}),
            Send("worker", {"lock": threading.Lock()}),
        ],
    )
    app = graph.compile(checkpointer=stored)
    with pytest.raises(SerializationError) as caught:
        app.invoke(
            {"out": []}, {"configurable": {"thread_id": "t"}}, durability=durability
        )
    assert str(caught.value).startswith(
        "The argument of Send('worker', arg) (send #1 of the step) cannot be "
        "stored: cannot store arg[\"lock\"]: object of type 'lock' is not supported"
    )
    assert "__sends__" not in str(caught.value)
