"""Runtime overhead per step: Timeloom vs LangGraph on the same 3-node graph.

Run: ``python -m tests.benchmarks.bench_runtime [--turns N]``. Prints a JSON line per
measurement and a table. The nodes do almost nothing, so the time is the runtime's
own overhead (plus, with a checkpointer, encoding and storing the state).
"""

from __future__ import annotations

import argparse
import json
import operator
import statistics
import time
from collections.abc import Callable
from typing import Annotated, Any, TypedDict

from timeloom.backends.memory import MemoryCheckpointer
from timeloom.core import END, START, StateGraph


class State(TypedDict):
    messages: Annotated[list[dict[str, Any]], operator.add]
    step: int
    data: dict[str, Any]


MESSAGE = "x" * 180  # with the keys, ~200 bytes per message


def node(name: str) -> Callable[[State], dict[str, Any]]:
    def run(state: State) -> dict[str, Any]:
        return {
            "messages": [{"role": name, "content": MESSAGE}],
            "step": state["step"] + 1,
        }

    return run


def build(graph_cls: Any, start: Any, end: Any) -> Any:
    graph = graph_cls(State)
    for name in ("a", "b", "c"):
        graph.add_node(name, node(name))
    graph.add_edge(start, "a")
    graph.add_edge("a", "b")
    graph.add_edge("b", "c")
    graph.add_edge("c", end)
    return graph


def measure(
    app: Any, turns: int, steps_per_turn: int, fresh_thread: bool
) -> dict[str, float]:
    """Run ``turns`` invokes; return per-step latency statistics in microseconds."""
    per_step = []
    for turn in range(turns):
        thread = f"t{turn}" if fresh_thread else "t"
        config = {"configurable": {"thread_id": thread}}
        start = time.perf_counter()
        app.invoke(
            {"messages": [{"role": "user", "content": MESSAGE}], "step": 0, "data": {}},
            config,
        )
        per_step.append((time.perf_counter() - start) / steps_per_turn * 1e6)
    per_step.sort()
    return {
        "p50_us": statistics.median(per_step),
        "p99_us": per_step[int(len(per_step) * 0.99) - 1],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--turns", type=int, default=200)
    args = parser.parse_args()
    rows: list[dict[str, Any]] = []

    def record(system: str, setup: str, stats: dict[str, float]) -> None:
        row = {"bench": "runtime", "system": system, "checkpointer": setup, **stats}
        rows.append(row)
        print(json.dumps(row))

    # Without a checkpointer: the pure runtime cost of 3 steps (fresh state each turn).
    record(
        "timeloom",
        "none",
        measure(build(StateGraph, START, END).compile(), args.turns, 3, True),
    )
    # With the memory checkpointer: one growing thread (5 checkpoints per turn, as
    # LangGraph: the input checkpoint, the input applied, the three steps).
    app = build(StateGraph, START, END).compile(checkpointer=MemoryCheckpointer())
    record("timeloom", "memory", measure(app, args.turns, 5, False))
    try:
        from langgraph.checkpoint.memory import InMemorySaver
        from langgraph.graph import END as LG_END
        from langgraph.graph import START as LG_START
        from langgraph.graph import StateGraph as LGStateGraph
    except ImportError:
        print("# langgraph is not installed: pip install langgraph to compare")
    else:
        lg = build(LGStateGraph, LG_START, LG_END)
        record("langgraph", "none", measure(lg.compile(), args.turns, 3, True))
        lg_app = build(LGStateGraph, LG_START, LG_END).compile(
            checkpointer=InMemorySaver()
        )
        record("langgraph", "memory", measure(lg_app, args.turns, 5, False))

    print(
        f"\n{'system':<10} {'checkpointer':<13} {'p50 µs/step':>12} {'p99 µs/step':>12}"
    )
    for row in rows:
        print(
            f"{row['system']:<10} {row['checkpointer']:<13} "
            f"{row['p50_us']:>12.1f} {row['p99_us']:>12.1f}"
        )


if __name__ == "__main__":
    main()
