"""A deterministic, LLM-free support agent: the graph behind ``timeloom demo``.

classify -> lookup_order -> propose_refund -> approve (asks a human) -> issue_refund
(a payment tool that refuses refunds over its limit) -> notify. Questions that are
not refunds are answered directly. Open the demo database with this graph
(``--graph timeloom.tui.demo.agent:graph``) to resume, approve and branch runs.
"""

from __future__ import annotations

import operator
import re
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal, TypedDict

from timeloom.core import END, START, StateGraph, interrupt

REFUND_LIMIT = Decimal("500.00")
"""The payment tool refuses single refunds above this amount."""

ORDERS: dict[int, dict[str, Any]] = {
    1042: {
        "id": 1042,
        "item": "Espresso grinder",
        "total": Decimal("42.10"),
        "status": "delivered",
    },
    2077: {
        "id": 2077,
        "item": "Standing desk",
        "total": Decimal("389.00"),
        "status": "damaged",
    },
    3150: {
        "id": 3150,
        "item": "Road bike",
        "total": Decimal("749.00"),
        "status": "delivered",
    },
    4711: {
        "id": 4711,
        "item": "Fountain pen",
        "total": Decimal("18.50"),
        "status": "lost",
    },
}


class SupportState(TypedDict, total=False):
    """The agent's state: a chat transcript plus what the agent worked out."""

    messages: Annotated[list[dict[str, Any]], operator.add]
    request_id: uuid.UUID
    received_at: datetime
    category: str
    order: dict[str, Any] | None
    refund: dict[str, Any] | None
    approved: bool | None
    receipt: dict[str, Any] | None


def _say(content: str, **extra: Any) -> dict[str, Any]:
    return {"role": "assistant", "content": content, **extra}


def classify(state: SupportState) -> dict[str, Any]:
    """Sort the request into refund or question by keywords."""
    text = state["messages"][-1]["content"].lower()
    category = (
        "refund"
        if re.search(r"refund|broken|damaged|money back|lost", text)
        else "question"
    )
    return {
        "category": category,
        "messages": [_say(f"Classified as a {category} request.")],
    }


def route_request(state: SupportState) -> Literal["lookup_order", "answer"]:
    """Refunds need the order; anything else gets an answer."""
    return "lookup_order" if state["category"] == "refund" else "answer"


def answer(state: SupportState) -> dict[str, Any]:
    """Answer a question from the FAQ."""
    return {"messages": [_say("Orders ship within 2 business days. Anything else?")]}


def lookup_order(state: SupportState) -> dict[str, Any]:
    """Find the order number in the request and look it up."""
    match = re.search(r"\b(\d{4})\b", state["messages"][0]["content"])
    order = ORDERS.get(int(match.group(1))) if match else None
    if order is None:
        return {"order": None, "messages": [_say("I could not find that order.")]}
    return {
        "order": order,
        "messages": [_say(f"Found order {order['id']}: {order['item']}.")],
    }


def route_order(state: SupportState) -> Literal["propose_refund", "__end__"]:
    """Without an order there is nothing to refund."""
    return "propose_refund" if state.get("order") else END


def propose_refund(state: SupportState) -> dict[str, Any]:
    """Propose the full order total (half for items that arrived damaged)."""
    order = state["order"] or {}
    total: Decimal = order["total"]
    amount = (
        (total / 2).quantize(Decimal("0.01")) if order["status"] == "damaged" else total
    )
    refund = {"amount": amount, "currency": "EUR", "reason": order["status"]}
    return {
        "refund": refund,
        "messages": [_say(f"I propose a refund of {amount} EUR.")],
    }


def approve(state: SupportState) -> dict[str, Any]:
    """Ask a human to approve the refund; pauses the run until they answer."""
    refund = state["refund"] or {}
    decision = interrupt(
        {
            "question": "Approve this refund?",
            "amount": str(refund.get("amount")),
            "order": (state.get("order") or {}).get("id"),
            "answers": ["yes", "no"],
        }
    )
    approved = str(decision).strip().lower() in {"yes", "y", "approve", "true"}
    verdict = "approved" if approved else "declined"
    return {
        "approved": approved,
        "messages": [{"role": "human", "content": f"Refund {verdict}."}],
    }


def route_approval(state: SupportState) -> Literal["issue_refund", "notify"]:
    """Only approved refunds are paid."""
    return "issue_refund" if state.get("approved") else "notify"


class PaymentError(RuntimeError):
    """The payment tool refused the refund."""


def issue_refund(state: SupportState) -> dict[str, Any]:
    """Call the payment tool. It refuses refunds over :data:`REFUND_LIMIT`."""
    refund = state["refund"] or {}
    amount: Decimal = refund["amount"]
    if amount > REFUND_LIMIT:
        raise PaymentError(
            f"payment gateway rejected refund of {amount} EUR: over the {REFUND_LIMIT} EUR "
            f"single-refund limit"
        )
    order_id = (state.get("order") or {}).get("id")
    receipt = {
        "transaction": uuid.uuid5(uuid.NAMESPACE_URL, f"refund/{order_id}/{amount}"),
        "amount": amount,
        "at": datetime(2026, 11, 2, 9, 30, tzinfo=UTC),
    }
    return {"receipt": receipt, "messages": [_say(f"Refunded {amount} EUR.")]}


def notify(state: SupportState) -> dict[str, Any]:
    """Tell the customer the outcome."""
    receipt = state.get("receipt")
    if receipt:
        text = f"Your refund of {receipt['amount']} EUR is on its way."
    else:
        text = "Your refund request was declined. A colleague will follow up."
    return {"messages": [_say(text)]}


def build_graph() -> StateGraph:
    """Return the support agent's (uncompiled) graph."""
    graph = StateGraph(SupportState)
    for node in (
        classify,
        answer,
        lookup_order,
        propose_refund,
        approve,
        issue_refund,
        notify,
    ):
        graph.add_node(node)
    graph.add_edge(START, "classify")
    graph.add_conditional_edges("classify", route_request, ["lookup_order", "answer"])
    graph.add_edge("answer", END)
    graph.add_conditional_edges(
        "lookup_order", route_order, {"propose_refund": "propose_refund", END: END}
    )
    graph.add_edge("propose_refund", "approve")
    graph.add_conditional_edges("approve", route_approval, ["issue_refund", "notify"])
    graph.add_edge("issue_refund", "notify")
    graph.add_edge("notify", END)
    return graph


graph = build_graph()
"""The graph ``--graph timeloom.tui.demo.agent:graph`` loads (compiled on open)."""
