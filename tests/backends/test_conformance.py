"""The conformance suite: every backend must pass every test here, unchanged.

The ``checkpointer`` fixture (see conftest) runs each test on every backend.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from tests.backends.conftest import EPOCH, CheckpointFactory, ReadOnlyTwin
from timeloom.core.checkpoint import CheckpointMeta, PendingWrite
from timeloom.core.checkpointer import BaseCheckpointer
from timeloom.core.errors import (
    CheckpointNotFound,
    ConflictError,
    ReadOnlyError,
    SerializationError,
)

RICH: dict[str, Any] = {
    "messages": [
        {"role": "user", "content": "héllo ✓", "at": datetime(2026, 5, 1, tzinfo=UTC)},
        {"role": "ai", "content": "", "tags": ("a", "b"), "ids": {1, 2, 3}},
    ],
    "amount": Decimal("42.10"),
    "order": {"id": uuid.UUID(int=7), "raw": b"\x00\xff", "nested": [[1, 2.5, None]]},
    "flag": True,
    "count": 1,
    "big": "x" * 5000,
    "empty": [],
    "wait": timedelta(seconds=3),
}


async def history(cp: BaseCheckpointer, thread_id: str, **kw: Any) -> list[str]:
    return [m.id async for m in cp.summaries(thread_id, **kw)]


async def test_put_get_round_trip(
    checkpointer: BaseCheckpointer, make: CheckpointFactory
) -> None:
    first = make.make("t", RICH, source="input", metadata={"run": "r1", "n": 1})
    await checkpointer.put(first, expected_head=None)
    got = await checkpointer.get("t", first.id)
    assert got is not None
    assert dict(got.values) == RICH
    assert type(got.values["flag"]) is bool
    assert type(got.values["count"]) is int
    assert got.values["messages"][1]["tags"] == ("a", "b")
    assert (got.id, got.thread_id, got.parent_id, got.step, got.source) == (
        first.id,
        "t",
        None,
        -1,
        "input",
    )
    assert got.created_at == first.created_at
    assert got.next == first.next
    assert dict(got.writes) == dict(first.writes)
    assert dict(got.metadata) == {"run": "r1", "n": 1}
    assert got.pending_writes == ()
    head = await checkpointer.get("t")
    assert head is not None
    assert head.id == first.id
    by_id = await checkpointer.get(None, first.id)
    assert by_id is not None
    assert dict(by_id.values) == RICH
    assert await checkpointer.get("other", first.id) is None
    assert await checkpointer.get("missing") is None
    assert await checkpointer.get(None, None) is None
    assert await checkpointer.get(None, str(uuid.UUID(int=1))) is None


async def test_head_moves_and_thread_info(
    checkpointer: BaseCheckpointer, make: CheckpointFactory
) -> None:
    a = make.make("t", {"n": 0}, metadata={"user": "ann"})
    await checkpointer.put(a, expected_head=None)
    b = make.make("t", {"n": 1}, metadata={"user": "bob"}, next=())
    await checkpointer.put(b, expected_head=a.id)
    head = await checkpointer.get("t")
    assert head is not None
    assert head.id == b.id
    assert head.parent_id == a.id
    info = await checkpointer.get_thread("t")
    assert info is not None
    assert (info.head_id, info.checkpoint_count, info.status) == (b.id, 2, "done")
    assert info.created_at == a.created_at
    assert info.updated_at == b.created_at
    assert dict(info.metadata) == {"user": "bob"}
    assert info.forked_from is None
    assert await checkpointer.get_thread("nope") is None


async def test_conflict_on_stale_head_writes_nothing(
    checkpointer: BaseCheckpointer, make: CheckpointFactory
) -> None:
    a = make.make("t", {"n": 0})
    await checkpointer.put(a, expected_head=None)
    b = make.make("t", {"n": 1})
    await checkpointer.put(b, expected_head=a.id)
    stale = make.make("t", {"n": 99}, parent=a)
    with pytest.raises(ConflictError):
        await checkpointer.put(stale, expected_head=a.id)
    assert await checkpointer.get(None, stale.id) is None
    assert await history(checkpointer, "t") == [b.id, a.id]
    info = await checkpointer.get_thread("t")
    assert info is not None
    assert info.head_id == b.id
    assert info.checkpoint_count == 2
    # A writer that believes the thread is new, but it exists.
    again = make.make("t", {"n": 5}, parent=None)
    with pytest.raises(ConflictError):
        await checkpointer.put(again, expected_head=None)
    assert await checkpointer.get(None, again.id) is None
    # Expecting a head on a thread that does not exist.
    ghost = make.make("ghost", {"n": 1})
    with pytest.raises(ConflictError):
        await checkpointer.put(ghost, expected_head=a.id)
    assert await checkpointer.get_thread("ghost") is None


async def test_put_many_commits_a_chain(
    checkpointer: BaseCheckpointer, make: CheckpointFactory
) -> None:
    """A run with ``durability="async"`` commits the steps that piled up as one
    chain: each checkpoint the child of the one before."""
    messages: list[dict[str, Any]] = []
    chain = []
    for i in range(20):  # long enough to seal a list chunk within the chain
        messages = [*messages, {"i": i, "text": f"message {i}"}]
        chain.append(make.make("t", {"messages": messages, "n": i}))
    await checkpointer.put_many(chain[:1], expected_head=None)
    await checkpointer.put_many(chain[1:], expected_head=chain[0].id)
    assert await history(checkpointer, "t") == [c.id for c in reversed(chain)]
    info = await checkpointer.get_thread("t")
    assert info is not None
    assert info.head_id == chain[-1].id
    assert info.checkpoint_count == 20
    for cp in (chain[3], chain[17], chain[-1]):
        got = await checkpointer.get("t", cp.id)
        assert got is not None
        assert got.values == cp.values
        assert got.parent_id == cp.parent_id
    await checkpointer.put_many([], expected_head=chain[-1].id)  # nothing to do


async def test_put_many_on_a_moved_head_writes_nothing(
    checkpointer: BaseCheckpointer, make: CheckpointFactory
) -> None:
    a = make.make("t", {"n": 0})
    await checkpointer.put(a, expected_head=None)
    b = make.make("t", {"n": 1})
    await checkpointer.put(b, expected_head=a.id)
    stale = [make.make("t", {"n": 10}, parent=a), make.make("t", {"n": 11})]
    with pytest.raises(ConflictError):
        await checkpointer.put_many(stale, expected_head=a.id)
    for cp in stale:
        assert await checkpointer.get(None, cp.id) is None
    assert await history(checkpointer, "t") == [b.id, a.id]


async def test_pending_writes_and_status(
    checkpointer: BaseCheckpointer, make: CheckpointFactory
) -> None:
    a = make.make("t", {"n": 0}, next=("x", "y"))
    await checkpointer.put(a, expected_head=None)
    assert await checkpointer.count_threads(status="running") == 1
    await checkpointer.put_pending("t", a.id, [PendingWrite("x", "update", {"n": 1})])
    error = {"type": "ValueError", "message": "boom", "traceback": "..."}
    await checkpointer.put_pending("t", a.id, [PendingWrite("y", "error", error)])
    got = await checkpointer.get("t", a.id)
    assert got is not None
    assert got.pending_writes == (
        PendingWrite("x", "update", {"n": 1}),
        PendingWrite("y", "error", error),
    )
    info = await checkpointer.get_thread("t")
    assert info is not None
    assert info.status == "failed"
    [meta] = [m async for m in checkpointer.summaries("t")]
    assert meta.has_error
    assert not meta.has_interrupt

    b = make.make("p", {"n": 0}, next=("approve",))
    await checkpointer.put(b, expected_head=None)
    ask = {"id": "i1", "value": "ok?", "when": "during"}
    await checkpointer.put_pending(
        "p", b.id, [PendingWrite("approve", "interrupt", ask)]
    )
    info = await checkpointer.get_thread("p")
    assert info is not None
    assert info.status == "paused"
    assert [t.thread_id for t in await checkpointer.threads(status="paused")] == ["p"]
    await checkpointer.put_pending(
        "p", b.id, [PendingWrite("approve", "resume", {"id": "i1", "value": "yes"})]
    )
    info = await checkpointer.get_thread("p")
    assert info is not None
    assert info.status == "running"
    got = await checkpointer.get("p")
    assert got is not None
    assert got.interrupts == ()
    assert len(got.pending_writes) == 2

    c = make.make("d", {"n": 0}, next=())
    await checkpointer.put(c, expected_head=None)
    assert [t.thread_id for t in await checkpointer.threads(status="done")] == ["d"]

    with pytest.raises(CheckpointNotFound):
        await checkpointer.put_pending("p", a.id, [PendingWrite("x", "update", {})])
    with pytest.raises(CheckpointNotFound):
        await checkpointer.put_pending("t", str(uuid.UUID(int=3)), [])


async def test_list_paging_and_filter(
    checkpointer: BaseCheckpointer, make: CheckpointFactory
) -> None:
    ids = []
    head = None
    for i in range(12):
        cp = make.make(
            "t",
            {"i": i},
            source="input" if i == 0 else "loop",
            metadata={"even": i % 2 == 0, "i": i},
        )
        await checkpointer.put(cp, expected_head=head)
        head = cp.id
        ids.append(cp.id)
    newest_first = ids[::-1]
    assert await history(checkpointer, "t") == newest_first
    assert await history(checkpointer, "t", limit=5) == newest_first[:5]
    assert await history(checkpointer, "t", before=ids[7], limit=3) == [
        ids[6],
        ids[5],
        ids[4],
    ]
    assert await history(checkpointer, "t", before=ids[0]) == []
    assert await history(checkpointer, "t", limit=0) == []
    assert await history(checkpointer, "t", filter={"even": True}) == newest_first[1::2]
    assert await history(checkpointer, "t", filter={"even": False}, limit=2) == [
        ids[11],
        ids[9],
    ]
    assert await history(checkpointer, "t", filter={"source": "input"}) == [ids[0]]
    assert await history(checkpointer, "t", filter={"step": 3}) == [ids[4]]
    assert await history(checkpointer, "t", filter={"i": 100}) == []
    assert await history(checkpointer, "nope") == []
    metas = [m async for m in checkpointer.summaries("t", limit=2)]
    assert all(isinstance(m, CheckpointMeta) for m in metas)
    assert metas[0].step == 10
    assert metas[0].nodes == ("node",)
    assert metas[0].parent_id == ids[10]
    assert dict(metas[0].metadata)["i"] == 11


async def test_threads_paging_search_status_metadata(
    checkpointer: BaseCheckpointer, make: CheckpointFactory
) -> None:
    names = ["alpha-1", "alpha-2", "Alpha-3", "beta-1", "alpha", "alphabet"]
    for i, name in enumerate(names):
        cp = make.make(
            name,
            {"i": i},
            next=() if i % 2 else ("n",),
            metadata={"team": "a" if i < 3 else "b"},
        )
        await checkpointer.put(cp, expected_head=None)
    newest_first = names[::-1]
    assert [t.thread_id for t in await checkpointer.threads()] == newest_first
    page = await checkpointer.threads(limit=2, offset=1)
    assert [t.thread_id for t in page] == newest_first[1:3]
    assert [t.thread_id for t in await checkpointer.threads(search="alpha")] == [
        "alphabet",
        "alpha",
        "alpha-2",
        "alpha-1",
    ]
    assert [t.thread_id for t in await checkpointer.threads(search="alpha-")] == [
        "alpha-2",
        "alpha-1",
    ]
    assert await checkpointer.threads(search="gamma") == []
    done = await checkpointer.threads(status="done")
    assert [t.thread_id for t in done] == ["alphabet", "beta-1", "alpha-2"]
    assert all(t.status == "done" for t in done)
    by_team = await checkpointer.threads(metadata={"team": "a"})
    assert [t.thread_id for t in by_team] == ["Alpha-3", "alpha-2", "alpha-1"]
    assert [
        t.thread_id
        for t in await checkpointer.threads(metadata={"team": "b"}, limit=1, offset=1)
    ] == ["alpha"]
    assert await checkpointer.count_threads() == 6
    assert await checkpointer.count_threads(search="alpha") == 4
    assert await checkpointer.count_threads(status="running") == 3
    assert await checkpointer.count_threads(search="alpha", status="done") == 2


async def test_fork_children_across_threads(
    checkpointer: BaseCheckpointer, make: CheckpointFactory
) -> None:
    a = make.make("main", {"messages": ["hi"]})
    await checkpointer.put(a, expected_head=None)
    b = make.make("main", {"messages": ["hi", "there"]})
    await checkpointer.put(b, expected_head=a.id)
    fork = make.make("branch", {"messages": ["hi", "edited"]}, parent=a, source="fork")
    await checkpointer.put(fork, expected_head=None)
    kids = await checkpointer.children(a.id)
    assert sorted(k.id for k in kids) == sorted([b.id, fork.id])
    fork_meta = next(k for k in kids if k.id == fork.id)
    assert fork_meta.is_fork_root
    assert fork_meta.parent_thread_id == "main"
    assert await checkpointer.children(b.id) == []
    info = await checkpointer.get_thread("branch")
    assert info is not None
    assert info.forked_from == ("main", a.id)
    got = await checkpointer.get("branch")
    assert got is not None
    assert got.values == {"messages": ["hi", "edited"]}


async def test_recent_and_watch(
    checkpointer: BaseCheckpointer, make: CheckpointFactory
) -> None:
    a = make.make("t", {"n": 0})
    await checkpointer.put(a, expected_head=None)
    b = make.make("u", {"n": 0})
    await checkpointer.put(b, expected_head=None)
    c = make.make("t", {"n": 1})
    await checkpointer.put(c, expected_head=a.id)
    assert [m.id for m in await checkpointer.recent()] == [a.id, b.id, c.id]
    assert [m.id for m in await checkpointer.recent(after=a.id)] == [b.id, c.id]
    assert [m.id for m in await checkpointer.recent(thread_id="t")] == [a.id, c.id]
    assert [m.id for m in await checkpointer.recent(limit=1)] == [a.id]
    assert await checkpointer.recent(after=c.id) == []

    stream = checkpointer.watch("t", poll_interval=0.02)

    async def until_put(target: str) -> list[CheckpointMeta]:
        seen = []
        async for meta in stream:
            seen.append(meta)
            if meta.id == target:
                return seen
        raise AssertionError("the stream ended")

    d = make.make("t", {"n": 2})
    watching = asyncio.ensure_future(until_put(d.id))
    await asyncio.sleep(0.1)
    await checkpointer.put(d, expected_head=c.id)
    seen = await asyncio.wait_for(watching, timeout=5)
    assert seen[-1].id == d.id
    assert all(m.thread_id == "t" for m in seen)
    assert len({m.id for m in seen}) == len(seen)  # nothing yielded twice
    await stream.aclose()  # type: ignore[attr-defined]


async def test_delete_thread_keeps_forks_readable(
    checkpointer: BaseCheckpointer, make: CheckpointFactory
) -> None:
    shared = ["m" * 300] * 40  # stored in blobs shared with the fork
    a = make.make("main", {"messages": shared})
    await checkpointer.put(a, expected_head=None)
    b = make.make("main", {"messages": [*shared, "more"]})
    await checkpointer.put(b, expected_head=a.id)
    fork = make.make("branch", {"messages": [*shared, "other"]}, parent=a)
    await checkpointer.put(fork, expected_head=None)
    other = make.make("other", {"x": 1})
    await checkpointer.put(other, expected_head=None)
    await checkpointer.adelete_thread("main")
    assert await checkpointer.get_thread("main") is None
    assert await checkpointer.get("main") is None
    assert await checkpointer.get(None, a.id) is None
    assert await history(checkpointer, "main") == []
    assert await checkpointer.count_threads() == 2
    got = await checkpointer.get("branch")
    assert got is not None
    assert got.values == {"messages": [*shared, "other"]}
    assert got.parent_id == a.id  # dangles, shown as such
    assert (await checkpointer.get("other")) is not None
    await checkpointer.adelete_thread("never-existed")


async def test_prune_semantics(
    checkpointer: BaseCheckpointer, make: CheckpointFactory
) -> None:
    ids = []
    head = None
    for i in range(10):
        values = {"messages": [f"message {j}" * 20 for j in range(i * 3)], "i": i}
        cp = make.make("t", values, created_at=EPOCH + timedelta(hours=i))
        await checkpointer.put(cp, expected_head=head)
        head = cp.id
        ids.append(cp)
    # Checkpoint 2 is a fork point (another thread grew from it); 4 waits at an
    # interrupt nobody answered; 6 had its interrupt answered.
    fork = make.make("f", {"x": 1}, parent=ids[2])
    await checkpointer.put(fork, expected_head=None)
    ask = {"id": "q", "value": "?", "when": "during"}
    await checkpointer.put_pending(
        "t", ids[4].id, [PendingWrite("n", "interrupt", ask)]
    )
    await checkpointer.put_pending(
        "t", ids[6].id, [PendingWrite("n", "interrupt", ask)]
    )
    await checkpointer.put_pending(
        "t", ids[6].id, [PendingWrite("n", "resume", {"id": "q", "value": 1})]
    )
    assert await checkpointer.prune("t") == 0
    # keep_last beyond the thread's length keeps everything.
    assert await checkpointer.prune("t", keep_last=11) == 0
    assert await checkpointer.prune("t", keep_last=1000) == 0
    assert len(await history(checkpointer, "t")) == 10
    # older_than: only checkpoints created before hour 3 may go.
    deleted = await checkpointer.prune("t", older_than=EPOCH + timedelta(hours=3))
    assert deleted == 2  # 0 and 1 (2 is a fork point)
    remaining = await history(checkpointer, "t")
    assert remaining == [c.id for c in ids[2:]][::-1]
    # keep_last=2 keeps 8 and 9, plus the fork point 2 and the interrupt at 4.
    deleted = await checkpointer.prune("t", keep_last=2)
    assert deleted == 4  # 3, 5, 6, 7
    remaining = await history(checkpointer, "t")
    assert remaining == [ids[9].id, ids[8].id, ids[4].id, ids[2].id]
    info = await checkpointer.get_thread("t")
    assert info is not None
    assert info.checkpoint_count == 4
    assert info.head_id == ids[9].id
    for cp in (ids[2], ids[4], ids[8], ids[9]):
        got = await checkpointer.get("t", cp.id)
        assert got is not None
        assert got.values == cp.values
    # The head survives even keep_last=0.
    assert await checkpointer.prune("t", keep_last=0) == 1  # 8
    got = await checkpointer.get("t")
    assert got is not None
    assert got.values == ids[9].values
    fork_got = await checkpointer.get("f")
    assert fork_got is not None
    assert fork_got.values == {"x": 1}


async def test_prune_a_fork_whose_first_checkpoint_goes(
    checkpointer: BaseCheckpointer, make: CheckpointFactory
) -> None:
    a = make.make("main", {"n": 0})
    await checkpointer.put(a, expected_head=None)
    b = make.make("main", {"n": 1})
    await checkpointer.put(b, expected_head=a.id)
    first = make.make("branch", {"n": 10}, parent=a)
    await checkpointer.put(first, expected_head=None)
    second = make.make("branch", {"n": 11})
    await checkpointer.put(second, expected_head=first.id)
    third = make.make("branch", {"n": 12})
    await checkpointer.put(third, expected_head=second.id)
    # The fork's first checkpoint has one child, in its own thread: not a fork point.
    assert await checkpointer.prune("branch", keep_last=1) == 2
    info = await checkpointer.get_thread("branch")
    assert info is not None
    assert info.checkpoint_count == 1
    assert info.forked_from == ("main", a.id)  # where it came from stays known
    assert [i.forked_from for i in await checkpointer.threads(search="branch")] == [
        ("main", a.id)
    ]
    # Nothing kept forks from a any more, so pruning main may take it too.
    assert [m.id for m in await checkpointer.children(a.id)] == [b.id]
    assert await checkpointer.prune("main", keep_last=1) == 1
    info = await checkpointer.get_thread("branch")
    assert info is not None
    assert info.forked_from == ("main", a.id)  # a dangling link, still named
    got = await checkpointer.get("branch")
    assert got is not None
    assert got.values == {"n": 12}


async def test_deep_checkpoint_in_long_appended_list(
    checkpointer: BaseCheckpointer, make: CheckpointFactory
) -> None:
    messages: list[dict[str, Any]] = []
    made = []
    head = None
    for step in range(150):
        messages = [*messages, {"role": "user", "n": step, "text": f"m{step}" * 10}]
        if step == 70:  # an edit in the middle, not an append
            messages[5] = {"role": "edited", "n": 5}
        if step == 90:  # a truncation
            messages = messages[:40]
        cp = make.make("t", {"messages": messages, "step": step, "data": {"k": step}})
        await checkpointer.put(cp, expected_head=head)
        head = cp.id
        made.append(cp)
    for index in (0, 1, 15, 16, 17, 33, 69, 70, 71, 89, 90, 91, 120, 149):
        got = await checkpointer.get("t", made[index].id)
        assert got is not None
        assert got.values == made[index].values, index


async def test_unstorable_value_names_its_path(
    checkpointer: BaseCheckpointer, make: CheckpointFactory
) -> None:
    a = make.make("t", {"n": 0})
    await checkpointer.put(a, expected_head=None)
    bad = make.make("t", {"messages": ["ok", {"payload": object()}]})
    with pytest.raises(SerializationError) as caught:
        await checkpointer.put(bad, expected_head=a.id)
    assert "messages" in str(caught.value)
    assert "payload" in str(caught.value)
    assert "object" in str(caught.value)
    info = await checkpointer.get_thread("t")
    assert info is not None
    assert info.head_id == a.id
    assert info.checkpoint_count == 1


async def test_read_only_refuses_writes(
    checkpointer: BaseCheckpointer,
    make: CheckpointFactory,
    read_only_twin: ReadOnlyTwin,
) -> None:
    a = make.make("t", {"n": 0})
    await checkpointer.put(a, expected_head=None)
    ro = await read_only_twin(checkpointer)
    try:
        assert ro.read_only
        b = make.make("t", {"n": 1})
        with pytest.raises(ReadOnlyError):
            await ro.put(b, expected_head=a.id)
        with pytest.raises(ReadOnlyError):
            await ro.put_pending("t", a.id, [PendingWrite("n", "update", {})])
        with pytest.raises(ReadOnlyError):
            await ro.adelete_thread("t")
        with pytest.raises(ReadOnlyError):
            await ro.prune("t", keep_last=0)
        got = await ro.get("t")
        assert got is not None
        assert got.id == a.id
        assert got.values == {"n": 0}
        assert [t.thread_id for t in await ro.threads()] == ["t"]
    finally:
        await ro.aclose()


async def test_big_state_round_trip(
    checkpointer: BaseCheckpointer, make: CheckpointFactory
) -> None:
    # Megabytes of state: Postgres decodes a state this big off its event loop.
    big = {"text": "b" * (2 << 20), "items": [f"item {i} " * 200 for i in range(300)]}
    a = make.make("big", big)
    await checkpointer.put(a, expected_head=None)
    got = await checkpointer.get("big", a.id)
    assert got is not None
    assert got.values == big
