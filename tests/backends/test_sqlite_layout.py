"""The storage layout shared by the SQL backends (pure Python, no database)."""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.backends.conftest import CheckpointFactory
from timeloom.backends.layout import (
    CHUNK_ITEMS,
    INLINE_MAX,
    ValuesState,
    blob_key,
    decode_values,
    encode_values,
    frame,
    header_keys,
    referenced_keys,
    unframe,
)
from timeloom.backends.serde import Serializer
from timeloom.backends.sqlite import SqliteCheckpointer
from timeloom.core.checkpoint import UnreadableValue
from timeloom.core.errors import SerializationError

SERDE = Serializer()


class Blobs:
    """A blob table in a dict, counting fetch round trips."""

    def __init__(self) -> None:
        self.data: dict[bytes, bytes] = {}
        self.fetches = 0

    def add(self, blobs: Mapping[bytes, bytes]) -> int:
        new = {k: v for k, v in blobs.items() if k not in self.data}
        self.data.update(new)
        return sum(len(v) for v in new.values())

    async def fetch(self, keys: Collection[bytes]) -> dict[bytes, bytes]:
        self.fetches += 1
        return {k: self.data[k] for k in keys if k in self.data}


def message(i: int) -> dict[str, Any]:
    return {"role": "user", "i": i, "text": "t" * 200}


async def test_appends_cost_what_they_add_and_read_in_two_fetches() -> None:
    blobs = Blobs()
    state: ValuesState | None = None
    headers = []
    added = []
    messages: list[dict[str, Any]] = []
    for i in range(300):
        messages = [*messages, message(i)]
        values = {"messages": messages, "step": i}
        enc = encode_values(values, SERDE, state)
        added.append(blobs.add(enc.blobs) + len(enc.header))
        headers.append((values, enc.header))
        state = enc.state
    item = len(SERDE.dumps(message(0)))
    # Each step stores its item in a delta and, once per chunk, in the chunk: ~2
    # items a step on average, however long the list is.
    late = sum(added[200:]) / 100
    early = sum(added[20:120]) / 100
    assert late < 3 * item
    assert late < 1.2 * early
    for values, header in (headers[0], headers[15], headers[16], headers[299]):
        blobs.fetches = 0
        assert await decode_values(header, blobs.fetch, SERDE) == values
        assert blobs.fetches <= 2


async def test_edits_truncation_and_exact_types() -> None:
    blobs = Blobs()
    base = [message(i) for i in range(40)]
    first = encode_values({"m": base, "flag": 1}, SERDE)
    blobs.add(first.blobs)
    edited = [*base[:3], {"edited": True}, *base[4:], message(40)]
    second = encode_values({"m": edited, "flag": True}, SERDE, first.state)
    blobs.add(second.blobs)
    got = await decode_values(second.header, blobs.fetch, SERDE)
    assert got == {"m": edited, "flag": True}
    assert type(got["flag"]) is bool
    # The untouched chunks were not stored again.
    unchanged = blob_key(frame(SERDE.dumps(m) for m in base[16:32]))
    assert unchanged not in second.blobs
    truncated = edited[:5]
    third = encode_values({"m": truncated}, SERDE, second.state)
    blobs.add(third.blobs)
    assert await decode_values(third.header, blobs.fetch, SERDE) == {"m": truncated}
    # 1 == True in Python, but an append check by bytes tells them apart.
    ones = encode_values({"m": [1, 1]}, SERDE)
    blobs.add(ones.blobs)
    trues = encode_values({"m": [True, 1, 2]}, SERDE, ones.state)
    blobs.add(trues.blobs)
    decoded = await decode_values(trues.header, blobs.fetch, SERDE)
    assert [type(x) for x in decoded["m"]] == [bool, int, int]


async def test_in_place_mutation_of_an_earlier_item_is_stored() -> None:
    blobs = Blobs()
    items = [message(i) for i in range(5)]
    first = encode_values({"m": items}, SERDE)
    blobs.add(first.blobs)
    items[1]["text"] = "changed in place"  # the same list object, mutated
    items.append(message(5))
    second = encode_values({"m": items}, SERDE, first.state)
    blobs.add(second.blobs)
    got = await decode_values(second.header, blobs.fetch, SERDE)
    assert got["m"][1]["text"] == "changed in place"
    assert len(got["m"]) == 6


async def test_small_values_inline_and_unchanged_values_dedupe() -> None:
    big = {"doc": "d" * 500}
    first = encode_values({"small": 3, **big}, SERDE)
    assert len(SERDE.dumps(3)) <= INLINE_MAX
    assert len(first.blobs) == 1  # only the big value has a blob
    second = encode_values({"small": 4, **big}, SERDE, first.state)
    assert second.blobs == {}  # the big value is unchanged


async def test_corrupt_or_missing_blobs_read_as_unreadable_values() -> None:
    blobs = Blobs()
    items = [message(i) for i in range(20)]
    values = {"m": items, "doc": "d" * 100, "n": 1}
    enc = encode_values(values, SERDE)
    blobs.add(enc.blobs)
    doc_key = blob_key(SERDE.dumps("d" * 100))
    blobs.data[doc_key] = b"tampered"
    chunk_key = blob_key(frame(SERDE.dumps(m) for m in items[:CHUNK_ITEMS]))
    del blobs.data[chunk_key]
    got = await decode_values(enc.header, blobs.fetch, SERDE)
    assert got["n"] == 1
    assert isinstance(got["doc"], UnreadableValue)
    assert isinstance(got["m"], UnreadableValue)
    assert "missing or corrupt" in got["m"].reason
    with pytest.raises(SerializationError):
        await decode_values(b"\xc1 not a header", blobs.fetch, SERDE)


async def test_referenced_keys_cover_every_blob() -> None:
    blobs = Blobs()
    state = None
    headers = []
    for i in range(40):
        enc = encode_values(
            {"m": [message(j) for j in range(i)], "d": "x" * (100 + i)}, SERDE, state
        )
        blobs.add(enc.blobs)
        headers.append(enc.header)
        state = enc.state
    assert await referenced_keys(headers, blobs.fetch) == set(blobs.data)
    needed_by_last = await referenced_keys(headers[-1:], blobs.fetch)
    assert needed_by_last < set(blobs.data)


def test_frames_round_trip_and_reject_garbage() -> None:
    items = [b"", b"a", b"\x00" * 300]
    assert unframe(frame(items)) == items
    with pytest.raises(ValueError, match="truncated"):
        unframe(frame(items)[:-1])


@pytest.mark.parametrize("chained", [False, True])
async def test_sqlite_reencodes_when_the_cached_parent_was_deleted(
    tmp_path: Path, make: CheckpointFactory, chained: bool
) -> None:
    """A writer's cached parent state is only trusted while the parent exists."""
    path = tmp_path / "gone.db"
    shared = [message(i) for i in range(40)]
    async with SqliteCheckpointer(path) as writer, SqliteCheckpointer(path) as other:
        a = make.make("t", {"m": shared})
        await writer.put(a, expected_head=None)  # the writer caches a's state
        await other.adelete_thread("t")  # another process deletes a and its blobs
        fork = make.make("f", {"m": [*shared, message(40)]}, parent=a)
        then = make.make("f", {"m": [*shared, message(40), message(41)]})
        if chained:
            await writer.put_many([fork, then], expected_head=None)
        else:
            await writer.put(fork, expected_head=None)
            await writer.put(then, expected_head=fork.id)
        for cp in (fork, then):
            got = await other.get("f", cp.id)
            assert got is not None
            assert got.values == cp.values


_ITEMS = st.one_of(
    st.integers(-5, 5),
    st.booleans(),
    st.text(max_size=5),
    st.dictionaries(st.text(max_size=3), st.integers(0, 3), max_size=2),
)
_OPS = st.lists(
    st.one_of(
        st.tuples(st.just("append"), st.lists(_ITEMS, max_size=20)),
        st.tuples(st.just("edit"), st.integers(0, 200), _ITEMS),
        st.tuples(st.just("truncate"), st.integers(0, 200)),
        st.tuples(st.just("replace"), st.lists(_ITEMS, max_size=40)),
        st.tuples(st.just("scalar"), _ITEMS),
    ),
    min_size=1,
    max_size=30,
)


@settings(max_examples=150, deadline=None)
@given(ops=_OPS)
def test_any_history_of_list_changes_reads_back_exactly(
    ops: list[tuple[Any, ...]],
) -> None:
    blobs = Blobs()
    state: ValuesState | None = None
    value: Any = []
    written = []
    for op in ops:
        kind = op[0]
        current = list(value) if isinstance(value, list) else []
        if kind == "append":
            value = [*current, *op[1]]
        elif kind == "edit" and current:
            current[op[1] % len(current)] = op[2]
            value = current
        elif kind == "truncate":
            value = current[: op[1]]
        elif kind == "replace":
            value = list(op[1])
        elif kind == "scalar":
            value = op[1]  # the channel stops being a list, and may become one again
        enc = encode_values({"c": value}, SERDE, state)
        blobs.add(enc.blobs)
        state = enc.state
        written.append((SERDE.dumps(value), enc.header))
    for expected, header in written:
        got = asyncio.run(decode_values(header, blobs.fetch, SERDE))
        assert SERDE.dumps(got["c"]) == expected  # byte-exact, so 1 and True differ


async def test_an_old_item_mutated_in_place_is_stored_as_mutated() -> None:
    # The reducers keep the old item objects in the new list: an item mutated in
    # place is the same object with new content, and must not be taken as unchanged.
    blobs = Blobs()
    items = [message(i) for i in range(40)]
    first = encode_values({"m": items}, SERDE)
    blobs.add(first.blobs)
    items[20]["text"] = "changed in place"
    grown = [*items, message(40)]
    second = encode_values({"m": grown}, SERDE, first.state)
    blobs.add(second.blobs)
    got = await decode_values(second.header, blobs.fetch, SERDE)
    assert got["m"][20]["text"] == "changed in place"
    assert got == {"m": grown}
    # A later plain append, reusing the prefix, still reads back the mutation.
    third = encode_values({"m": [*grown, message(41)]}, SERDE, second.state)
    blobs.add(third.blobs)
    got = await decode_values(third.header, blobs.fetch, SERDE)
    assert got["m"][20]["text"] == "changed in place"
    assert len(got["m"]) == 42


async def test_an_equal_new_object_of_another_nested_type_is_stored() -> None:
    # A new object in an old position is always encoded, even if it is == the old.
    blobs = Blobs()
    first = encode_values({"m": [{"a": 1}, {"b": 2}]}, SERDE)
    blobs.add(first.blobs)
    second = encode_values({"m": [{"a": True}, {"b": 2}, 3]}, SERDE, first.state)
    blobs.add(second.blobs)
    got = await decode_values(second.header, blobs.fetch, SERDE)
    assert type(got["m"][0]["a"]) is bool


def test_an_unchanged_prefix_is_not_encoded_again() -> None:
    class Counting(Serializer):
        calls = 0

        def dumps(self, obj: Any, /, *, root: str = "value") -> bytes:
            Counting.calls += 1
            return super().dumps(obj, root=root)

    serde = Counting()
    items = [message(i) for i in range(100)]
    first = encode_values({"m": items}, serde)
    Counting.calls = 0
    second = encode_values({"m": [*items, message(100)]}, serde, first.state)
    assert Counting.calls == 1  # only the new item
    assert second.state.channels["m"] != first.state.channels["m"]


@pytest.mark.parametrize(
    ("make_item", "mutate"),
    [
        # Plain data: a nested container changed in place, deep down.
        (
            lambda i: {"id": i, "meta": {"tags": ["a"], "pos": (1, [2])}},
            lambda item: item["meta"]["tags"].append("b"),
        ),
        (
            lambda i: {"id": i, "meta": {"tags": ["a"], "pos": (1, [2])}},
            lambda item: item["meta"]["pos"][1].append(3),
        ),
        # Not plain data (a set): the private copy is decoded from the stored bytes.
        (lambda i: {"id": i, "seen": {1, 2}}, lambda item: item["seen"].add(3)),
    ],
)
async def test_nested_in_place_changes_are_stored(make_item: Any, mutate: Any) -> None:
    """However deep the change, an old item mutated in place is stored again."""
    blobs = Blobs()
    items = [make_item(i) for i in range(20)]
    first = encode_values({"m": items}, SERDE)
    blobs.add(first.blobs)
    mutate(items[3])
    second = encode_values({"m": [*items, make_item(20)]}, SERDE, first.state)
    blobs.add(second.blobs)
    got = await decode_values(second.header, blobs.fetch, SERDE)
    assert got["m"][3] == items[3]
    assert got["m"] == [*items, make_item(20)]


@settings(max_examples=50, deadline=None)
@given(ops=_OPS)
def test_a_state_names_the_blobs_its_header_names(ops: list[tuple[Any, ...]]) -> None:
    """Writers take the header's blobs from the state they just encoded instead of
    parsing the header back: both must agree, whatever the history."""
    state: ValuesState | None = None
    value: Any = []
    for op in ops:
        if op[0] == "append":
            value = [*(value if isinstance(value, list) else []), *op[1]]
        elif op[0] == "scalar":
            value = op[1]
        enc = encode_values({"c": value, "n": len(str(value)) * "x"}, SERDE, state)
        state = enc.state
        assert state.header_keys() == header_keys(enc.header)[0]
        assert state.known_keys() >= state.header_keys()
