"""``durability="exit"``: a run stores one checkpoint, when it ends (done, failed or
paused), as the child of the checkpoint it started from.

Each scenario runs on LangGraph (in memory) and on Timeloom (each backend); the
histories must agree: which checkpoints exist, their step, ``next``, values, due
tasks and errors, and which is whose parent.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Annotated, Any, TypedDict

import pytest

from tests.core.sides import Api, run_on_both
from timeloom.core import START, StateGraph, interrupt
from timeloom.core.checkpointer import BaseCheckpointer


class State(TypedDict, total=False):
    log: Annotated[list[str], operator.add]


CFG: dict[str, Any] = {"configurable": {"thread_id": "t"}}


def chain(
    graph: Any, start: str, ask: Callable[[str], Any], names: str, failing: set[str]
) -> Any:
    """start -> names[0] -> names[1] ...; a node in ``failing`` raises once; a
    node named ``i`` asks a question and logs the answer."""

    def node(name: str) -> Callable[[State], dict[str, Any]]:
        def run(state: State) -> dict[str, Any]:
            if name in failing:
                failing.discard(name)
                raise RuntimeError(f"{name} failed")
            return {"log": [ask("?") if name == "i" else name]}

        return run

    for name in names:
        graph.add_node(name, node(name))
    graph.add_edge(start, names[0])
    for a, b in zip(names, names[1:], strict=False):
        graph.add_edge(a, b)
    return graph


def history(app: Any) -> list[tuple[Any, ...]]:
    """Each stored checkpoint, newest first: step, source, next, values, due tasks,
    whether one failed, and the index of its parent in the list (None: none)."""
    snaps = list(app.get_state_history(CFG))
    ids = [s.config["configurable"]["checkpoint_id"] for s in snaps]
    return [
        (
            s.metadata["step"],
            s.metadata["source"],
            s.next,
            s.values,
            len(s.tasks),
            any(t.error for t in s.tasks),
            ids.index(s.parent_config["configurable"]["checkpoint_id"])
            if s.parent_config
            else None,
        )
        for s in snaps
    ]


def both(
    stored: BaseCheckpointer,
    names: str,
    scenario: Callable[[Api, Callable[[set[str]], Any]], Any],
) -> None:
    """Run ``scenario`` (given the names and a function making the app of
    ``names``) on LangGraph, then on Timeloom; compare what each returned and the
    history each left."""

    def on(api: Api) -> Any:
        saver = api.checkpointer()

        def make(failing: set[str]) -> Any:
            builder = chain(
                api.StateGraph(State), api.START, api.interrupt, names, failing
            )
            return builder.compile(checkpointer=saver)

        returned = scenario(api, make)
        return returned, history(make(set()))

    run_on_both(on, stored)


def test_a_run_stores_only_its_last_checkpoint(stored: BaseCheckpointer) -> None:
    def scenario(api: Api, make: Callable[[set[str]], Any]) -> Any:
        app = make(set())
        first = app.invoke({"log": []}, CFG, durability="exit")
        return first, app.invoke({"log": []}, CFG, durability="exit")

    both(stored, "abc", scenario)
    assert [h[:3] for h in history_of(stored, "abc")] == [
        (8, "loop", ()),
        (3, "loop", ()),
    ]


def test_a_failed_run_stores_the_step_that_failed_with_its_error(
    stored: BaseCheckpointer,
) -> None:
    def scenario(api: Api, make: Callable[[set[str]], Any]) -> Any:
        with pytest.raises(RuntimeError, match="c failed"):
            make({"c"}).invoke({"log": []}, CFG, durability="exit")
        failed = history(make(set()))
        return failed, make(set()).invoke(None, CFG, durability="exit")

    both(stored, "abc", scenario)
    failed = history_of(stored, "abc")[-1]
    assert failed[:5] == (2, "loop", ("c",), {"log": ["a", "b"]}, 1)
    assert failed[5]  # its task shows the error


def test_a_paused_run_stores_the_interrupt_and_resumes(
    stored: BaseCheckpointer,
) -> None:
    def scenario(api: Api, make: Callable[[set[str]], Any]) -> Any:
        app = make(set())
        app.invoke({"log": []}, CFG, durability="exit")
        paused = history(app)
        return paused, app.invoke(api.Command(resume="x"), CFG, durability="exit")

    both(stored, "aic", scenario)
    assert [h[:3] for h in history_of(stored, "aic")] == [
        (3, "loop", ()),
        (1, "loop", ("i",)),
    ]


def history_of(stored: BaseCheckpointer, names: str) -> list[tuple[Any, ...]]:
    graph = chain(StateGraph(State), START, interrupt, names, set())
    return history(graph.compile(checkpointer=stored))
