"""Put latency of the Postgres checkpointer, next to LangGraph's AsyncPostgresSaver.

Run: ``python -m tests.benchmarks.bench_postgres [--steps N] [URL]``. Without a URL
(or ``TIMELOOM_TEST_POSTGRES_URL``) it starts a throwaway cluster from the local
binaries, the way the test fixtures do, with fsync on. Each saver writes one thread
whose message list grows by one item per step (a chat), committing one checkpoint
per step, each in a fresh database, the two taking turns; it prints p50/p90/mean
latency per commit and the stored size (tables, TOAST and indexes).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import asyncpg

from tests.benchmarks import pg_cluster
from timeloom.backends.layout import encode_values
from timeloom.backends.postgres import PostgresCheckpointer
from timeloom.backends.serde import Serializer
from timeloom.core.checkpoint import Checkpoint
from timeloom.core.ids import new_checkpoint_id


def _message(i: int) -> dict[str, Any]:
    # Random text: a repetitive one would let TOAST compression hide re-storing.
    role = "user" if i % 2 == 0 else "assistant"
    return {"role": role, "content": f"message {i}: {os.urandom(48).hex()}"}


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


Put = Callable[[int, list[dict[str, Any]]], Awaitable[None]]
Read = Callable[[], Awaitable[Any]]


@asynccontextmanager
async def timeloom_saver(dsn: str) -> AsyncIterator[tuple[Put, Read]]:
    """Commit one checkpoint of the chat per call, with PostgresCheckpointer."""
    async with PostgresCheckpointer(dsn) as saver:
        head: str | None = None

        async def put(step: int, messages: list[dict[str, Any]]) -> None:
            nonlocal head
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

        async def read() -> Any:
            return await saver.get("bench")

        yield put, read


@asynccontextmanager
async def langgraph_saver(dsn: str) -> AsyncIterator[tuple[Put, Read]]:
    """The same through LangGraph's AsyncPostgresSaver.aput."""
    from langgraph.checkpoint.base import empty_checkpoint
    from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver

    async with AsyncPostgresSaver.from_conn_string(dsn) as saver:
        await saver.setup()
        config: Any = {"configurable": {"thread_id": "bench", "checkpoint_ns": ""}}

        async def put(step: int, messages: list[dict[str, Any]]) -> None:
            nonlocal config
            cp = empty_checkpoint()
            cp["channel_values"] = {"messages": list(messages), "turn": step}
            cp["channel_versions"] = {"messages": step + 1, "turn": step + 1}
            metadata: Any = {"source": "loop", "step": step, "run_id": "r1"}
            config = await saver.aput(
                config, cp, metadata, {"messages": step + 1, "turn": step + 1}
            )

        async def read() -> Any:
            return await saver.aget_tuple(config)

        yield put, read


def _report(name: str, latencies: list[float], size: int | None = None) -> None:
    ordered = sorted(latencies)
    p90 = ordered[int(len(ordered) * 0.9)]
    stored = (
        f"  size {size / 1024:6.0f} KiB ({size / len(ordered) / 1024:.1f} KiB/cp)"
        if size is not None
        else ""
    )
    print(
        f"{name:<34} p50 {statistics.median(ordered):6.3f} ms  p90 {p90:6.3f} ms  "
        f"mean {statistics.fmean(ordered):6.3f} ms{stored}"
    )


async def main(server_dsn: str, steps: int) -> None:
    """Run both savers on fresh databases of ``server_dsn`` and print the numbers.

    The two savers take turns, step by step, so that a busy machine slows both
    alike.
    """
    print(f"{steps} checkpoints, one thread, message list growing by 1 per step")
    savers = {"timeloom PostgresCheckpointer": timeloom_saver}
    savers["langgraph AsyncPostgresSaver"] = langgraph_saver
    dsns = {name: pg_cluster.create_database(server_dsn, "bench") for name in savers}
    latencies: dict[str, list[float]] = {name: [] for name in savers}
    encode: list[float] = []
    serde = Serializer()
    reads: dict[str, list[float]] = {name: [] for name in savers}
    async with AsyncExitStack() as stack:
        opened = {
            name: await stack.enter_async_context(open_saver(dsns[name]))
            for name, open_saver in savers.items()
        }
        puts = {name: put for name, (put, _) in opened.items()}
        messages: list[dict[str, Any]] = []
        for step in range(steps):
            messages.append(_message(step))
            for name, put in puts.items():
                start = time.perf_counter()
                await put(step, messages)
                latencies[name].append((time.perf_counter() - start) * 1000)
            # The client-side share of a Timeloom put: laying out the values.
            start = time.perf_counter()
            encode_values({"messages": list(messages), "turn": step}, serde)
            encode.append((time.perf_counter() - start) * 1000)
        for _ in range(50):
            for name, (_, read) in opened.items():
                start = time.perf_counter()
                await read()
                reads[name].append((time.perf_counter() - start) * 1000)
    print("commit one checkpoint:")
    for name in savers:
        _report(name, latencies[name], await _db_size(dsns[name]))
    _report("  of which layout encode (client)", encode)
    print(f"read the latest checkpoint ({steps} messages), 50 times:")
    for name in savers:
        _report(name, reads[name])


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("url", nargs="?", help="a server's postgresql:// URL")
    parser.add_argument("--steps", type=int, default=500)
    args = parser.parse_args()
    with pg_cluster.postgres_server(args.url) as server_dsn:
        asyncio.run(main(server_dsn, args.steps))
