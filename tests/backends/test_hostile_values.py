"""Hostile values: a value whose ``==`` raises does not break a thread (every step
is stored, a resume works, the value reads back as it was); a crafted list layout
cannot make a read take unbounded memory."""

from __future__ import annotations

import operator
import sys
import tracemalloc
from collections.abc import Collection, Mapping
from decimal import Decimal
from typing import Annotated, Any, TypedDict

import msgpack

from timeloom.backends.layout import (
    CHUNK_ITEMS,
    HEADER_VERSION,
    blob_key,
    decode_values,
    frame,
)
from timeloom.backends.serde import Serializer
from timeloom.core import END, START, StateGraph
from timeloom.core.checkpoint import UnreadableValue
from timeloom.core.checkpointer import BaseCheckpointer


class State(TypedDict, total=False):
    items: Annotated[list[Any], operator.add]


def _graph(checkpointer: BaseCheckpointer) -> Any:
    graph = StateGraph(State)
    # Decimal('sNaN') == anything raises decimal.InvalidOperation.
    graph.add_node("a", lambda state: {"items": [Decimal("sNaN"), {"n": 1}]})
    graph.add_node("b", lambda state: {"items": ["b"]})
    graph.add_node("c", lambda state: {"items": ["c"]})
    graph.add_edge(START, "a")
    graph.add_edge("a", "b")
    graph.add_edge("b", "c")
    graph.add_edge("c", END)
    return graph.compile(checkpointer=checkpointer, interrupt_before=["c"])


async def test_a_signalling_nan_in_a_list_breaks_nothing(
    checkpointer: BaseCheckpointer,
) -> None:
    app = _graph(checkpointer)
    config = {"configurable": {"thread_id": "t"}}
    await app.ainvoke({"items": []}, config)  # stops before c
    final = await app.ainvoke(None, config)  # the resume
    items = final["items"]
    assert items[0].is_snan()
    assert items[1:] == [{"n": 1}, "b", "c"]
    history = [s async for s in app.aget_state_history(config)]
    assert [s.metadata["step"] for s in history] == [3, 2, 1, 0, -1]
    head = await checkpointer.get("t")
    assert head is not None
    assert head.values["items"][0].is_snan()
    assert head.values["items"][1:] == [{"n": 1}, "b", "c"]


def _crafted(entry: list[Any], blobs: dict[bytes, bytes]) -> tuple[bytes, Any]:
    header = msgpack.packb([HEADER_VERSION, {"list": entry, "other": ["i", b"\x01"]}])

    async def fetch(keys: Collection[bytes]) -> Mapping[bytes, bytes]:
        return {k: blobs[k] for k in keys if k in blobs}

    return header, fetch


async def _read_repeated(item: bytes, times: int) -> tuple[dict[str, Any], int]:
    """Read a list whose manifest names one chunk (of ``item``) ``times`` times;
    return the values and the read's peak of allocated memory."""
    chunk = frame([item] * CHUNK_ITEMS)
    manifest = blob_key(chunk) * times
    blobs = {blob_key(chunk): chunk, blob_key(manifest): manifest}
    header, fetch = _crafted(["l", times * CHUNK_ITEMS, blob_key(manifest), []], blobs)
    tracemalloc.start()
    try:
        values = await decode_values(header, fetch, Serializer())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return values, peak


async def test_a_manifest_naming_one_chunk_many_times_is_refused() -> None:
    # A chunk of 160 KB, and a manifest of 16 KB naming it 1,000 times: 160 MB.
    values, peak = await _read_repeated(Serializer().dumps("x" * 10_000), 1000)
    assert isinstance(values["list"], UnreadableValue)
    assert "expand" in values["list"].reason
    assert values["other"] == 1  # the rest of the checkpoint reads
    assert peak < 20_000_000


async def test_a_list_of_many_small_items_peaks_near_its_own_size() -> None:
    """Each part is decoded as it is split: the read does not hold every item's
    encoded bytes beside the values (a manifest naming one chunk of one-byte items
    80,000 times, well within the expansion allowed, peaked at eleven times
    the list it read)."""
    # Small ints: the list is its own size.
    values, peak = await _read_repeated(Serializer().dumps(1), 80_000)
    assert values["list"] == [1] * (80_000 * CHUNK_ITEMS)
    assert peak < 2 * sys.getsizeof(values["list"]), peak


async def test_counts_that_do_not_match_the_length_are_refused() -> None:
    serde = Serializer()
    item = serde.dumps("item")
    chunk = frame([item] * CHUNK_ITEMS)
    delta = frame([item])
    blobs = {blob_key(chunk): chunk, blob_key(delta): delta}
    manifest = blob_key(chunk) * 3
    blobs[blob_key(manifest)] = manifest
    for entry in (
        ["l", 5, blob_key(manifest), []],  # 3 chunks for 5 items
        ["l", 3, None, [blob_key(delta)] * 5000],  # 5,000 deltas for 3 items
        ["l", -1, None, []],
        ["l", "48", blob_key(manifest), []],
    ):
        header, fetch = _crafted(entry, blobs)
        values = await decode_values(header, fetch, serde)
        assert isinstance(values["list"], UnreadableValue), entry
    header, fetch = _crafted(["l", 49, blob_key(manifest), [blob_key(delta)]], blobs)
    assert (await decode_values(header, fetch, serde))["list"] == ["item"] * 49


async def test_a_header_entry_of_the_wrong_shape_reads_as_unreadable() -> None:
    """Found by the fuzz test: an entry that is a map (not a list) broke the read
    of the whole checkpoint with a KeyError."""
    serde = Serializer()
    header, fetch = _crafted({"a": 1}, {})  # type: ignore[arg-type]
    values = await decode_values(header, fetch, serde)
    assert isinstance(values["list"], UnreadableValue)
    assert values["other"] == 1
