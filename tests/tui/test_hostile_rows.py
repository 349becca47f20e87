"""One malformed row never breaks a listing or prints a traceback: that row reads
as unreadable, the rest of the database reads as usual.

Timeloom SQLite databases and LangGraph databases (SQLite and Postgres) are written
normally, then one thread's rows are damaged the way another program could.
"""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import msgpack
import pytest

from tests.langgraph import tamper
from tests.tui.seed import Seeder
from timeloom.backends.sqlite import SqliteCheckpointer
from timeloom.tui.cli import main

TIMELOOM_DAMAGE = {
    "header as text": "UPDATE checkpoints SET values_header = 'text' WHERE thread_id = 'bad'",
    "header of the wrong shape": (
        "UPDATE checkpoints SET values_header = x'93010203' WHERE thread_id = 'bad'"
    ),
    "created_at not a time": (
        "UPDATE checkpoints SET created_at = 'yesterday' WHERE thread_id = 'bad'"
    ),
    "thread times not times": (
        "UPDATE threads SET created_at = 'nope', updated_at = 3 WHERE thread_id = 'bad'"
    ),
    "next not JSON": "UPDATE checkpoints SET next = 'not json' WHERE thread_id = 'bad'",
    "nodes not a list": "UPDATE checkpoints SET nodes = '{\"a\": 1}' WHERE thread_id = 'bad'",
    "metadata as text": "UPDATE checkpoints SET metadata = 'zz' WHERE thread_id = 'bad'",
}


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    shown = captured.out + captured.err
    assert "Traceback" not in shown, shown
    return code, shown


async def _seed(path: Path) -> None:
    async with SqliteCheckpointer(path) as cp:
        seeder = Seeder(cp)
        for thread in ("good", "bad"):
            first = await seeder.put(
                thread,
                parent=None,
                step=-1,
                source="input",
                values={"x": [1, 2], "y": "z"},
                next_nodes=("n",),
            )
            await seeder.put(
                thread, parent=first, step=0, source="loop", values={"x": [1, 2, 3]}
            )


@pytest.mark.parametrize("damage", TIMELOOM_DAMAGE.values(), ids=TIMELOOM_DAMAGE.keys())
def test_a_damaged_timeloom_row(
    damage: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "t.db"
    asyncio.run(_seed(path))
    with sqlite3.connect(path) as conn:
        conn.execute(damage)
    conn.close()
    db = str(path)
    code, shown = _run(capsys, "threads", db)
    assert code == 0
    assert "good" in shown
    assert "bad" in shown
    code, shown = _run(capsys, "show", db, "good")
    assert code == 0
    assert '"x"' in shown
    said = ""
    for argv in (
        ("show", db, "bad", "--json"),
        ("export", db, "bad", "--json"),
        ("find", db, "values.x", "--thread", "bad"),
        ("blame", db, "bad", "x"),
        ("du", db, "bad"),
    ):
        code, shown = _run(capsys, *argv)
        # Shown with the damage named, or refused with one clear line (exit 2;
        # export streams, so what came before the damaged checkpoint is printed).
        assert code in (0, 2), shown
        if code == 2:
            assert "timeloom: " in shown  # stderr, after what stdout had
            assert shown.rsplit("timeloom: ", 1)[1].count("\n") == 1
        said += shown
    code, shown = _run(capsys, "threads", db, "--json")
    assert code == 0
    said += shown
    assert "unreadable" in said.lower()


def _last_row(url: str) -> str:
    return (
        "UPDATE checkpoints SET checkpoint = ? WHERE checkpoint_id = "
        "(SELECT max(checkpoint_id) FROM checkpoints)"
    )


LANGGRAPH_SQLITE_DAMAGE = {
    "channel_values a list": msgpack.packb(
        {"v": 4, "id": "x", "ts": "2026", "channel_values": [1, 2]}
    ),
    "checkpoint as text": "hello",
    "checkpoint a list": msgpack.packb([1, 2, 3]),
}


@pytest.mark.parametrize(
    "damage", LANGGRAPH_SQLITE_DAMAGE.values(), ids=LANGGRAPH_SQLITE_DAMAGE.keys()
)
def test_a_damaged_langgraph_sqlite_row(
    damage: bytes | str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = tamper.small_database("sqlite", tmp_path)
    tamper.execute(url, _last_row(url), damage)
    _langgraph_reads(url, capsys)


LANGGRAPH_POSTGRES_DAMAGE = {
    "channel_values a list": '{"v": 4, "id": "x", "channel_values": [1, 2]}',
    "checkpoint a string": '"hello"',
    "checkpoint a list": "[1, 2, 3]",
    "versions not a map": '{"channel_versions": [1], "versions_seen": 3}',
}


@pytest.mark.postgres
@pytest.mark.parametrize(
    "damage", LANGGRAPH_POSTGRES_DAMAGE.values(), ids=LANGGRAPH_POSTGRES_DAMAGE.keys()
)
def test_a_damaged_langgraph_postgres_row(
    damage: str, postgres_dsn: str, capsys: pytest.CaptureFixture[str]
) -> None:
    url = tamper.small_database("postgres", postgres_dsn)
    tamper.execute(url, _last_row(url).replace("= ?", "= ?::jsonb"), damage)
    _langgraph_reads(url, capsys)


def _langgraph_reads(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, shown = _run(capsys, "threads", url)
    assert code == 0
    assert tamper.THREAD in shown
    for command in ("show", "export"):
        code, shown = _run(capsys, command, url, tamper.THREAD)
        assert code == 0, shown
    code, shown = _run(capsys, "show", url, tamper.THREAD, "--json")
    assert code == 0
    assert "langgraph.undecodable" in shown
