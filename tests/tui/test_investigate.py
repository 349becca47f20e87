"""Finding the bad step from the command line: find, bisect, blame, du, diff --steps
and eval, on Timeloom SQLite databases and on LangGraph databases written by real
LangGraph. Every answer is checked against the checkpoints read one by one with
``get()`` (another code path than the tools' bulk reads)."""

from __future__ import annotations

import asyncio
import json
import math
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from tests.langgraph import lgdb
from timeloom.backends.langgraph import open_langgraph
from timeloom.backends.postgres import PostgresCheckpointer
from timeloom.backends.sqlite import SqliteCheckpointer
from timeloom.core.checkpoint import Checkpoint
from timeloom.core.checkpointer import BaseCheckpointer
from timeloom.core.ids import new_checkpoint_id
from timeloom.tui.cli import main
from timeloom.tui.demo.build import build_demo
from timeloom.tui.demo.command import DEMO_GRAPH
from timeloom.tui.investigate.bisect import bisect
from timeloom.tui.investigate.paths import MISSING, parse_path, value_at
from timeloom.tui.investigate.query import compile_query, document, plain
from timeloom.tui.investigate.timeline import ThreadStates
from timeloom.tui.ops.jsondecode import decode

STEPS = 200
BAD_STEP = 137  # where `refund` first exceeds the order's total, for good
FLIP_STEP = 50  # in the flaky thread, `alarm` is true only at this step


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def cli_json(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, Any]:
    code, out, err = cli(capsys, *argv, "--json")
    assert err == ""
    return code, json.loads(out)


async def _write_thread(
    cp: BaseCheckpointer, thread: str, values_at: Any, nodes: tuple[str, ...]
) -> None:
    parent: Checkpoint | None = None
    moment = datetime(2026, 1, 1, tzinfo=UTC)
    for step in range(-1, STEPS - 1):
        node = nodes[step % len(nodes)]
        values = values_at(step)
        checkpoint = Checkpoint(
            id=new_checkpoint_id(),
            thread_id=thread,
            parent_id=parent.id if parent else None,
            parent_thread_id=thread if parent else None,
            step=step,
            source="input" if step < 0 else "loop",
            created_at=moment + timedelta(seconds=step + 1),
            values=values,
            next=(node,),
            writes={node: {"refund": values["refund"]}} if step >= 0 else {},
        )
        await cp.put(checkpoint, expected_head=parent.id if parent else None)
        parent = checkpoint


def _refund_values(step: int) -> dict[str, Any]:
    amount = Decimal("40.00") if step < BAD_STEP else Decimal("900.00")
    return {
        "order": {"total": Decimal("100.00"), "id": 7},
        "refund": {"amount": amount, "reason": "late" if step < 90 else "lost"},
        "messages": [f"message {i}" for i in range(step + 2)],
        "alarm": step == FLIP_STEP,
    }


@pytest.fixture(scope="module")
def timeloom_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo database plus a long thread with one bad write, in SQLite."""
    path = tmp_path_factory.mktemp("investigate") / "checkpoints.db"

    async def build() -> None:
        async with SqliteCheckpointer(path, synchronous="OFF") as cp:
            await build_demo(cp)
            await _write_thread(cp, "long", _refund_values, ("agent", "tool"))

    asyncio.run(build())
    return path


@pytest.fixture(scope="module")
def langgraph_db(tmp_path_factory: pytest.TempPathFactory) -> lgdb.Built:
    """LangGraph's scenario database plus a 12-turn chat, written by LangGraph."""
    path = tmp_path_factory.mktemp("lg") / "langgraph.db"
    built = lgdb.build_sqlite(path)
    with lgdb.sqlite_saver(path) as saver:
        lgdb.write_chats(saver, threads=1, turns=12)
    return built


@pytest.fixture(params=["timeloom", "langgraph"])
def any_db(
    request: pytest.FixtureRequest, timeloom_db: Path, langgraph_db: lgdb.Built
) -> str:
    return str(timeloom_db) if request.param == "timeloom" else str(langgraph_db.url)


def _open(url: str) -> BaseCheckpointer:
    if "langgraph" in url:
        return open_langgraph(url)
    if url.startswith("postgresql://"):
        return PostgresCheckpointer(url, read_only=True)
    return SqliteCheckpointer(url, read_only=True)


def every_checkpoint(url: str) -> list[Checkpoint]:
    """Every checkpoint of every thread, read one by one with get()."""

    async def read() -> list[Checkpoint]:
        cp = _open(url)
        async with cp:
            found = []
            for info in await cp.threads(limit=10_000):
                async for meta in cp.summaries(info.thread_id):
                    checkpoint = await cp.get(info.thread_id, meta.id)
                    assert checkpoint is not None
                    found.append(checkpoint)
            return found

    return asyncio.run(read())


def expected_matches(url: str, query: str, thread: str | None = None) -> set[str]:
    compiled = compile_query(query)
    return {
        c.id
        for c in every_checkpoint(url)
        if (thread is None or c.thread_id == thread)
        and compiled.holds(document(c.summary(), c.values))
    }


# -- find ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        "values.refund.amount > `100`",
        "length(values.messages) > `4` && step < `6`",
        "values.messages[?role == 'tool']",
        "metadata.user_id == 'u1' || metadata.user == 'demo'",
    ],
)
def test_find_across_threads_matches_a_checkpoint_by_checkpoint_reading(
    capsys: pytest.CaptureFixture[str], any_db: str, query: str
) -> None:
    code, data = cli_json(capsys, "find", any_db, query, "--limit", "100000")
    found = {m["checkpoint_id"] for m in data["matches"]}
    assert found == expected_matches(any_db, query)
    assert code == (0 if found else 1)


def test_find_in_one_thread_prints_each_match(
    capsys: pytest.CaptureFixture[str], timeloom_db: Path
) -> None:
    code, out, _ = cli(
        capsys, "find", str(timeloom_db), "values.alarm", "--thread", "long"
    )
    assert code == 0
    assert f"step {FLIP_STEP}" in out
    assert out.strip().endswith("1 match in 1 thread")


def test_find_on_a_langgraph_thread_finds_tool_messages(
    capsys: pytest.CaptureFixture[str], langgraph_db: lgdb.Built
) -> None:
    query = "values.messages[?role == 'tool' && contains(content, 'result')]"
    code, data = cli_json(
        capsys, "find", langgraph_db.url, query, "--thread", "thread-00000"
    )
    assert code == 0
    expected = expected_matches(langgraph_db.url, query, "thread-00000")
    assert len(expected) > 20
    assert {m["checkpoint_id"] for m in data["matches"]} == expected


def test_a_bad_query_exits_2_with_the_reason(
    capsys: pytest.CaptureFixture[str], timeloom_db: Path
) -> None:
    code, out, err = cli(capsys, "find", str(timeloom_db), "values.[")
    assert code == 2
    assert "Bad query" in err
    assert out == ""


# -- queries can never run code --------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        "__import__('os').system('touch pwned')",
        "eval('1')",
        'system(`"touch pwned"`)',
        "exec(values)",
    ],
)
def test_a_query_cannot_call_python(query: str, tmp_path: Path) -> None:
    from timeloom.tui.investigate.query import QueryError

    with pytest.raises(QueryError):
        compile_query(query)
    assert not (tmp_path / "pwned").exists()


def test_queries_see_plain_json_only(timeloom_db: Path) -> None:
    """Whatever a state holds (dataclasses, Decimals, datetimes, inert values),
    a query sees only JSON types: no object whose methods a query could reach."""
    allowed = (dict, list, str, int, float, bool, type(None))

    def walk(value: Any) -> Iterator[Any]:
        yield value
        if isinstance(value, dict):
            for key, item in value.items():
                assert isinstance(key, str)
                yield from walk(item)
        elif isinstance(value, list):
            for item in value:
                yield from walk(item)

    checkpoints = every_checkpoint(str(timeloom_db))
    for checkpoint in checkpoints:
        doc = document(checkpoint.summary(), checkpoint.values)
        assert all(isinstance(v, allowed) for v in walk(doc))
    # Dunder names are plain keys in JSON: nothing there, nothing reached.
    query = compile_query("values.__class__ || values.order.__init__")
    assert not any(query.holds(document(c.summary(), c.values)) for c in checkpoints)


# -- bisect ----------------------------------------------------------------------------


def test_bisect_finds_the_bad_write_in_log_n_reads(
    capsys: pytest.CaptureFixture[str], timeloom_db: Path
) -> None:
    query = "values.refund.amount > values.order.total"
    code, data = cli_json(capsys, "bisect", str(timeloom_db), "long", query)
    assert code == 0
    assert data["mode"] == "binary"
    assert data["read_mode"] == "content-addressed"
    assert data["first"]["step"] == BAD_STEP
    assert data["before"]["step"] == BAD_STEP - 1
    node = data["first"]["nodes"][0]
    assert data["writes"] == {node: {"refund": {"amount": 900.0, "reason": "lost"}}}
    assert "refund.amount: 40.00 → 900.00" in data["diff"]
    assert data["reads"] <= math.ceil(math.log2(STEPS)) + 2


def test_bisect_reads_only_the_summaries_it_needs(timeloom_db: Path) -> None:
    """Loaded without summaries, bisect walks the branch by ids and reads the
    summaries and headers of the checkpoints it tests, and finds what a thread
    loaded whole finds."""
    query = compile_query("values.refund.amount > values.order.total")

    async def run() -> tuple[Any, Any, int, bool]:
        async with SqliteCheckpointer(timeloom_db, read_only=True) as cp:
            whole = await bisect(await ThreadStates.load(cp, "long"), query)
            lazy_states = await ThreadStates.load(cp, "long", summaries=False)
            lazy = await bisect(lazy_states, query)
            known = len(lazy_states.headers or {})
            return whole, lazy, known, lazy_states.complete

    whole, lazy, known, complete = asyncio.run(run())
    assert lazy == whole
    assert lazy.first is not None
    assert lazy.first.step == BAD_STEP
    assert not complete
    assert known <= math.ceil(math.log2(STEPS)) + 3


def test_bisect_goes_linear_when_the_query_is_false_at_the_tip(
    capsys: pytest.CaptureFixture[str], timeloom_db: Path
) -> None:
    code, data = cli_json(capsys, "bisect", str(timeloom_db), "long", "values.alarm")
    assert code == 0
    assert data["mode"] == "linear"
    assert "does not hold at the tip" in data["reason"]
    assert data["first"]["step"] == FLIP_STEP


def test_bisect_linear_on_request_and_when_it_never_holds(
    capsys: pytest.CaptureFixture[str], timeloom_db: Path
) -> None:
    url = str(timeloom_db)
    code, data = cli_json(
        capsys, "bisect", url, "long", "values.refund.reason == 'lost'", "--linear"
    )
    assert (code, data["mode"], data["first"]["step"]) == (0, "linear", 90)
    assert data["reads"] == 90 + 2  # steps -1..90, every one read in order
    code, out, _ = cli(capsys, "bisect", url, "long", "values.nothing")
    assert code == 1
    assert "never holds" in out
    assert "linear search" in out


def test_bisect_on_a_langgraph_thread(
    capsys: pytest.CaptureFixture[str], langgraph_db: lgdb.Built
) -> None:
    query = "length(values.messages) > `20`"
    code, data = cli_json(capsys, "bisect", langgraph_db.url, "thread-00000", query)
    assert code == 0
    assert data["mode"] == "binary"
    assert data["read_mode"] == "history"
    matches = expected_matches(langgraph_db.url, query, "thread-00000")
    by_id = {c.id: c for c in every_checkpoint(langgraph_db.url)}
    first = min(matches, key=lambda cid: by_id[cid].step)
    assert data["first"]["checkpoint_id"] == first
    assert data["reads"] <= math.ceil(math.log2(60)) + 2


# -- blame -----------------------------------------------------------------------------


def _changes(url: str, thread: str, path: str) -> list[tuple[int, Any]]:
    """(step, new value) wherever the value at path changed, read one by one."""
    parsed = parse_path(path)
    history = sorted(
        (c for c in every_checkpoint(url) if c.thread_id == thread),
        key=lambda c: c.id,
    )
    found, previous = [], MISSING
    for checkpoint in history:
        current = value_at(checkpoint.values, parsed)
        if current is not previous and current != previous:
            found.append((checkpoint.step, plain(current)))
        previous = current
    return found


@pytest.mark.parametrize(
    ("thread", "path"),
    [("long", "refund.amount"), ("long", "messages[3]"), ("refund-4711", "refund")],
)
def test_blame_lists_every_change_of_a_path(
    capsys: pytest.CaptureFixture[str], timeloom_db: Path, thread: str, path: str
) -> None:
    code, data = cli_json(capsys, "blame", str(timeloom_db), thread, path)
    assert code == 0
    assert data["read_modes"] == ["content-addressed"]
    got = [(c["step"], c["new"]) for c in data["changes"]]
    assert got == _changes(str(timeloom_db), thread, path)
    assert all(c["diff"] for c in data["changes"])


def test_blame_follows_a_fork_back_into_its_origin(
    capsys: pytest.CaptureFixture[str], timeloom_db: Path
) -> None:
    url = str(timeloom_db)
    code, data = cli_json(capsys, "blame", url, "refund-3150-partial", "refund.amount")
    assert code == 0
    # The branch read one by one with get(), across the fork.
    by_id = {c.id: c for c in every_checkpoint(url)}
    info = asyncio.run(_head_of(url, "refund-3150-partial"))
    branch: list[Checkpoint] = []
    at: str | None = info
    while at is not None:
        branch.append(by_id[at])
        at = by_id[at].parent_id
    branch.reverse()
    assert {c.thread_id for c in branch} == {"refund-3150", "refund-3150-partial"}
    expected, previous = [], MISSING
    for checkpoint in branch:
        current = value_at(checkpoint.values, ("refund", "amount"))
        if current != previous:
            expected.append((checkpoint.thread_id, checkpoint.id))
        previous = current
    got = [(c["thread_id"], c["checkpoint_id"]) for c in data["changes"]]
    assert got == expected
    assert [c["source"] for c in data["changes"]][-1] == "fork"
    assert data["checkpoints"] == len(branch)


async def _head_of(url: str, thread: str) -> str:
    cp = _open(url)
    async with cp:
        info = await cp.get_thread(thread)
        assert info is not None
        return info.head_id


def test_blame_text_names_node_source_and_change(
    capsys: pytest.CaptureFixture[str], timeloom_db: Path
) -> None:
    code, out, _ = cli(capsys, "blame", str(timeloom_db), "long", "refund.amount")
    assert code == 0
    lines = out.splitlines()
    assert "+ refund.amount: 40.00" in lines[0]
    assert "input" in lines[0]
    assert f"step   {BAD_STEP}" in lines[1]
    assert "loop" in lines[1]
    assert "~ refund.amount: 40.00 → 900.00" in lines[1]


def test_blame_on_langgraph_agrees_with_langgraph(
    capsys: pytest.CaptureFixture[str], langgraph_db: lgdb.Built
) -> None:
    code, data = cli_json(capsys, "blame", langgraph_db.url, "chat-1", "log")
    assert code == 0
    # LangGraph's own history of the channel, newest first; it reports a list
    # channel nothing has written yet as [] (the reader: not there).
    own = [s["values"].get("log") or None for s in langgraph_db.history[("chat-1", "")]]
    own.reverse()
    changes = [v for i, v in enumerate(own) if i == 0 or v != own[i - 1]]
    changes = [v for v in changes if v is not None]
    assert len(changes) > 3
    assert [c["new"] for c in data["changes"]] == changes


def test_blame_rejects_a_bad_path(
    capsys: pytest.CaptureFixture[str], timeloom_db: Path
) -> None:
    code, _, err = cli(capsys, "blame", str(timeloom_db), "long", "refund..x")
    assert code == 2
    assert "Bad path" in err
    code, _, err = cli(capsys, "blame", str(timeloom_db), "nope", "refund")
    assert code == 1


# -- du --------------------------------------------------------------------------------


def test_du_of_a_timeloom_thread_counts_each_blob_once(
    capsys: pytest.CaptureFixture[str], timeloom_db: Path
) -> None:
    code, data = cli_json(capsys, "du", str(timeloom_db), "long", "--checkpoints")
    assert code == 0
    assert data["layout"] == "timeloom"
    assert data["checkpoints"] == STEPS
    messages = data["keys"]["messages"]
    # The list grows by one item a step: each step stores about one item, and
    # shares the chunks before it, so what is shared dwarfs what is stored.
    assert messages["shared"] > 10 * messages["stored"]
    assert len(messages["growth"]) == STEPS
    # Everything the thread stored is in the database exactly once.
    with sqlite3.connect(timeloom_db) as conn:
        headers = conn.execute(
            "SELECT SUM(LENGTH(values_header)) FROM checkpoints WHERE thread_id='long'"
        ).fetchone()[0]
    stored_keys = sum(
        k["stored"] for c in data["per_checkpoint"] for k in c["keys"].values()
    )
    overhead = sum(c["overhead"] for c in data["per_checkpoint"])
    assert data["stored"] == stored_keys + overhead
    assert overhead <= headers


def test_du_of_a_timeloom_database_matches_sql(
    capsys: pytest.CaptureFixture[str], timeloom_db: Path
) -> None:
    code, data = cli_json(capsys, "du", str(timeloom_db))
    assert code == 0
    with sqlite3.connect(timeloom_db) as conn:
        count, blob_bytes = conn.execute(
            "SELECT COUNT(*), SUM(LENGTH(data)) FROM blobs"
        ).fetchone()
        checkpoints = conn.execute("SELECT COUNT(*) FROM checkpoints").fetchone()[0]
    assert (data["blobs"], data["blob_bytes"]) == (count, blob_bytes)
    assert data["checkpoints"] == checkpoints
    assert data["top_threads"][0]["thread_id"] == "long"
    code, out, _ = cli(capsys, "du", str(timeloom_db))
    assert f"{checkpoints:,} checkpoints" in out


def test_du_of_a_langgraph_thread_explains_the_restored_channels(
    capsys: pytest.CaptureFixture[str], langgraph_db: lgdb.Built
) -> None:
    code, data = cli_json(
        capsys, "du", langgraph_db.url, "thread-00000", "--checkpoints"
    )
    assert code == 0
    assert data["layout"] == "langgraph"
    with sqlite3.connect(langgraph_db.url) as conn:
        rows = dict(
            conn.execute(
                "SELECT checkpoint_id, LENGTH(checkpoint) FROM checkpoints "
                "WHERE thread_id = 'thread-00000'"
            ).fetchall()
        )
    per = data["per_checkpoint"]
    assert {c["checkpoint_id"] for c in per} == set(rows)
    for c in per:  # the channels' bytes are part of the stored checkpoint
        assert sum(k["stored"] for k in c["keys"].values()) < rows[c["checkpoint_id"]]
    messages = data["keys"]["messages"]
    assert messages["restored"] > 0.8 * messages["stored"]
    assert data["timeloom_estimate"] * 5 < data["stored"]
    code, out, _ = cli(capsys, "du", langgraph_db.url, "thread-00000")
    assert "repeats what the parent checkpoint already stored" in out
    assert "in Timeloom's layout" in out


def test_du_of_a_langgraph_database_lists_its_threads(
    capsys: pytest.CaptureFixture[str], langgraph_db: lgdb.Built
) -> None:
    code, data = cli_json(capsys, "du", langgraph_db.url, "--top", "3")
    assert code == 0
    assert data["top_threads"][0]["thread_id"] == "thread-00000"
    assert len(data["top_threads"]) == 3
    with sqlite3.connect(langgraph_db.url) as conn:
        (count,) = conn.execute(
            "SELECT COUNT(*) FROM checkpoints WHERE checkpoint_ns = ''"
        ).fetchone()
    assert data["checkpoints"] == count


# -- diff --steps ---------------------------------------------------------------------


def test_diff_steps_aligns_an_original_and_its_fork(
    capsys: pytest.CaptureFixture[str], timeloom_db: Path
) -> None:
    url = str(timeloom_db)
    code, data = cli_json(
        capsys, "diff", url, "refund-3150", "refund-3150-partial", "--steps"
    )
    assert code == 1
    assert not data["identical"]
    rows = {r["step"]: r for r in data["steps"]}
    shared = [s for s, r in rows.items() if r["same_checkpoint"]]
    assert shared == list(range(-1, max(shared) + 1))  # the common past
    first = rows[max(shared) + 1]
    assert first["b"]["source"] == "fork"
    assert "refund.amount: 749.00 → 500.00" in first["diff"]
    assert rows[max(rows)]["a"] is None  # the fork ran on
    code, data = cli_json(capsys, "diff", url, "long", "long", "--steps")
    assert code == 0
    assert all(r["same_checkpoint"] for r in data["steps"])


def test_diff_steps_on_a_langgraph_replayed_branch(
    capsys: pytest.CaptureFixture[str], langgraph_db: lgdb.Built
) -> None:
    history = langgraph_db.history[("fork-1", "")]
    parents = {s["parent"] for s in history}
    tips = [s["id"] for s in history if s["id"] not in parents]
    assert len(tips) == 2  # the original run and the replay
    code, data = cli_json(
        capsys,
        "diff",
        langgraph_db.url,
        f"fork-1@{tips[0]}",
        f"fork-1@{tips[1]}",
        "--steps",
    )
    assert code in (0, 1)
    same = [r["step"] for r in data["steps"] if r["same_checkpoint"]]
    assert same
    assert same == sorted(same)
    assert any(not r["same_checkpoint"] for r in data["steps"])


# -- eval export -----------------------------------------------------------------------


def test_eval_rows_are_the_states_along_the_branch(
    capsys: pytest.CaptureFixture[str], any_db: str
) -> None:
    thread = "refund-4711" if "langgraph" not in any_db else "chat-1"
    code, out, err = cli(capsys, "eval", any_db, thread, "--next")
    assert (code, err) == (0, "")
    rows = [json.loads(line) for line in out.splitlines()]
    by_id = {c.id: c for c in every_checkpoint(any_db) if c.thread_id == thread}
    assert [r["metadata"]["step"] for r in rows] == sorted(
        r["metadata"]["step"] for r in rows
    )
    for row, following in zip(rows, rows[1:] + [None], strict=True):
        checkpoint = by_id[row["metadata"]["checkpoint_id"]]
        assert decode(row["inputs"]) == dict(checkpoint.values)
        if following is None:
            assert "reference_outputs" not in row
        else:
            assert row["reference_outputs"] == following["inputs"]


def test_eval_pytest_resumes_the_graph_from_the_checkpoint(
    capsys: pytest.CaptureFixture[str], timeloom_db: Path, tmp_path: Path
) -> None:
    checkpoints = [c for c in every_checkpoint(str(timeloom_db)) if c.step == 0]
    start = next(c for c in checkpoints if c.thread_id == "refund-4711")
    target = tmp_path / "test_regression.py"
    code, out, _ = cli(
        capsys,
        "eval",
        str(timeloom_db),
        f"refund-4711@{start.id}",
        "--pytest",
        str(target),
        "--graph",
        DEMO_GRAPH,
    )
    assert code == 0
    text = target.read_text()
    assert 'pytest.fail("complete this test' in text

    def run_it() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", target],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            timeout=120,
        )

    assert "complete this test" in run_it().stdout  # fails until completed
    # The user completes it: the run goes on from step 0 to the approval.
    target.write_text(
        text.replace(
            'pytest.fail("complete this test with an assertion on `result`")',
            'assert result["order"]["item"] == "Fountain pen"\n'
            '    assert len(result["messages"]) > len(before["messages"])',
        )
    )
    done = run_it()
    assert done.returncode == 0, done.stdout + done.stderr


def test_eval_pytest_needs_a_graph(
    capsys: pytest.CaptureFixture[str], timeloom_db: Path, tmp_path: Path
) -> None:
    code, _, err = cli(
        capsys, "eval", str(timeloom_db), "long", "--pytest", str(tmp_path / "t.py")
    )
    assert code == 2
    assert "--graph" in err


# -- what reaches the terminal ---------------------------------------------------------


def test_control_characters_from_the_database_are_escaped(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "hostile.db"
    evil = "evil\x1b[2J\x1b]0;owned\x07"

    async def build() -> None:
        async with SqliteCheckpointer(path) as cp:
            await cp.put(
                Checkpoint(
                    id=new_checkpoint_id(),
                    thread_id=evil,
                    parent_id=None,
                    parent_thread_id=None,
                    step=-1,
                    source="input",
                    created_at=datetime.now(UTC),
                    values={evil: evil, "n": 1},
                    next=(evil,),
                    writes={evil: {evil: evil}},
                ),
                expected_head=None,
            )

    asyncio.run(build())
    for argv in (
        ["find", str(path), "values"],
        ["blame", str(path), evil, "n"],
        ["bisect", str(path), evil, "values.n"],
        ["du", str(path), evil],
        ["du", str(path)],
        ["diff", str(path), evil, evil, "--steps"],
    ):
        code, out, err = cli(capsys, *argv)
        assert code == 0, (argv, err)
        assert "\x1b" not in out, argv
        assert "\x07" not in out, argv
        assert "\\x1b" in out, argv


# -- Timeloom on Postgres ----------------------------------------------------------------


@pytest.mark.postgres
def test_the_tools_on_a_timeloom_postgres_database(
    capsys: pytest.CaptureFixture[str], postgres_dsn: str
) -> None:
    async def build() -> None:
        async with PostgresCheckpointer(postgres_dsn) as cp:
            await build_demo(cp)
            await _write_thread(cp, "long", _refund_values, ("agent", "tool"))

    asyncio.run(build())
    query = "values.refund.amount > values.order.total"
    code, data = cli_json(capsys, "find", postgres_dsn, query, "--limit", "100000")
    assert code == 0
    assert {m["checkpoint_id"] for m in data["matches"]} == expected_matches(
        postgres_dsn, query
    )
    code, data = cli_json(capsys, "bisect", postgres_dsn, "long", query)
    assert (data["read_mode"], data["mode"]) == ("content-addressed", "binary")
    assert data["first"]["step"] == BAD_STEP
    code, data = cli_json(capsys, "blame", postgres_dsn, "long", "refund.amount")
    assert [(c["step"], c["new"]) for c in data["changes"]] == _changes(
        postgres_dsn, "long", "refund.amount"
    )
    code, data = cli_json(capsys, "du", postgres_dsn, "long")
    assert code == 0
    assert data["keys"]["messages"]["shared"] > 10 * data["keys"]["messages"]["stored"]
    code, data = cli_json(capsys, "du", postgres_dsn)
    assert code == 0
    assert data["top_threads"][0]["thread_id"] == "long"


# -- LangGraph on Postgres ---------------------------------------------------------------


@pytest.fixture
def langgraph_postgres(postgres_dsn: str) -> str:
    """LangGraph's scenarios and a 12-turn chat, written by LangGraph's
    PostgresSaver; the DSN names it so that the reference reads open it with the
    LangGraph reader."""
    lgdb.build_postgres(postgres_dsn)
    with lgdb.postgres_saver(postgres_dsn) as saver:
        lgdb.write_chats(saver, threads=1, turns=12)
    return (
        postgres_dsn
        + ("&" if "?" in postgres_dsn else "?")
        + ("application_name=langgraph-tests")
    )


@pytest.mark.postgres
def test_find_bisect_blame_on_a_langgraph_postgres_database(
    capsys: pytest.CaptureFixture[str], langgraph_postgres: str
) -> None:
    url = langgraph_postgres
    query = "values.messages[?contains(content, 'turn 7')]"
    code, data = cli_json(capsys, "find", url, query, "--limit", "100000")
    assert code == 0
    expected = expected_matches(url, query)
    assert expected
    assert {m["checkpoint_id"] for m in data["matches"]} == expected
    query = "length(values.messages) > `10`"
    code, data = cli_json(capsys, "bisect", url, "thread-00000", query)
    assert (code, data["mode"], data["read_mode"]) == (0, "binary", "history")
    matches = expected_matches(url, query, "thread-00000")
    by_id = {c.id: c for c in every_checkpoint(url)}
    assert data["first"]["checkpoint_id"] == min(
        matches, key=lambda cid: by_id[cid].step
    )
    code, data = cli_json(capsys, "blame", url, "thread-00000", "messages")
    assert code == 0
    assert [(c["step"], c["new"]) for c in data["changes"]] == _changes(
        url, "thread-00000", "messages"
    )


@pytest.mark.postgres
def test_du_of_a_langgraph_postgres_thread_counts_each_version_once(
    capsys: pytest.CaptureFixture[str], langgraph_postgres: str
) -> None:
    url = langgraph_postgres
    code, data = cli_json(capsys, "du", url, "thread-00000", "--checkpoints")
    assert code == 0
    assert data["layout"] == "langgraph"

    async def stored() -> tuple[dict[str, int], int, set[str]]:
        conn = await asyncpg.connect(url)
        try:
            blobs = await conn.fetch(
                "SELECT channel, octet_length(blob) AS n FROM checkpoint_blobs "
                "WHERE thread_id = 'thread-00000' AND checkpoint_ns = ''"
            )
            writes = await conn.fetchval(
                "SELECT sum(octet_length(blob)) FROM checkpoint_writes "
                "WHERE thread_id = 'thread-00000' AND checkpoint_ns = ''"
            )
            ids = await conn.fetch(
                "SELECT checkpoint_id FROM checkpoints "
                "WHERE thread_id = 'thread-00000' AND checkpoint_ns = ''"
            )
        finally:
            await conn.close()
        per_channel: dict[str, int] = {}
        for b in blobs:
            per_channel[b["channel"]] = per_channel.get(b["channel"], 0) + b["n"]
        return per_channel, int(writes or 0), {r[0] for r in ids}

    per_channel, _writes, ids = asyncio.run(stored())
    assert {c["checkpoint_id"] for c in data["per_checkpoint"]} == ids
    # Each stored version of messages is counted once, where it was first stored;
    # the checkpoints that merely name it again share it.
    messages = data["keys"]["messages"]
    assert messages["stored"] == per_channel["messages"]
    assert messages["shared"] > 0
    # A message list that grew is stored again whole: most of it repeats the
    # version before.
    assert messages["restored"] > 0.5 * messages["stored"]
    assert data["timeloom_estimate"] < data["stored"]
    code, out, _ = cli(capsys, "du", url, "thread-00000")
    assert "each new version of a channel whole" in out
    assert "in Timeloom's layout" in out
    code, data = cli_json(capsys, "du", url, "--top", "3")
    assert code == 0
    assert data["top_threads"][0]["thread_id"] == "thread-00000"
