"""LangGraph's saver API on Timeloom's checkpointers: what programs and tests call
on ``graph.checkpointer`` (``get_tuple``, ``list``, ``delete_thread`` and their
async twins), in LangGraph's shapes, on every backend.

The same program runs on LangGraph (its in-memory saver, a dev dependency) and on
Timeloom; what a user reads through the API must agree, task ids aside (each
system names its own tasks; they are mapped to task names through ``get_state``).
"""

from __future__ import annotations

import asyncio
import operator
import threading
import time
from typing import Annotated, Any, TypedDict

import pytest

from tests.core.sides import LANGGRAPH, TIMELOOM, Api, run_on_both
from timeloom.backends.memory import MemoryCheckpointer
from timeloom.core import START, Command, Interrupt, StateGraph
from timeloom.core.checkpointer import BaseCheckpointer
from timeloom.core.error_records import error_text
from timeloom.core.errors import CheckpointNotFound, ConfigError


class State(TypedDict):
    steps: Annotated[list[str], operator.add]
    attempt: int


def program(api: Api, checkpointer: Any) -> Any:
    """START -> fails (raises on attempt 1) and ok together; fails -> ask, which
    asks a question."""
    ok_ran = threading.Event()

    def fails(state: State) -> dict[str, Any]:
        if state["attempt"] == 1:
            # LangGraph records a sibling's update only if it was saved before
            # the failure ended the step: let it finish first.
            ok_ran.wait(timeout=5)
            time.sleep(0.05)
            raise RuntimeError("Simulated failure")
        return {"steps": ["fails"]}

    def ok(state: State) -> dict[str, Any]:
        ok_ran.set()
        return {"steps": ["ok"]}

    def ask(state: State) -> dict[str, Any]:
        return {"steps": [api.interrupt({"q": 1})]}

    graph = api.StateGraph(State)
    graph.add_node("fails", fails).add_node("ok", ok).add_node("ask", ask)
    graph.add_edge(api.START, "fails").add_edge(api.START, "ok").add_edge(
        "fails", "ask"
    )
    return graph.compile(checkpointer=checkpointer)


CONFIG = {"configurable": {"thread_id": "1"}, "metadata": {"user": "ada"}}
THREAD = {"configurable": {"thread_id": "1"}}


def run_until(app: Any, stage: str, command: Any) -> None:
    """Drive ``app`` to ``stage``: "failed", "paused" (asking) or "done"."""
    with pytest.raises(RuntimeError, match="Simulated failure"):
        app.invoke({"steps": ["s"], "attempt": 1}, CONFIG)
    if stage != "failed":
        app.invoke({"steps": [], "attempt": 2}, CONFIG)
    if stage == "done":
        app.invoke(command(resume="yes"), THREAD)


def both_run_until(stage: str, stored: BaseCheckpointer) -> tuple[Any, Any]:
    """LangGraph's program and Timeloom's (on ``stored``), each driven to ``stage``."""
    langgraph = program(LANGGRAPH, LANGGRAPH.checkpointer())
    ours = program(TIMELOOM, stored)
    run_until(langgraph, stage, LANGGRAPH.Command)
    run_until(ours, stage, TIMELOOM.Command)
    return langgraph, ours


def seen(app: Any, found: Any) -> dict[str, Any]:
    """What a user reads of a checkpoint tuple, task ids named by their tasks."""
    names = {t.id: t.name for t in app.get_state(found.config).tasks}
    return {
        "config": sorted(found.config["configurable"]),
        "thread": found.config["configurable"]["thread_id"],
        "parent": found.parent_config is not None,
        "values": found.checkpoint["channel_values"],
        "metadata": {k: found.metadata[k] for k in ("source", "step", "user")},
        "pending_writes": sorted(
            (names[task], channel, _plain(value))
            for task, channel, value in found.pending_writes
        ),
    }


def _plain(value: Any) -> Any:
    """Interrupts by their value (each system makes its own ids)."""
    if isinstance(value, list):
        return [getattr(v, "value", v) for v in value]
    return value


@pytest.mark.parametrize("stage", ["failed", "paused"])
def test_get_tuple_reads_the_head_as_langgraph_does(
    stored: BaseCheckpointer, stage: str
) -> None:
    langgraph, ours = both_run_until(stage, stored)

    theirs = seen(langgraph, langgraph.checkpointer.get_tuple(THREAD))
    mine = seen(ours, ours.checkpointer.get_tuple(THREAD))
    # LangGraph's values also hold its bookkeeping channels (branch:to:*).
    theirs["values"] = {k: v for k, v in theirs["values"].items() if ":" not in k}
    assert mine == theirs
    if stage == "failed":
        assert ("fails", "__error__", "RuntimeError('Simulated failure')") in mine[
            "pending_writes"
        ]
        assert ("ok", "steps", ["ok"]) in mine["pending_writes"]
    else:
        assert mine["pending_writes"] == [("ask", "__interrupt__", [{"q": 1}])]


def test_the_tuple_names_its_checkpoint_parent_and_tasks(
    stored: BaseCheckpointer,
) -> None:
    app = program(TIMELOOM, stored)
    run_until(app, "failed", Command)
    found = stored.get_tuple(THREAD)
    assert found is not None
    state = app.get_state(THREAD)
    assert found.config == state.config
    assert found.parent_config == state.parent_config
    assert found.checkpoint["id"] == state.config["configurable"]["checkpoint_id"]
    assert found.checkpoint["ts"] == state.created_at
    # The checkpoint's own values, as LangGraph's saver stores them (its
    # get_state of the head applies the finished sibling's update on top).
    assert found.checkpoint["channel_values"] == {"steps": ["s"], "attempt": 1}
    assert app.get_state(found.config).values == found.checkpoint["channel_values"]
    # Timeloom keeps no channel versions: absent, not made up.
    assert "channel_versions" not in found.checkpoint
    assert {t.id for t in state.tasks} == {t for t, _, _ in found.pending_writes or []}
    # An older checkpoint by its id, and what is not there.
    parent = stored.get_tuple(found.parent_config)  # type: ignore[arg-type]
    assert parent is not None
    assert parent.config == found.parent_config
    missing = {"configurable": {"thread_id": "1", "checkpoint_id": "nope"}}
    assert stored.get_tuple(missing) is None
    assert stored.get_tuple({"configurable": {"thread_id": "other"}}) is None
    with pytest.raises(ConfigError, match="names no thread"):
        stored.get_tuple({"configurable": {}})


def test_list_is_a_plain_iterator_newest_first_as_langgraph_lists(
    stored: BaseCheckpointer,
) -> None:
    langgraph, ours = both_run_until("done", stored)

    def steps(app: Any, **kw: Any) -> list[tuple[str, int]]:
        listed = app.checkpointer.list(THREAD, **kw)
        return [(t.metadata["source"], t.metadata["step"]) for t in listed]

    everything = steps(ours)
    assert everything == steps(langgraph)
    assert everything[0] == ("loop", 4)
    assert everything[-1] == ("input", -1)
    assert steps(ours, limit=2) == everything[:2]
    assert steps(ours, filter={"source": "input"}) == [("input", 1), ("input", -1)]
    assert steps(ours, filter={"source": "input"}) == steps(
        langgraph, filter={"source": "input"}
    )
    third = list(stored.list(THREAD))[2]
    assert steps(ours, before=third.config) == everything[3:]
    only = list(stored.list(third.config))
    assert [t.config for t in only] == [third.config]
    assert list(stored.list({"configurable": {"thread_id": "none"}})) == []


class Steps(TypedDict):
    steps: Annotated[list[str], operator.add]


def with_a_subgraph_on_two_threads(stored: BaseCheckpointer) -> Any:
    """A graph whose node ``sub`` is a subgraph (node ``deep``), run once on
    thread ``1`` and once on ``2``."""
    inner = StateGraph(Steps)
    inner.add_node("deep", lambda s: {"steps": ["deep"]})
    inner.add_edge(START, "deep")
    outer = StateGraph(Steps)
    outer.add_node("sub", inner.compile())
    outer.add_edge(START, "sub")
    app = outer.compile(checkpointer=stored)
    app.invoke({"steps": []}, THREAD)
    app.invoke({"steps": []}, {"configurable": {"thread_id": "2"}})
    return app


def test_list_reads_a_thread_with_its_subgraphs_and_every_thread(
    stored: BaseCheckpointer,
) -> None:
    app = with_a_subgraph_on_two_threads(stored)

    listed = list(stored.list(THREAD))
    namespaces = [t.config["configurable"]["checkpoint_ns"] for t in listed]
    assert "" in namespaces
    assert any(ns.startswith("sub:") for ns in namespaces)
    ids = [t.checkpoint["id"] for t in listed]
    assert ids == sorted(ids, reverse=True), "one history, newest first"
    root = list(stored.list({"configurable": {"thread_id": "1", "checkpoint_ns": ""}}))
    assert [t.config for t in root] == [s.config for s in app.get_state_history(THREAD)]
    every = list(stored.list(None))
    threads = {t.config["configurable"]["thread_id"] for t in every}
    assert threads == {"1", "2"}
    assert len(every) == len(listed) + len(
        list(stored.list({"configurable": {"thread_id": "2"}}))
    )
    assert len(list(stored.list(None, limit=3))) == 3


def test_delete_thread_from_sync_code_deletes_its_subgraphs_too(
    stored: BaseCheckpointer,
) -> None:
    app = with_a_subgraph_on_two_threads(stored)

    stored.delete_thread("1")
    assert stored.get_tuple(THREAD) is None
    assert list(stored.list(THREAD)) == []
    assert list(app.get_state_history(THREAD)) == []
    assert stored.get_tuple({"configurable": {"thread_id": "2"}}) is not None


async def test_the_async_twins_read_the_same(stored: BaseCheckpointer) -> None:
    app = program(TIMELOOM, stored)
    with pytest.raises(RuntimeError):
        await app.ainvoke({"steps": ["s"], "attempt": 1}, CONFIG)
    head = await stored.aget_tuple(THREAD)
    assert head is not None
    state = await app.aget_state(THREAD)
    assert head.config == state.config
    assert {t for t, _, _ in head.pending_writes or []} == {t.id for t in state.tasks}
    listed = [t async for t in stored.alist(THREAD)]
    assert listed[0] == head
    assert [t.metadata["step"] for t in listed] == [0, -1]
    assert await stored.aget(THREAD) == head.checkpoint
    await stored.adelete_thread("1")
    assert await stored.aget_tuple(THREAD) is None


def test_a_failed_task_shows_its_error_as_langgraph_does() -> None:
    app = program(TIMELOOM, MemoryCheckpointer())
    run_until(app, "failed", Command)
    [task] = [t for t in app.get_state(THREAD).tasks if t.name == "fails"]
    # LangGraph's text, the exception's repr; the checkpoint keeps the record.
    assert task.error == "RuntimeError('Simulated failure')"
    head = asyncio.run(app.checkpointer.get("1"))
    [record] = head.errors
    assert record.value["type"] == "RuntimeError"
    assert "raise RuntimeError" in record.value["traceback"]


def test_an_error_recorded_without_its_repr_reads_from_type_and_message() -> None:
    record = {"type": "KeyError", "message": "missing", "traceback": ""}
    assert error_text(record) == "KeyError('missing')"
    assert error_text({**record, "repr": "KeyError('a', 'b')"}) == "KeyError('a', 'b')"


def test_compile_refuses_what_is_not_a_checkpointer() -> None:
    class NotACheckpointer:
        pass

    graph = StateGraph(State)
    graph.add_node("ok", lambda s: {"steps": ["ok"]})
    graph.add_edge(START, "ok")
    with pytest.raises(TypeError, match="Invalid checkpointer provided") as raised:
        graph.compile(checkpointer=NotACheckpointer())  # type: ignore[arg-type]
    assert "NotACheckpointer" in str(raised.value)
    for fine in (None, True, False, MemoryCheckpointer()):
        graph.compile(checkpointer=fine)


def test_a_runs_configurable_values_are_recorded_in_its_checkpoints_metadata(
    stored: BaseCheckpointer,
) -> None:
    run = {
        "configurable": {
            "thread_id": "1",
            "checkpoint_ns": "",
            "user": "ada",
            "n": 3,
            "flag": True,
            "ratio": 0.5,
            "nested": {"a": 1},  # not a scalar: not recorded
            "__private": "x",  # LangGraph's own keys: not recorded
        },
        "metadata": {"user": "from-metadata", "m": "x"},
    }
    extra = {"configurable": {"thread_id": "1", "user": "bob"}}

    def recorded(app: Any, command: Any) -> list[dict[str, Any]]:
        with pytest.raises(RuntimeError):
            app.invoke({"steps": ["s"], "attempt": 1}, run)
        app.update_state(extra, {"attempt": 2})
        return [
            {k: v for k, v in t.metadata.items() if k not in ("source", "step")}
            for t in app.checkpointer.list(THREAD)
        ]

    mine = run_on_both(
        lambda api: recorded(program(api, api.checkpointer()), api.Command), stored
    )
    assert mine[0] == {"parents": {}, "user": "bob"}
    assert mine[-1] == {
        "parents": {},
        "user": "from-metadata",  # config["metadata"] comes first
        "m": "x",
        "n": 3,
        "flag": True,
        "ratio": 0.5,
    }
    found = stored.list(THREAD, filter={"user": "from-metadata", "n": 3})
    assert [t.metadata["step"] for t in found] == [0, -1]


class Pair(TypedDict):
    log: Annotated[list[str], operator.add]


def pair(api: Api, checkpointer: Any) -> Any:
    """START -> a and b together, paused before them."""
    graph = api.StateGraph(Pair)
    graph.add_node("a", lambda s: {"log": ["a ran"]})
    graph.add_node("b", lambda s: {"log": ["b ran"]})
    graph.add_edge(api.START, "a").add_edge(api.START, "b")
    return graph.compile(checkpointer=checkpointer, interrupt_before=["a", "b"])


def test_put_writes_records_a_finished_task_that_the_run_then_skips(
    stored: BaseCheckpointer,
) -> None:
    def finish_a_by_hand(app: Any) -> Any:
        app.invoke({"log": []}, THREAD)
        state = app.get_state(THREAD)
        [a] = [t for t in state.tasks if t.name == "a"]
        app.checkpointer.put_writes(state.config, [("log", ["a by hand"])], a.id)
        app.invoke(None, THREAD)
        return app.get_state(THREAD).values

    mine = run_on_both(
        lambda api: finish_a_by_hand(pair(api, api.checkpointer())), stored
    )
    assert mine == {"log": ["a by hand", "b ran"]}


async def test_aput_writes_records_errors_and_questions_as_get_tuple_reads_them(
    stored: BaseCheckpointer,
) -> None:
    app = pair(TIMELOOM, stored)
    await app.ainvoke({"log": []}, THREAD)
    state = await app.aget_state(THREAD)
    a, b = (next(t.id for t in state.tasks if t.name == n) for n in ("a", "b"))
    await stored.aput_writes(state.config, [("__error__", KeyError("x"))], a)
    await stored.aput_writes(state.config, [("__error__", "ValueError('v')")], b)
    question = Interrupt(value="ok?", id="q1")
    await stored.aput_writes(state.config, [("__interrupt__", [question])], a)
    await stored.aput_writes(state.config, [("__resume__", ["yes"])], a)

    found = await stored.aget_tuple(state.config)
    assert found is not None
    assert found.pending_writes == [
        (a, "__error__", "KeyError('x')"),
        (b, "__error__", "ValueError('v')"),
        (a, "__interrupt__", [question]),
        (a, "__resume__", ["yes"]),
    ]
    head = await stored.get("1")
    assert head is not None
    assert head.status == "failed"
    assert [(w.value["type"], w.value["message"]) for w in head.errors] == [
        ("KeyError", "'x'"),
        ("ValueError", "v"),
    ]
    assert [t.error for t in (await app.aget_state(state.config)).tasks] == [
        "KeyError('x')",
        "ValueError('v')",
    ]


async def test_aput_writes_refuses_what_it_cannot_record(
    stored: BaseCheckpointer,
) -> None:
    app = pair(TIMELOOM, stored)
    await app.ainvoke({"log": []}, THREAD)
    state = await app.aget_state(THREAD)
    a = state.tasks[0].id
    with pytest.raises(ConfigError, match="is not a task of checkpoint"):
        await stored.aput_writes(state.config, [("log", ["x"])], "some-task")
    with pytest.raises(ConfigError, match="LangGraph's own bookkeeping"):
        await stored.aput_writes(state.config, [("branch:to:a", None)], a)
    with pytest.raises(ConfigError, match="asked 0 question"):
        await stored.aput_writes(state.config, [("__resume__", ["yes"])], a)
    with pytest.raises(ConfigError, match="checkpoint_id"):
        await stored.aput_writes(THREAD, [("log", ["x"])], a)
    elsewhere = {"configurable": {"thread_id": "2", "checkpoint_id": "nope"}}
    with pytest.raises(CheckpointNotFound):
        await stored.aput_writes(elsewhere, [("log", ["x"])], a)
    found = await stored.aget_tuple(state.config)
    assert found is not None
    assert found.pending_writes == [], "nothing was recorded"
