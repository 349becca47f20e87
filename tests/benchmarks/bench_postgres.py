"""Put latency of the Postgres checkpointer, next to LangGraph's AsyncPostgresSaver.

Run: ``python tests/benchmarks/bench_postgres.py [--steps N] [URL]``. Without a URL
(or ``TIMELOOM_TEST_POSTGRES_URL``) it starts a throwaway cluster from the local
binaries, the way the test fixtures do, with fsync on. Each saver writes one thread
whose message list grows by one item per step (a chat), committing one checkpoint
per step, each in a fresh database; it prints p50/p90/mean latency per commit and
the stored size.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import os
import shutil
import statistics
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import asyncpg

from timeloom.backends.postgres import PostgresCheckpointer
from timeloom.core.checkpoint import Checkpoint
from timeloom.core.ids import new_checkpoint_id


def _load_fixtures() -> ModuleType:
    # The cluster helpers live in tests/conftest.py; load that file as a plain module
    # (this is a script, so pytest is not importing it too).
    path = Path(__file__).resolve().parents[1] / "conftest.py"
    spec = importlib.util.spec_from_file_location("_timeloom_test_fixtures", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def _message(i: int) -> dict[str, Any]:
    # Random text: a repetitive one would let TOAST compression hide re-storing.
    role = "user" if i % 2 == 0 else "assistant"
    return {"role": role, "content": f"message {i}: {os.urandom(48).hex()}"}


async def _create_db(server_dsn: str) -> str:
    name = f"timeloom_bench_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(server_dsn)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return server_dsn.rsplit("/", 1)[0] + f"/{name}"


async def _db_size(dsn: str) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        size: int = await conn.fetchval(
            "SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class AS c "
            "WHERE c.relkind = 'r' AND c.relnamespace = 'public'::regnamespace"
        )
    finally:
        await conn.close()
    return size


async def _timed(steps: int, put: Callable[[int], Awaitable[None]]) -> list[float]:
    latencies = []
    for step in range(steps):
        start = time.perf_counter()
        await put(step)
        latencies.append((time.perf_counter() - start) * 1000)
    return latencies


async def bench_timeloom(dsn: str, steps: int) -> list[float]:
    """Commit ``steps`` checkpoints of a growing chat with PostgresCheckpointer."""
    async with PostgresCheckpointer(dsn) as saver:
        head: str | None = None
        messages: list[dict[str, Any]] = []

        async def put(step: int) -> None:
            nonlocal head
            messages.append(_message(step))
            cp = Checkpoint(
                id=new_checkpoint_id(),
                thread_id="bench",
                parent_id=head,
                parent_thread_id="bench" if head else None,
                step=step,
                source="loop",
                created_at=datetime.now(UTC),
                values={"messages": list(messages), "turn": step},
                next=("chat",),
                writes={"chat": {"messages": [messages[-1]]}},
                metadata={"run_id": "r1"},
            )
            await saver.put(cp, expected_head=head)
            head = cp.id

        return await _timed(steps, put)


async def bench_langgraph(dsn: str, steps: int) -> list[float]:
    """The same chat through LangGraph's AsyncPostgresSaver.aput."""
    from langgraph.checkpoint.base import empty_checkpoint
    from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver

    async with AsyncPostgresSaver.from_conn_string(dsn) as saver:
        await saver.setup()
        config: Any = {"configurable": {"thread_id": "bench", "checkpoint_ns": ""}}
        messages: list[dict[str, Any]] = []

        async def put(step: int) -> None:
            nonlocal config
            messages.append(_message(step))
            cp = empty_checkpoint()
            cp["channel_values"] = {"messages": list(messages), "turn": step}
            cp["channel_versions"] = {"messages": step + 1, "turn": step + 1}
            metadata: Any = {"source": "loop", "step": step, "run_id": "r1"}
            config = await saver.aput(
                config, cp, metadata, {"messages": step + 1, "turn": step + 1}
            )

        return await _timed(steps, put)


def _report(name: str, latencies: list[float], size: int) -> None:
    ordered = sorted(latencies)
    p90 = ordered[int(len(ordered) * 0.9)]
    print(
        f"{name:<32} p50 {statistics.median(ordered):6.3f} ms  p90 {p90:6.3f} ms  "
        f"mean {statistics.fmean(ordered):6.3f} ms  "
        f"size {size / 1024:8.0f} KiB ({size / len(ordered) / 1024:.1f} KiB/cp)"
    )


async def main(server_dsn: str, steps: int) -> None:
    """Run both savers on fresh databases of ``server_dsn`` and print the numbers."""
    print(f"{steps} checkpoints, one thread, message list growing by 1 per step")
    for name, bench in (
        ("timeloom PostgresCheckpointer", bench_timeloom),
        ("langgraph AsyncPostgresSaver", bench_langgraph),
    ):
        dsn = await _create_db(server_dsn)
        latencies = await bench(dsn, steps)
        _report(name, latencies, await _db_size(dsn))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "url", nargs="?", default=os.environ.get("TIMELOOM_TEST_POSTGRES_URL")
    )
    parser.add_argument("--steps", type=int, default=500)
    args = parser.parse_args()
    server = None
    if not args.url:
        fixtures = _load_fixtures()
        bindir = fixtures.find_pg_bindir()
        if bindir is None:
            raise SystemExit("No PostgreSQL binaries found; pass a postgresql:// URL.")
        server = fixtures._start_cluster(bindir)
        args.url = server.dsn
    try:
        asyncio.run(main(args.url, args.steps))
    finally:
        if server is not None:
            server.stop("immediate")
            shutil.rmtree(server.datadir.parent, ignore_errors=True)
