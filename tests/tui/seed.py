"""Deterministic checkpoint data for the TUI's tests, snapshots and benchmarks.

Checkpoints are built directly (``Checkpoint`` + ``put()``), with ids and times that
are the same on every run, so that pictures of the app never change by accident.
The main scenario is a refund agent: a paused run, a failed one, a finished one, a
running one, a thread with two branches, and a fork into another thread.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from timeloom.core.checkpoint import Checkpoint, PendingWrite, Source
from timeloom.core.checkpointer import BaseCheckpointer

BASE_TIME = datetime(2026, 11, 2, 9, 0, 0, tzinfo=UTC)
"""The time of the first seeded checkpoint."""


@dataclass
class Receipt:
    """An application class the TUI has never heard of: it reads back inert."""

    number: str
    amount: Decimal
    lines: list[str] = field(default_factory=list)


def fixed_id(ms: int, n: int) -> str:
    """A valid, time-ordered UUIDv7 for Unix millisecond ``ms``, deterministic in ``n``."""
    rand_b = (n * 0x9E3779B97F4A7C15 + 0x632BE59BD9B4E019) & 0x3FFF_FFFF_FFFF_FFFF
    value = (ms << 80) | (0x7 << 76) | ((n & 0xFFF) << 64) | (0b10 << 62) | rand_b
    return str(uuid.UUID(int=value))


class Seeder:
    """Writes checkpoints with ids and times drawn from a fixed clock."""

    def __init__(
        self, checkpointer: BaseCheckpointer, start: datetime = BASE_TIME
    ) -> None:
        self.checkpointer = checkpointer
        self.clock = start
        self.count = 0
        self.heads: dict[str, str] = {}

    def tick(self, seconds: float = 1.5) -> datetime:
        """Advance the fixed clock and return it."""
        self.clock += timedelta(seconds=seconds)
        return self.clock

    async def put(
        self,
        thread_id: str,
        *,
        parent: Checkpoint | None,
        step: int,
        source: Source,
        values: Mapping[str, Any],
        writes: Mapping[str, Any] | None = None,
        next_nodes: tuple[str, ...] = (),
        metadata: Mapping[str, Any] | None = None,
        pending: tuple[PendingWrite, ...] = (),
        seconds: float = 1.5,
    ) -> Checkpoint:
        """Commit one checkpoint at the next tick of the clock; return it."""
        moment = self.tick(seconds)
        self.count += 1
        checkpoint = Checkpoint(
            id=fixed_id(int(moment.timestamp() * 1000), self.count),
            thread_id=thread_id,
            parent_id=parent.id if parent else None,
            parent_thread_id=parent.thread_id if parent else None,
            step=step,
            source=source,
            created_at=moment,
            values=dict(values),
            next=next_nodes,
            writes=dict(writes or {}),
            metadata=dict(metadata or {"user": "ana", "graph": "refund-agent"}),
        )
        await self.checkpointer.put(checkpoint, expected_head=self.heads.get(thread_id))
        self.heads[thread_id] = checkpoint.id
        if pending:
            await self.checkpointer.put_pending(thread_id, checkpoint.id, pending)
        return checkpoint


def _message(role: str, content: str) -> dict[str, str]:
    return {"role": role, "content": content}


NOTES = (
    "Customer called twice about this order.\n"
    "First call: the grinder makes a loud rattling noise after a week of use. "
    "Second call: asked whether a replacement would arrive before the holidays, "
    "otherwise a refund is preferred. Tone: polite but firm. "
    "Warranty: 2 years; the order is 9 days old, within the return window."
)


async def _refund_run(
    seed: Seeder, thread_id: str, order_id: int, *, stop: str, amount: str = "42.10"
) -> dict[str, Checkpoint]:
    """input → classify → lookup_order → propose_refund → approve (as far as ``stop``)."""
    messages = [_message("user", f"I want a refund for order {order_id}.")]
    values: dict[str, Any] = {"messages": list(messages), "order": None, "refund": None}
    cps: dict[str, Checkpoint] = {}
    cps["input"] = await seed.put(
        thread_id,
        parent=None,
        step=-1,
        source="input",
        values=values,
        writes={"__input__": {"messages": list(messages)}},
        next_nodes=("classify",),
    )
    messages.append(_message("assistant", "Let me look at that refund request."))
    values = {**values, "messages": list(messages), "intent": "refund"}
    cps["classify"] = await seed.put(
        thread_id,
        parent=cps["input"],
        step=0,
        source="loop",
        values=values,
        writes={"classify": {"intent": "refund", "messages": messages[-1:]}},
        next_nodes=("lookup_order",),
    )
    if stop == "classify":
        return cps
    order = {
        "id": order_id,
        "item": "Coffee grinder",
        "amount": Decimal(amount),
        "placed_at": datetime(2026, 10, 24, 17, 5, 9, tzinfo=UTC),
        "customer_id": uuid.UUID(int=order_id * 7919),
        "invoice_pdf": bytes(range(256)) * 9,
        "notes": NOTES,
    }
    values = {**values, "order": order}
    cps["lookup_order"] = await seed.put(
        thread_id,
        parent=cps["classify"],
        step=1,
        source="loop",
        values=values,
        writes={"lookup_order": {"order": order}},
        next_nodes=("propose_refund",),
    )
    if stop == "lookup_order":
        return cps
    refund = {"amount": Decimal(amount), "currency": "EUR", "reason": "defective"}
    messages.append(_message("assistant", f"I can refund {amount} EUR."))
    values = {**values, "refund": refund, "messages": list(messages)}
    cps["propose_refund"] = await seed.put(
        thread_id,
        parent=cps["lookup_order"],
        step=2,
        source="loop",
        values=values,
        writes={"propose_refund": {"refund": refund, "messages": messages[-1:]}},
        next_nodes=("approve",),
    )
    return cps


async def seed_refund_agent(
    checkpointer: BaseCheckpointer, *, extra_threads: int = 8
) -> Seeder:
    """Write the refund-agent scenario; return the seeder (its ``heads`` name the threads).

    Threads: ``refund-42`` (paused at an approval), ``refund-42-b`` (a fork of
    refund-42 with an edited amount, done), ``refund-77`` (declined, then reconsidered
    from an earlier checkpoint: two branches), ``order-9`` (failed), ``order-7`` (done),
    ``chat-3`` (running), and ``batch-NN`` threads (done) to fill the list.
    """
    seed = Seeder(checkpointer)
    for n in range(extra_threads):
        cps = await _refund_run(seed, f"batch-{n:02d}", 500 + n, stop="classify")
        await seed.put(
            f"batch-{n:02d}",
            parent=cps["classify"],
            step=1,
            source="loop",
            values={"messages": [], "intent": "question", "answer": "Tuesday."},
            writes={"answer": {"answer": "Tuesday."}},
            seconds=30,
        )

    cps = await _refund_run(seed, "order-7", 7, stop="classify")
    await seed.put(
        "order-7",
        parent=cps["classify"],
        step=1,
        source="loop",
        values={**cps["classify"].values, "answer": "It ships on Tuesday."},
        writes={"answer": {"answer": "It ships on Tuesday."}},
    )

    cps = await _refund_run(seed, "order-9", 9, stop="lookup_order")
    error = {
        "type": "PaymentError",
        "message": "The payment provider refused 749.00 EUR: over the limit",
        "traceback": (
            "Traceback (most recent call last):\n"
            '  File "agent.py", line 153, in issue_refund\n'
            "    receipt = payments.refund(order, amount)\n"
            '  File "payments.py", line 88, in refund\n'
            "    raise PaymentError(msg)\n"
            "PaymentError: The payment provider refused 749.00 EUR: over the limit\n"
        ),
    }
    await checkpointer.put_pending(
        "order-9",
        cps["lookup_order"].id,
        [PendingWrite("issue_refund", "error", error)],
    )

    # Two branches in one thread: declined, then edited from the proposal and approved.
    cps = await _refund_run(
        seed, "refund-77", 77, stop="propose_refund", amount="18.50"
    )
    declined = await seed.put(
        "refund-77",
        parent=cps["propose_refund"],
        step=3,
        source="loop",
        values={**cps["propose_refund"].values, "approved": False},
        writes={"approve": {"approved": False}},
        next_nodes=("notify",),
    )
    await seed.put(
        "refund-77",
        parent=declined,
        step=4,
        source="loop",
        values={**declined.values, "notified": True},
        writes={"notify": {"notified": True}},
    )
    edited_refund = {
        "amount": Decimal("12.00"),
        "currency": "EUR",
        "reason": "re-checked",
    }
    edited = await seed.put(
        "refund-77",
        parent=cps["propose_refund"],
        step=3,
        source="update",
        values={**cps["propose_refund"].values, "refund": edited_refund},
        writes={"propose_refund": {"refund": edited_refund}},
        next_nodes=("approve",),
        metadata={"user": "ana", "graph": "refund-agent", "edited_by": "ana"},
    )
    approved = await seed.put(
        "refund-77",
        parent=edited,
        step=4,
        source="loop",
        values={**edited.values, "approved": True},
        writes={"approve": {"approved": True}},
        next_nodes=("issue_refund",),
    )
    receipt = Receipt("R-0077", Decimal("12.00"), ["grinder", "shipping"])
    await seed.put(
        "refund-77",
        parent=approved,
        step=5,
        source="loop",
        values={**approved.values, "receipt": receipt},
        writes={"issue_refund": {"receipt": receipt}},
    )

    cps = await _refund_run(seed, "chat-3", 3, stop="lookup_order")

    # Paused at the approval, and a fork of it into another thread.
    cps = await _refund_run(seed, "refund-42", 42, stop="propose_refund")
    await checkpointer.put_pending(
        "refund-42",
        cps["propose_refund"].id,
        [
            PendingWrite(
                "approve",
                "interrupt",
                {
                    "id": "intr-42",
                    "value": {"question": "Refund 42.10 EUR?"},
                    "when": "during",
                },
            )
        ],
    )
    forked_refund = {"amount": Decimal("30.00"), "currency": "EUR", "reason": "partial"}
    fork = await seed.put(
        "refund-42-b",
        parent=cps["lookup_order"],
        step=2,
        source="fork",
        values={**cps["lookup_order"].values, "refund": forked_refund},
        writes={"propose_refund": {"refund": forked_refund}},
        next_nodes=("approve",),
    )
    approved = await seed.put(
        "refund-42-b",
        parent=fork,
        step=3,
        source="loop",
        values={**fork.values, "approved": True},
        writes={"approve": {"approved": True}},
        next_nodes=("issue_refund",),
    )
    await seed.put(
        "refund-42-b",
        parent=approved,
        step=4,
        source="loop",
        values={**approved.values, "receipt": {"number": "R-0042", "paid": True}},
        writes={"issue_refund": {"receipt": {"number": "R-0042", "paid": True}}},
    )
    return seed


async def seed_long_thread(
    checkpointer: BaseCheckpointer,
    thread_id: str,
    count: int,
    *,
    seed: Seeder | None = None,
) -> Seeder:
    """Write a linear thread of ``count`` checkpoints with small, growing values."""
    seed = seed or Seeder(checkpointer)
    parent: Checkpoint | None = None
    for step in range(-1, count - 1):
        parent = await seed.put(
            thread_id,
            parent=parent,
            step=step,
            source="input" if step < 0 else "loop",
            values={"counter": step, "log": f"step {step}"},
            writes={"tick": {"counter": step}},
            next_nodes=("tick",),
            seconds=0.25,
        )
    return seed


SUPPORT = "support-7"
"""The thread of :func:`seed_subgraphs`."""
RESEARCH = f"{SUPPORT}|research:6b1d52e0-3f2a-5c41-9e07-8d2f4a1c7b90"
"""Its subgraph timeline: the ``research`` node's graph."""
SEARCH = f"{RESEARCH}|search:0c9e7f13-5a86-5d2b-a4f1-3e6b9d0c2a57"
"""The ``search`` node's graph, inside ``research``."""


async def _linear(
    seed: Seeder,
    timeline: str,
    parents: Mapping[str, str],
    steps: list[tuple[str, dict[str, Any], tuple[str, ...]]],
) -> dict[str, Checkpoint]:
    """One timeline of ``(node, values, next)`` steps from its input (step -1);
    a subgraph's checkpoints name the checkpoints they ran from (``parents``)."""
    out: dict[str, Checkpoint] = {}
    parent: Checkpoint | None = None
    for step, (node, values, due) in enumerate(steps, start=-1):
        parent = await seed.put(
            timeline,
            parent=parent,
            step=step,
            source="input" if step < 0 else "loop",
            values=values,
            writes={node: values} if step >= 0 else {"__input__": values},
            next_nodes=due,
            metadata={
                "graph": "support-agent",
                **({"parents": parents} if parents else {}),
            },
            seconds=0.5,
        )
        out[node] = parent
    return out


async def seed_subgraphs(checkpointer: BaseCheckpointer) -> Seeder:
    """Write a support agent whose ``research`` node is a subgraph (its own
    ``search`` node one too), in the timelines Timeloom's runtime writes: thread
    :data:`SUPPORT`, subgraph timelines :data:`RESEARCH` and :data:`SEARCH`, each
    subgraph checkpoint naming in ``metadata["parents"]`` the checkpoints it ran from.
    """
    seed = Seeder(checkpointer, start=BASE_TIME + timedelta(hours=2))
    question = {"question": "Why was order 42 charged twice?"}
    root = await _linear(
        seed,
        SUPPORT,
        {},
        [
            ("__input__", question, ("__start__",)),
            ("__start__", question, ("triage",)),
            ("triage", {**question, "topic": "billing"}, ("research",)),
        ],
    )
    ran_from = root["triage"]
    research = await _linear(
        seed,
        RESEARCH,
        {"": ran_from.id},
        [
            ("__input__", {"topic": "billing"}, ("__start__",)),
            ("__start__", {"topic": "billing"}, ("plan",)),
            (
                "plan",
                {"topic": "billing", "queries": ["order 42 payments"]},
                ("search",),
            ),
        ],
    )
    found = {"hits": ["pay_1 captured", "pay_2 captured (retry)"]}
    await _linear(
        seed,
        SEARCH,
        {"": ran_from.id, RESEARCH.split("|", 1)[1]: research["plan"].id},
        [
            ("__input__", {"queries": ["order 42 payments"]}, ("__start__",)),
            ("__start__", {"queries": ["order 42 payments"]}, ("query",)),
            ("query", found, ()),
        ],
    )
    summary = {"finding": "a retried payment was captured twice"}
    for node, values, due in (
        ("search", found, ("summarize",)),
        ("summarize", summary, ()),
    ):
        research[node] = await seed.put(
            RESEARCH,
            parent=research[list(research)[-1]],
            step=research[list(research)[-1]].step + 1,
            source="loop",
            values=values,
            writes={node: values},
            next_nodes=due,
            metadata={"graph": "support-agent", "parents": {"": ran_from.id}},
            seconds=0.5,
        )
    research_done = await seed.put(
        SUPPORT,
        parent=ran_from,
        step=2,
        source="loop",
        values={**ran_from.values, **summary},
        writes={"research": summary},
        next_nodes=("answer",),
        seconds=0.5,
    )
    await seed.put(
        SUPPORT,
        parent=research_done,
        step=3,
        source="loop",
        values={**research_done.values, "answer": "Refunded the duplicate charge."},
        writes={"answer": {"answer": "Refunded the duplicate charge."}},
        seconds=0.5,
    )
    return seed


async def write_sqlite(path: str, *, long_thread: int = 0) -> None:
    """Write the refund-agent scenario (and optionally a long thread) to a SQLite file."""
    from timeloom.backends.sqlite import SqliteCheckpointer

    async with SqliteCheckpointer(path) as checkpointer:
        seeder = await seed_refund_agent(checkpointer)
        if long_thread:
            await seed_long_thread(checkpointer, "long", long_thread, seed=seeder)


if __name__ == "__main__":  # python -m tests.tui.seed demo.db [LONG]: a file to try
    import asyncio
    import sys

    asyncio.run(
        write_sqlite(
            sys.argv[1], long_thread=int(sys.argv[2]) if len(sys.argv) > 2 else 0
        )
    )
