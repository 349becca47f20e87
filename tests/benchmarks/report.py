"""Pair the suite's rows (Timeloom vs LangGraph), print the table, judge the targets.

Every comparison is stated as Timeloom's *advantage*: how many times lower its latency
or size is, or how many times higher its throughput (above 1: Timeloom does better).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Metric:
    """One compared figure of a benchmark."""

    bench: str
    key: tuple[str, ...]
    """Fields that, with ``bench``, identify one case (system aside)."""
    field: str
    unit: str
    higher_is_better: bool = False
    variant: str | None = None
    """A field of LangGraph's rows that tells its variants apart (shown in the case)."""


_LAT = ("backend", "mode", "synchronous", "durability")  # like with like
METRICS = (
    Metric("latency", _LAT, "per_turn_p50_ms", "ms"),
    Metric("latency", _LAT, "per_turn_p99_ms", "ms"),
    Metric("latency", _LAT, "per_checkpoint_p50_ms", "ms"),
    Metric("latency", _LAT, "per_checkpoint_p99_ms", "ms"),
    Metric("storage", ("backend", "turns"), "bytes_per_checkpoint", "B"),
    Metric("storage", ("backend", "turns"), "net_bytes_per_checkpoint", "B"),
    Metric("storage", ("backend", "turns"), "bytes_per_turn", "B"),
    Metric("history", ("backend",), "list_all_p50_ms", "ms"),
    Metric("history", ("backend",), "get_p50_ms", "ms"),
    Metric("history", ("backend",), "get_p99_ms", "ms"),
    Metric("threads", ("backend",), "latest_p50_ms", "ms"),
    Metric("threads", ("backend",), "list_threads_p50_ms", "ms"),
    Metric("threads", ("backend",), "count_threads_p50_ms", "ms"),
    Metric("threads", ("backend",), "populate_checkpoints_per_s", "cp/s", True),
    Metric("fanout", ("backend",), "per_turn_p50_ms", "ms"),
    Metric("fanout", ("backend",), "per_step_p50_ms", "ms"),
    Metric("fanout", ("backend",), "per_send_p50_us", "us"),
    Metric("subgraphs", ("backend",), "per_turn_p50_ms", "ms"),
    Metric("subgraphs", ("backend",), "per_step_p50_ms", "ms"),
    Metric(
        "concurrency",
        ("how", "durability"),
        "checkpoints_per_s",
        "cp/s",
        True,
        "connections",
    ),
    Metric(
        "concurrency",
        ("how", "durability"),
        "turns_per_s",
        "turns/s",
        True,
        "connections",
    ),
)


def _find(rows: Iterable[dict[str, Any]], system: str, **match: Any) -> Any:
    for row in rows:
        if row.get("system") == system and all(
            row.get(k) == v for k, v in match.items()
        ):
            return row
    return None


def advantage(metric: Metric, timeloom: float, langgraph: float) -> float:
    """How many times better Timeloom does on ``metric`` (above 1: better)."""
    if metric.higher_is_better:
        return timeloom / langgraph if langgraph else float("inf")
    return langgraph / timeloom if timeloom else float("inf")


def pairs(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every (case, metric) that both systems measured, with Timeloom's advantage."""
    found = []
    for metric in METRICS:
        for tl in rows:
            if tl.get("bench") != metric.bench or tl.get("system") != "timeloom":
                continue
            match = {k: tl.get(k) for k in metric.key}
            candidates = [
                r
                for r in rows
                if r.get("bench") == metric.bench
                and r.get("system") == "langgraph"
                and all(r.get(k) == v for k, v in match.items())
            ]
            for lg in candidates:
                case = ", ".join(
                    f"{k}={tl.get(k)}" for k in metric.key if tl.get(k) is not None
                )
                if metric.variant is not None:
                    case += f" | LG {metric.variant}={lg.get(metric.variant)}"
                found.append(
                    {
                        "bench": metric.bench,
                        "case": case,
                        "metric": metric.field,
                        "unit": metric.unit,
                        "timeloom": tl[metric.field],
                        "langgraph": lg[metric.field],
                        "advantage": advantage(
                            metric, tl[metric.field], lg[metric.field]
                        ),
                    }
                )
    return found


def _ratio(rows: list[dict[str, Any]], metric_field: str, **match: Any) -> float | None:
    tl = _find(rows, "timeloom", **match)
    lg = _find(rows, "langgraph", **match)
    if tl is None or lg is None:
        return None
    metric = next(m for m in METRICS if m.field == metric_field)
    return advantage(metric, tl[metric_field], lg[metric_field])


def evaluate_targets(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Judge each target the issue sets, on this run's rows (MET/MISSED)."""
    targets: list[dict[str, Any]] = []

    def judge(
        name: str,
        case: str,
        measured: float | None,
        goal: float,
        bound: float | None = None,
    ) -> None:
        if measured is None:
            return
        row = {
            "bench": "target",
            "target": name,
            "case": case,
            "measured": measured,
            "goal": goal,
            "status": "MET" if measured >= goal else "MISSED",
        }
        if bound is not None:
            # The best Timeloom could do here: per checkpoint one bare durable
            # commit plus one step of its runtime, and nothing else.
            row["reachable_at_most"] = bound
            if measured < goal and bound < goal:
                row["status"] = "MISSED (unreachable here)"
        targets.append(row)

    for backend, mode, sync in (
        ("sqlite", "sync", "NORMAL"),
        ("sqlite", "async", "NORMAL"),
        ("sqlite", "sync", "FULL"),
        ("postgres", "async", None),
        ("postgres", "sync", None),
    ):
        case = f"{backend} {mode}" + (f" synchronous={sync}" if sync else "")
        floor = _floor_ms(rows, backend, sync)
        runtime = _find(rows, "timeloom", bench="latency", backend="none", mode=mode)
        if floor is not None and runtime is not None:
            # A checkpoint costs at least one step of the runtime plus one commit.
            floor += runtime["per_step_p50_ms"]
        for durability in ("sync", "async"):
            label = (
                "LangGraph's default" if durability == "async" else "Timeloom's default"
            )
            lg = _find(
                rows,
                "langgraph",
                bench="latency",
                backend=backend,
                mode=mode,
                synchronous=sync,
                durability=durability,
            )
            # The bound counts one commit per checkpoint: async batches commits.
            bound = floor if durability == "sync" else None
            judge(
                "per-checkpoint p50 latency >=5x lower",
                f"{case}; both durability={durability} ({label})",
                _ratio(
                    rows,
                    "per_checkpoint_p50_ms",
                    bench="latency",
                    backend=backend,
                    mode=mode,
                    synchronous=sync,
                    durability=durability,
                ),
                5.0,
                lg["per_checkpoint_p50_ms"] / bound if lg and bound else None,
            )
    for mode in ("sync", "async"):
        judge(
            "runtime alone no slower (per turn p50)",
            f"no checkpointer, {mode}",
            _ratio(
                rows,
                "per_turn_p50_ms",
                bench="latency",
                backend="none",
                mode=mode,
                synchronous=None,
            ),
            1.0,
        )
    storage = [r for r in rows if r.get("bench") == "storage"]
    for backend in ("sqlite", "postgres"):
        turns = sorted({r["turns"] for r in storage if r["backend"] == backend})
        if not turns:
            continue
        judge(
            "bytes per checkpoint >=20x lower",
            f"{backend} after {turns[-1]} turns",
            _ratio(
                rows,
                "bytes_per_checkpoint",
                bench="storage",
                backend=backend,
                turns=turns[-1],
            ),
            20.0,
        )
        first = _find(storage, "timeloom", backend=backend, turns=turns[0])
        last = _find(storage, "timeloom", backend=backend, turns=turns[-1])
        if first is not None and last is not None:
            # Goal: last <= 1.5 x first, stated as first*1.5/last >= 1.
            growth = (
                last["net_bytes_per_checkpoint"] / first["net_bytes_per_checkpoint"]
            )
            judge(
                f"linear growth: {turns[-1]}-turn bytes/cp within 1.5x of {turns[0]}-turn"
                f" (net of empty schema; growth {growth:.2f}x)",
                backend,
                1.5 / growth,
                1.0,
            )
    for how in ("asyncio", "processes"):
        for durability in ("sync", "async"):
            judge(
                "Postgres concurrent throughput >=3x higher",
                f"{how}, both durability={durability}, pools of 10",
                _ratio(
                    rows,
                    "checkpoints_per_s",
                    bench="concurrency",
                    how=how,
                    durability=durability,
                    connections="pool of 10 per process",
                ),
                3.0,
            )
    return targets


def _floor_ms(
    rows: list[dict[str, Any]], backend: str, sync: str | None
) -> float | None:
    """The p50 of one bare durable commit measured for this backend and setting."""
    wanted = f"synchronous={sync}" if backend == "sqlite" else "synchronous_commit=on"
    for row in rows:
        if (
            row.get("bench") == "floor"
            and row.get("backend") == backend
            and str(row.get("what", "")).endswith(wanted)
        ):
            return float(row["commit_p50_ms"])
    return None


def _fmt(value: float, unit: str) -> str:
    if unit == "B":
        return f"{value / 1024:,.1f} KiB" if value >= 10_240 else f"{value:,.0f} B"
    if unit == "ms":
        return f"{value * 1000:,.0f} µs" if value < 1 else f"{value:,.2f} ms"
    return f"{value:,.0f} {unit}"


def print_summary(rows: list[dict[str, Any]], targets: list[dict[str, Any]]) -> None:
    """Print the comparison table and the targets."""
    machine = next((r for r in rows if r.get("bench") == "machine"), {})
    print()
    print(
        "Machine: "
        + ", ".join(
            f"{k}={machine[k]}"
            for k in (
                "date",
                "nproc",
                "cpu",
                "python",
                "sqlite",
                "postgres",
                "langgraph",
            )
            if k in machine
        )
    )
    end = next((r for r in rows if r.get("bench") == "end"), {})
    print(
        "Load average (1 min; the machine is shared): "
        f"{machine.get('load_average_1m_at_start', '?')} at start, "
        f"{end.get('load_average_1m_at_end', '?')} at end"
    )
    print(f"SQLite durability: {machine.get('sqlite_durability', '?')}")
    if "postgres_fsync" in machine:
        print(
            f"Postgres durability: fsync={machine['postgres_fsync']}, "
            f"synchronous_commit={machine['postgres_synchronous_commit']} (both sides)"
        )
    print(
        "Advantage = how many times better Timeloom does (LangGraph/Timeloom for "
        "times and sizes, Timeloom/LangGraph for throughput).\n"
    )
    header = (
        f"{'bench':<12} {'case':<64} {'metric':<27} {'Timeloom':>12} "
        f"{'LangGraph':>12} {'advantage':>9}"
    )
    print(header)
    print("-" * len(header))
    for pair in pairs(rows):
        print(
            f"{pair['bench']:<12} {pair['case'][:64]:<64} {pair['metric']:<27} "
            f"{_fmt(pair['timeloom'], pair['unit']):>12} "
            f"{_fmt(pair['langgraph'], pair['unit']):>12} {pair['advantage']:>8.2f}x"
        )
    floors = [r for r in rows if r.get("bench") == "floor"]
    if floors:
        print("\nFloor: one durable commit, no checkpointer (each checkpoint pays one)")
        for floor in floors:
            print(
                f"  {floor['what']:<58} p50 {_fmt(floor['commit_p50_ms'], 'ms'):>9}"
                f"  p99 {_fmt(floor['commit_p99_ms'], 'ms'):>9}"
            )
    errors = [r for r in rows if r.get("bench") == "error"]
    if errors:
        print("\nFailed cases (no numbers for these)")
        for error in errors:
            print(f"  {error['case']}: {error['error'][:200]}")
    print("\nTargets")
    for target in targets:
        bound = target.get("reachable_at_most")
        print(
            f"  {target['status']:<7} {target['target']} [{target['case']}]: "
            f"measured {target['measured']:.2f}x, goal {target['goal']:.2f}x"
            + (
                f" (at most {bound:.1f}x reachable here: LangGraph's time per "
                "checkpoint / (one bare commit + one runtime step))"
                if bound is not None
                else ""
            )
        )
