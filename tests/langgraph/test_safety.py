"""Hostile and odd blobs: nothing named in the data is imported or called, secrets
stay masked, undecodable blobs stay contained, and the database is never written."""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import sqlite3
from pathlib import Path
from typing import Any

import msgpack
import pytest

from tests.langgraph import lgdb
from timeloom.backends.inert import Inert
from timeloom.backends.langgraph import LangGraphSqlite, open_langgraph
from timeloom.backends.langgraph.decode import decode_typed
from timeloom.core.errors import ReadOnlyError

THREAD = "evil-1"
CP_ID = "1f1e7000-0000-6000-8000-000000000001"


def _ext(code: int, *payload: Any) -> msgpack.ExtType:
    return msgpack.ExtType(code, msgpack.packb(list(payload), use_bin_type=True))


class _Boom:
    """Pickles to a call of os.system: loading it would run the command."""

    def __init__(self, command: str) -> None:
        self.command = command

    def __reduce__(self) -> tuple[Any, ...]:
        return (os.system, (self.command,))


def _hostile_values(marker: Path) -> dict[str, Any]:
    cmd = f"touch {marker}"
    return {
        "single": _ext(0, "os", "system", cmd),
        "positional": _ext(1, "os", "system", [cmd]),
        "keywords": _ext(2, "subprocess", "Popen", {"args": ["touch", str(marker)]}),
        "method": _ext(3, "os", "system", cmd, "__call__"),
        "method_iso": _ext(
            3, "builtins", "eval", f"__import__('os').system({cmd!r})", "fromisoformat"
        ),
        "pydantic_v1": _ext(4, "os", "system", {"command": cmd}),
        "pydantic_v2": _ext(5, "os", "system", {"command": cmd}, "model_validate_json"),
        "nested": [
            {"deep": _ext(2, "x", "Y", {"inner": _ext(0, "os", "system", cmd)})}
        ],
        "unknown_ext": msgpack.ExtType(42, b"\x01\x02"),
        "secret": _ext(0, "pydantic.types", "SecretStr", "hunter2-plaintext"),
    }


def _plant(path: Path, marker: Path) -> None:
    """Add a thread of hostile blobs to a LangGraph SQLite database."""
    checkpoint = {
        "v": 4,
        "id": CP_ID,
        "ts": "2026-01-01T00:00:00+00:00",
        "channel_values": _hostile_values(marker),
        "channel_versions": {},
        "versions_seen": {},
    }
    blob = msgpack.packb(checkpoint, use_bin_type=True)
    cmd = f"touch {marker}"
    lc2 = {"lc": 2, "type": "constructor", "id": ["os", "system"], "args": [cmd]}
    lc1 = {"lc": 1, "type": "constructor", "id": ["os", "system"], "kwargs": {"c": cmd}}
    writes = [
        ("json2", "json", json.dumps({"x": lc2}).encode()),
        ("json1", "json", json.dumps(lc1).encode()),
        ("pickled", "pickle", pickle.dumps(_Boom(cmd))),
        ("legacy_pickle", None, pickle.dumps(_Boom(cmd))),
        ("encrypted", "msgpack+aes", os.urandom(64)),
        ("broken", "msgpack", b"\xc1\xff\x00"),
        ("fine", "msgpack", msgpack.packb({"ok": 1})),
    ]
    conn = sqlite3.connect(path)
    with conn:
        conn.execute(
            "INSERT INTO checkpoints VALUES (?, '', ?, NULL, 'msgpack', ?, ?)",
            (THREAD, CP_ID, blob, b'{"source": "loop", "step": 0, "parents": {}}'),
        )
        for idx, (channel, tag, value) in enumerate(writes):
            conn.execute(
                "INSERT INTO writes VALUES (?, '', ?, 'task-1', '~__pregel_pull, n', ?, ?, ?, ?)",
                (THREAD, CP_ID, idx, channel, tag, value),
            )
    conn.close()


async def test_hostile_blobs_run_nothing(scenario_db: Path, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    _plant(scenario_db, marker)
    async with open_langgraph(str(scenario_db)) as cp:
        checkpoint = await cp.get(THREAD)
        history = await cp.history(THREAD)
        metas = [m async for m in cp.summaries(THREAD)]
    assert not marker.exists(), "decoding ran a command named in the data"
    assert checkpoint is not None
    assert len(history) == 1
    assert len(metas) == 1
    values = checkpoint.values
    for key in ("single", "positional", "method", "pydantic_v1", "pydantic_v2"):
        assert isinstance(values[key], Inert), key
        assert values[key].type_name == "os.system"
    assert values["keywords"].type_name == "subprocess.Popen"
    assert values["keywords"]["args"] == ["touch", str(marker)]
    assert values["method_iso"].type_name == "builtins.eval"
    assert values["nested"][0]["deep"]["inner"].type_name == "os.system"
    assert values["unknown_ext"].type_name == "langgraph.ext42"
    assert values["secret"]["value"] == "**********"
    assert "hunter2-plaintext" not in repr(checkpoint)
    by_channel = {k: v for w in checkpoint.pending_writes for k, v in w.value.items()}
    assert by_channel["json2"] == {"x": by_channel["json2"]["x"]}
    assert by_channel["json2"]["x"].type_name == "os.system"
    assert by_channel["json1"].type_name == "os.system"
    assert by_channel["pickled"].type_name == "langgraph.pickle"
    assert by_channel["pickled"]["size"] > 0
    assert by_channel["legacy_pickle"].type_name == "langgraph.pickle"
    assert by_channel["encrypted"].type_name == "langgraph.encrypted"
    assert by_channel["encrypted"]["type"] == "msgpack+aes"
    assert by_channel["broken"].type_name == "langgraph.undecodable"
    assert by_channel["fine"] == {"ok": 1}  # the rest of the checkpoint still reads


def test_control_the_payloads_are_live(tmp_path: Path) -> None:
    """The same bytes do run a command when revived by name (here through pickle,
    in a scratch directory), so the test above proves something."""
    marker = tmp_path / "control"
    pickle.loads(pickle.dumps(_Boom(f"touch {marker}")))
    assert marker.exists()
    assert decode_typed(
        "pickle", pickle.dumps(_Boom(f"touch {marker}.2"))
    ).type_name == ("langgraph.pickle")
    assert not Path(f"{marker}.2").exists()


def _digest(path: Path) -> dict[str, str]:
    out = {}
    for suffix in ("", "-wal"):
        p = Path(f"{path}{suffix}")
        if p.exists() and p.stat().st_size > 0:
            out[suffix] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


async def test_database_bytes_unchanged(tmp_path: Path) -> None:
    path = tmp_path / "live.db"
    # A live writer keeps the database in WAL mode with an un-checkpointed -wal.
    with lgdb.sqlite_saver(path) as saver:
        lgdb.populate(saver)
        before = _digest(path)
        assert "-wal" in before  # and it is not empty: see _digest
        async with open_langgraph(str(path)) as cp:
            threads = await cp.threads()
            for info in threads:
                for full in await cp.history(info.thread_id):
                    assert await cp.get(info.thread_id, full.id) is not None
                    await cp.children(full.id)
                _ = [m async for m in cp.summaries(info.thread_id)]
            await cp.recent(limit=1000)
            head = await cp.get(threads[0].thread_id)
            assert head is not None
            with pytest.raises(ReadOnlyError):
                await cp.put(head, expected_head=head.id)
            with pytest.raises(ReadOnlyError):
                await cp.put_pending(head.thread_id, head.id, head.pending_writes)
            with pytest.raises(ReadOnlyError):
                await cp.adelete_thread(head.thread_id)
            with pytest.raises(ReadOnlyError):
                await cp.prune(head.thread_id, keep_last=1)
            # Read-only is enforced by SQLite itself, not only by the methods above.
            assert isinstance(cp, LangGraphSqlite)
            conn = await cp._conn()
            with pytest.raises(sqlite3.OperationalError, match="readonly"):
                await conn.execute("DELETE FROM checkpoints")
        assert _digest(path) == before
