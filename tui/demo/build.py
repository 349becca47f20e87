"""Build the demo database: the support agent run through several threads.

The threads show every state a real database holds: a finished run, a run paused
at the human approval, a run whose payment tool failed, a declined refund that was
reconsidered (two branches inside one thread), a plain question, and a fork of the
failed run with an edited amount that then succeeded.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from timeloom.core import Command, CompiledGraph
from timeloom.core.checkpointer import BaseCheckpointer
from timeloom.tui.demo.agent import PaymentError, build_graph

REQUESTS: dict[str, str] = {
    "refund-1042": "Hi, I'd like a refund for order 1042, the grinder is too loud.",
    "question-88": "When will my order ship?",
    "refund-2077": "My desk from order 2077 arrived damaged. Refund please?",
    "refund-3150": "Please refund order 3150, I never rode the bike.",
    "refund-4711": "Order 4711 was lost in the mail, money back please.",
}
FORK = "refund-3150-partial"
"""The fork of refund-3150 with the amount edited down to the payment limit."""


def default_path() -> Path:
    """Where ``timeloom demo`` keeps its database (``$XDG_DATA_HOME/timeloom``)."""
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "timeloom" / "demo.db"


def _config(thread_id: str, checkpoint_id: str | None = None) -> dict[str, Any]:
    configurable: dict[str, Any] = {"thread_id": thread_id}
    if checkpoint_id:
        configurable["checkpoint_id"] = checkpoint_id
    return {
        "configurable": configurable,
        "metadata": {"user": "demo", "graph": "support-agent"},
    }


def _input(thread_id: str, number: int) -> dict[str, Any]:
    return {
        "messages": [{"role": "user", "content": REQUESTS[thread_id]}],
        "request_id": uuid.uuid5(uuid.NAMESPACE_URL, f"timeloom-demo/{thread_id}"),
        "received_at": datetime(2026, 11, 2, 9, number, tzinfo=UTC),
        "order": None,
        "refund": None,
        "approved": None,
        "receipt": None,
    }


async def build_demo(
    checkpointer: BaseCheckpointer, progress: Callable[[str], None] | None = None
) -> CompiledGraph:
    """Run the demo scenarios into ``checkpointer``; return the compiled graph.

    Args:
        checkpointer: an empty, writable checkpointer.
        progress: called with a line of text as each thread is written.
    """
    app = build_graph().compile(checkpointer=checkpointer, name="support-agent")
    say = progress or (lambda _line: None)

    # Finished: approved and paid.
    await app.ainvoke(_input("refund-1042", 1), _config("refund-1042"))
    await app.ainvoke(Command(resume="yes"), _config("refund-1042"))
    say("refund-1042   done (approved and refunded)")

    # Finished: a question, no refund.
    await app.ainvoke(_input("question-88", 2), _config("question-88"))
    say("question-88   done (answered)")

    # Paused: waiting for a human to approve.
    await app.ainvoke(_input("refund-2077", 3), _config("refund-2077"))
    say("refund-2077   paused at the approval")

    # Failed: the payment tool refuses 749 EUR.
    await app.ainvoke(_input("refund-3150", 4), _config("refund-3150"))
    try:
        await app.ainvoke(Command(resume="yes"), _config("refund-3150"))
    except PaymentError:  # recorded on the checkpoint: the thread shows as failed
        pass
    say("refund-3150   failed at issue_refund (over the payment limit)")

    # Declined, then reconsidered from the proposal: two branches in one thread.
    await app.ainvoke(_input("refund-4711", 5), _config("refund-4711"))
    await app.ainvoke(Command(resume="no"), _config("refund-4711"))
    proposal = await _checkpoint_written_by(app, "refund-4711", "propose_refund")
    edited = await app.aupdate_state(
        _config("refund-4711", proposal),
        {
            "refund": {
                "amount": Decimal("18.50"),
                "currency": "EUR",
                "reason": "lost, re-checked",
            }
        },
        as_node="propose_refund",
    )
    await app.ainvoke(None, edited)
    await app.ainvoke(Command(resume="yes"), _config("refund-4711"))
    say("refund-4711   declined, then reconsidered and refunded (two branches)")

    # Forked: refund-3150 from its proposal, with the amount cut to the limit.
    proposal = await _checkpoint_written_by(app, "refund-3150", "propose_refund")
    await app.afork(
        _config("refund-3150", proposal),
        FORK,
        {
            "refund": {
                "amount": Decimal("500.00"),
                "currency": "EUR",
                "reason": "partial",
            }
        },
        as_node="propose_refund",
    )
    await app.ainvoke(None, _config(FORK))
    await app.ainvoke(Command(resume="yes"), _config(FORK))
    say(f"{FORK}  fork of refund-3150 with an edited amount, refunded")
    return app


async def _checkpoint_written_by(app: CompiledGraph, thread_id: str, node: str) -> str:
    """The id of the oldest checkpoint of ``thread_id`` that ``node`` wrote."""
    assert app.checkpointer is not None
    found = None
    async for meta in app.checkpointer.summaries(thread_id):  # newest first
        if node in meta.nodes:
            found = meta.id
    if found is None:
        raise LookupError(f"{node} never ran in {thread_id}")
    return str(found)
