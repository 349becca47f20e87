"""Checkpoint ids: time-ordered UUIDv7 strings, unique across processes."""

from __future__ import annotations

import os
import sys
import uuid

import pytest

from timeloom.core.ids import id_time_ms, new_checkpoint_id, now_ms


def test_ids_are_canonical_uuid7_in_creation_order() -> None:
    ids = [new_checkpoint_id() for _ in range(5000)]
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)
    for cid in ids[:10]:
        parsed = uuid.UUID(cid)
        assert str(parsed) == cid
        assert parsed.version == 7
        assert parsed.variant == uuid.RFC_4122
    assert abs(id_time_ms(ids[-1]) - now_ms()) < 5000


@pytest.mark.skipif(sys.platform == "win32", reason="needs os.fork")
def test_a_forked_worker_makes_different_ids() -> None:
    """A worker forked from a process that already made ids (same clock, same
    counter) still makes different ones: the random bits are reseeded."""
    new_checkpoint_id()
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: send its ids and leave at once
        try:
            ids = [new_checkpoint_id() for _ in range(200)]
            os.write(write, "\n".join(ids).encode())
        finally:
            os._exit(0)
    os.close(write)
    mine = [new_checkpoint_id() for _ in range(200)]
    with os.fdopen(read) as pipe:
        theirs = pipe.read().split("\n")
    os.waitpid(pid, 0)
    assert len(set(theirs)) == 200
    assert not set(mine) & set(theirs)
    # The random bits (the last 62 of each id) differ even where the clock and the
    # counter agree: without reseeding, both processes would draw the same ones.
    assert not {cid[-12:] for cid in mine} & {cid[-12:] for cid in theirs}
