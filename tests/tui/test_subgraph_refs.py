"""Naming a subgraph's timeline on the command line as a user types it: the
thread and the node (``t1|sub``), the start of a task id (``t1|sub:1a2b``), nested
levels (``t1|sub|deep``), or as the app shows it (``t1 › sub``); a name that fits
several timelines lists them, one that fits none says how to list them. On a
SQLite database written by Timeloom's runtime and on LangGraph's (real
LangGraph, in ``tests/langgraph``)."""

from __future__ import annotations

import asyncio
import json

import pytest

from tests.tui.test_subgraph_timeline import build_graph
from timeloom.backends.sqlite import SqliteCheckpointer
from timeloom.tui.cli import main
from timeloom.tui.ops.subgraphs import typed_as


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> str:
    """Thread t1 run twice (so its ``sub`` node ran two subgraph timelines) and
    thread t2 once."""
    path = tmp_path_factory.mktemp("refs") / "checkpoints.db"

    async def run() -> None:
        cp = SqliteCheckpointer(path)
        await cp.setup()
        graph = build_graph(cp)
        for thread in ("t1", "t1", "t2"):
            config = {"configurable": {"thread_id": thread}}
            await graph.ainvoke({"log": []}, config)
        await cp.aclose()

    asyncio.run(run())
    return str(path)


def timelines(db: str, thread: str) -> list[str]:
    async def listed() -> list[str]:
        cp = SqliteCheckpointer(db)
        await cp.setup()
        try:
            return sorted(i.thread_id for i in await cp.subgraphs(thread))
        finally:
            await cp.aclose()

    return asyncio.run(listed())


def show(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["show", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_typed_as() -> None:
    timeline = "t|sub:2744ee2a-08d0|deep:b8507118-1111"
    for typed in (
        timeline,
        "t|sub|deep",
        "t|sub:2744|deep",
        "t|sub:2744ee2a-08d0|deep:b85",
    ):
        assert typed_as(typed, timeline), typed
    for typed in (
        "t|sub",  # one level, not two
        "t|su|deep",  # not the node's whole name
        "t|sub:9|deep",  # another task
        "u|sub|deep",  # another thread
        "t|sub|deep|1",  # the second graph of that task
    ):
        assert not typed_as(typed, timeline), typed
    assert typed_as("t|twice|1", "t|twice:abc|1")
    assert not typed_as("t|twice", "t|twice:abc|1")


def test_show_a_subgraph_by_thread_and_node(
    db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    (sub,) = [t for t in timelines(db, "t2") if t.count("|") == 1 and "|sub:" in t]
    code, out, err = show(capsys, db, "t2|sub", "--json")
    assert (code, err) == (0, "")
    assert json.loads(out)["thread_id"] == sub
    (deep,) = [t for t in timelines(db, "t2") if t.startswith(f"{sub}|deep:")]
    for typed in ("t2|sub|deep", "t2 › sub › deep", f"{sub}|deep"):
        code, out, _ = show(capsys, db, typed, "--json")
        assert code == 0
        assert json.loads(out)["thread_id"] == deep, typed


def test_an_ambiguous_subgraph_name_lists_the_timelines(
    db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    runs = [t for t in timelines(db, "t1") if t.count("|") == 1 and "|sub:" in t]
    assert len(runs) == 2  # t1 ran twice
    code, out, err = show(capsys, db, "t1|sub")
    assert (code, out) == (1, "")
    assert "'t1|sub' names 2 subgraph timelines" in err
    assert all(repr(t) in err for t in runs)
    assert "give more of the task id" in err
    # The start of one task id picks it (a head that also names the checkpoint).
    task = runs[1].split(":", 1)[1]
    code, out, _ = show(capsys, db, f"t1|sub:{task[:8]}", "--json")
    assert code == 0
    assert json.loads(out)["thread_id"] == runs[1]


def test_no_such_subgraph_says_how_to_list_them(
    db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = show(capsys, db, "t2|nope")
    assert code == 1
    assert "No subgraph timeline 't2|nope'" in err
    assert f"timeloom threads {db} --search 't2|' lists them" in err
    code, _, err = show(capsys, db, "t2|sub@0000000000")
    assert code == 1
    assert "No checkpoint '0000000000'" in err


def test_other_commands_take_a_subgraph_name(
    db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    (sub,) = [t for t in timelines(db, "t2") if t.count("|") == 1 and "|sub:" in t]
    assert main(["export", db, "t2|sub", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["thread"]["thread_id"] == sub
    assert main(["find", db, "step", "--thread", "t2|sub", "--json"]) == 0
    found = json.loads(capsys.readouterr().out)["matches"]
    assert found
    assert {m["thread_id"] for m in found} == {sub}
    assert main(["blame", db, "t2|sub", "log", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["changes"]
    assert main(["du", db, "t2|sub", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["thread_id"] == sub


def test_a_checkpoint_of_a_subgraph_by_its_name(
    db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = show(capsys, db, "t2|sub", "--json")
    head = json.loads(out)["checkpoint_id"]
    code, out, _ = show(capsys, db, f"t2|sub@{head[:-4]}", "--json")
    assert code == 0
    assert json.loads(out)["checkpoint_id"] == head
