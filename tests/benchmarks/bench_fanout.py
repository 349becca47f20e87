"""The suite's ``fanout`` measurement: a map-reduce over 100 ``Send`` tasks.

One turn, on a fresh thread: the input, one router sending each of 100 items to
``work`` (a task each, with its own input), their results joined by a reducer,
then ``join`` once: three super-steps (``__start__``, the 100 sends, ``join``) and
four checkpoints on both systems. The systems take turns (a fresh shuffle each
turn) so load on the machine falls on both alike; the sync API, each system's
default durability. Run with ``python -m tests.benchmarks.suite --only fanout``.
"""

from __future__ import annotations

import operator
import statistics
from collections.abc import Callable
from contextlib import ExitStack
from typing import TYPE_CHECKING, Annotated, Any, TypedDict

from tests.benchmarks.workload import config, open_sync, p99, take_turns

if TYPE_CHECKING:
    from tests.benchmarks.suite import Run

SENDS = 100
STEPS = 3
"""Super-steps per turn: ``__start__`` (which sends), the sends, ``join``."""
SYSTEMS = ("timeloom", "langgraph")


class FanState(TypedDict, total=False):
    items: list[int]
    results: Annotated[list[int], operator.add]
    total: int


def fanout_graph(system: str, checkpointer: Any) -> Any:
    """The fan-out graph of ``system``, compiled with ``checkpointer`` (or None)."""
    if system == "timeloom":
        from timeloom.core import END, START, Send, StateGraph
    else:
        from langgraph.graph import END, START, StateGraph  # type: ignore[assignment]
        from langgraph.types import Send  # type: ignore[assignment]

    def work(item: int) -> dict[str, Any]:
        return {"results": [item * 2]}

    def join(state: FanState) -> dict[str, Any]:
        return {"total": sum(state["results"])}

    graph: Any = StateGraph(FanState)
    graph.add_node("work", work)
    graph.add_node("join", join)
    graph.add_conditional_edges(
        START, lambda state: [Send("work", i) for i in state["items"]]
    )
    graph.add_edge("work", "join")
    graph.add_edge("join", END)
    return graph.compile(checkpointer=checkpointer)


def bench_fanout(run: Run) -> None:
    """Per-turn, per-step and per-send time of the fan-out, on each backend."""
    for backend in run.backends("none", "memory", "sqlite", "postgres"):
        run.attempt(f"fanout {backend}", _fanout_case, run, backend)


def _fanout_case(run: Run, backend: str) -> None:
    turns = max(10, run.sizes.latency_turns // 4)
    locations = [run.location(s, backend, "fan") for s in SYSTEMS]
    with ExitStack() as stack:
        for location in locations:  # dropped last, after the savers close
            stack.callback(run.drop, backend, location)
        apps = [
            fanout_graph(
                system, stack.enter_context(open_sync(system, backend, loc)).saver
            )
            for system, loc in zip(SYSTEMS, locations, strict=True)
        ]
        items = {"items": list(range(SENDS)), "results": []}
        expected = sum(i * 2 for i in range(SENDS))

        def turn(app: Any) -> Callable[[str], None]:
            def once(thread: str) -> None:
                out = app.invoke(items, config(thread))
                assert out["total"] == expected, out  # both did the same work

            return once

        times = take_turns(turns, [turn(app) for app in apps], "fan")
    for system, samples in zip(SYSTEMS, times, strict=True):
        p50 = statistics.median(samples)
        run.emit(
            bench="fanout",
            system=system,
            backend=backend,
            sends=SENDS,
            turns=turns,
            per_turn_p50_ms=p50 * 1e3,
            per_turn_p99_ms=p99(samples) * 1e3,
            per_step_p50_ms=p50 * 1e3 / STEPS,
            per_send_p50_us=p50 * 1e6 / SENDS,
        )
