"""How long the codec takes on the hot path: a 200-message chat state.

The runtime encodes the whole state at every step, so this is paid per step.
Run: ``python tests/benchmarks/bench_serde.py``. Prints microseconds per call (best
of several repeats) next to bare ``msgpack.packb``/``unpackb`` for reference. The
object rows register their classes, so reading revives them.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import timeit
import uuid
from collections.abc import Callable
from functools import partial
from typing import Any

import msgpack
import pydantic

from timeloom.backends.serde import Serializer

MESSAGES = 200
CONTENT = "All work and no play makes Jack a dull boy. " * 5  # ~220 bytes


def chat_state() -> dict[str, Any]:
    """200 messages of role/content, as a LangGraph-style chat state holds them."""
    roles = ("user", "assistant")
    messages = [
        {"role": roles[i % 2], "content": f"{i}: {CONTENT}"} for i in range(MESSAGES)
    ]
    return {"messages": messages, "step": MESSAGES}


def rich_state() -> dict[str, Any]:
    """The same chat with an id, a timestamp and a tuple per message (ext types)."""
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    state = chat_state()
    for i, message in enumerate(state["messages"]):
        message["id"] = uuid.UUID(int=i)
        message["at"] = start + dt.timedelta(seconds=i)
        message["tags"] = ("chat", i)
    return state


def round_trip(serde: Serializer, state: dict[str, Any]) -> Any:
    """Encode and decode, as a step's commit followed by a read does."""
    return serde.loads(serde.dumps(state))


@dataclasses.dataclass
class ChatMessage:
    role: str
    content: str


class ModelMessage(pydantic.BaseModel):
    role: str
    content: str


def object_state(cls: type[Any]) -> dict[str, Any]:
    """The same chat with each message an application object (dataclass, model)."""
    messages = [cls(**message) for message in chat_state()["messages"]]
    return {"messages": messages, "step": MESSAGES}


def best_us(func: Callable[[], object], number: int = 200, repeat: int = 7) -> float:
    """Best time of one call in microseconds."""
    return min(timeit.repeat(func, number=number, repeat=repeat)) / number * 1e6


def main() -> None:
    cases = (
        ("plain chat", chat_state()),
        ("chat + ext types", rich_state()),
        ("dataclass msgs", object_state(ChatMessage)),
        ("pydantic msgs", object_state(ModelMessage)),
    )
    serde = Serializer(register=[ChatMessage, ModelMessage])
    for name, state in cases:
        data = serde.dumps(state)
        assert serde.loads(data) == state
        dumps = best_us(partial(serde.dumps, state))
        loads = best_us(partial(serde.loads, data))
        both = best_us(partial(round_trip, serde, state))
        print(
            f"{name:17} {MESSAGES} messages, {len(data):6d} bytes: "
            f"dumps {dumps:7.1f} us  loads {loads:7.1f} us  "
            f"dumps+loads {both:7.1f} us"
        )
    plain = chat_state()
    raw = msgpack.packb(plain)
    packb = best_us(lambda: msgpack.packb(plain))
    unpackb = best_us(lambda: msgpack.unpackb(raw))
    print(
        f"{'bare msgpack':17} {MESSAGES} messages, {len(raw):6d} bytes: "
        f"packb {packb:7.1f} us  unpackb {unpackb:5.1f} us"
    )


if __name__ == "__main__":
    main()
