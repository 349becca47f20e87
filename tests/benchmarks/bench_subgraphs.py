"""The suite's ``subgraphs`` measurement: a chain of three nested subgraphs.

One turn, on a fresh thread: the root graph runs ``middle`` (a compiled graph as a
node), which runs ``inner``, which runs ``leaf``: each level records its input,
applies it and runs one node, so a turn is six super-steps and nine checkpoints on
both systems (three timelines: the thread's, ``middle:<task>`` and
``middle:<task>|inner:<task>``). The systems take turns (a fresh shuffle each
turn) so load on the machine falls on both alike; the sync API, each system's
default durability. Run with ``python -m tests.benchmarks.suite --only subgraphs``.
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

LEVELS = 3
STEPS = 2 * LEVELS
"""Super-steps per turn: each level's ``__start__`` and its one node."""
SYSTEMS = ("timeloom", "langgraph")


class ChainState(TypedDict, total=False):
    path: Annotated[list[str], operator.add]


def chain_graph(system: str, checkpointer: Any) -> Any:
    """The 3-level chain of ``system``, the root compiled with ``checkpointer``."""
    if system == "timeloom":
        from timeloom.core import START, StateGraph
    else:
        from langgraph.graph import START, StateGraph  # type: ignore[assignment]

    def leaf(state: ChainState) -> dict[str, Any]:
        return {"path": ["leaf"]}

    node: Any = leaf
    for name in ("leaf", "inner", "middle"):
        graph: Any = StateGraph(ChainState)
        graph.add_node(name, node)
        graph.add_edge(START, name)
        node = graph.compile(checkpointer=checkpointer if name == "middle" else None)
    return node


def bench_subgraphs(run: Run) -> None:
    """Per-turn and per-step time of the chain, on each backend."""
    for backend in run.backends("memory", "sqlite", "postgres"):
        run.attempt(f"subgraphs {backend}", _chain_case, run, backend)


def _chain_case(run: Run, backend: str) -> None:
    turns = max(20, run.sizes.latency_turns // 2)
    locations = [run.location(s, backend, "chain") for s in SYSTEMS]
    with ExitStack() as stack:
        for location in locations:  # dropped last, after the savers close
            stack.callback(run.drop, backend, location)
        apps = [
            chain_graph(
                system, stack.enter_context(open_sync(system, backend, loc)).saver
            )
            for system, loc in zip(SYSTEMS, locations, strict=True)
        ]

        def turn(app: Any) -> Callable[[str], None]:
            def once(thread: str) -> None:
                out = app.invoke({"path": []}, config(thread))
                assert out["path"][-1] == "leaf", out  # both did the same work

            return once

        times = take_turns(turns, [turn(app) for app in apps], "chain")
    for system, samples in zip(SYSTEMS, times, strict=True):
        p50 = statistics.median(samples)
        run.emit(
            bench="subgraphs",
            system=system,
            backend=backend,
            levels=LEVELS,
            turns=turns,
            per_turn_p50_ms=p50 * 1e3,
            per_turn_p99_ms=p99(samples) * 1e3,
            per_step_p50_ms=p50 * 1e3 / STEPS,
        )
