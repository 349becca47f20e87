"""The headless CLI twins (threads, show, diff, export; text and --json) and demo."""

from __future__ import annotations

import asyncio
import io
import json
import tracemalloc
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.tui.conftest import parser, run, run_json
from tests.tui.seed import Seeder
from timeloom.backends.memory import MemoryCheckpointer
from timeloom.backends.sqlite import SqliteCheckpointer
from timeloom.tui.cli import build_parser
from timeloom.tui.demo.build import FORK, build_demo
from timeloom.tui.demo.command import DEMO_GRAPH, DemoDatabase, run_demo
from timeloom.tui.ops import resuming
from timeloom.tui.ops.graphref import bind_graph
from timeloom.tui.ops.jsondecode import decode


@pytest.fixture(scope="module")
def demo() -> MemoryCheckpointer:
    checkpointer = MemoryCheckpointer()
    asyncio.run(build_demo(checkpointer))
    # The twins only read: a read-only checkpointer proves they never write.
    checkpointer.read_only = True
    return checkpointer


def head_id(checkpointer: MemoryCheckpointer, thread: str) -> str:
    info = asyncio.run(checkpointer.get_thread(thread))
    assert info is not None
    return info.head_id


# -- threads ---------------------------------------------------------------------------


def test_threads_json(demo: MemoryCheckpointer) -> None:
    code, data = run_json(["threads", "memory:"], demo)
    assert code == 0
    by_id = {t["thread_id"]: t for t in data}
    assert set(by_id) == {
        "refund-1042",
        "question-88",
        "refund-2077",
        "refund-3150",
        "refund-4711",
        FORK,
    }
    assert by_id["refund-2077"]["status"] == "paused"
    assert by_id["refund-3150"]["status"] == "failed"
    assert by_id[FORK]["forked_from"]["thread_id"] == "refund-3150"
    assert by_id["refund-1042"]["metadata"] == {
        "user": "demo",
        "graph": "support-agent",
    }


def test_threads_filters_and_text(demo: MemoryCheckpointer) -> None:
    code, data = run_json(["threads", "memory:", "--status", "failed"], demo)
    assert [t["thread_id"] for t in data] == ["refund-3150"]
    code, data = run_json(
        ["threads", "memory:", "--search", "refund-3", "--limit", "1"], demo
    )
    assert len(data) == 1
    code, out, _ = run(["threads", "memory:", "--search", "refund-20"], demo)
    assert code == 0
    assert out.startswith("‖ refund-2077  paused")
    code, out, _ = run(["threads", "memory:", "--search", "nope"], demo)
    assert (code, out) == (1, "No threads.\n")


@pytest.mark.parametrize(
    "argv",
    [
        ["threads", "memory:", "--limit", "0"],
        ["threads", "memory:", "--limit", "-1"],
        ["find", "memory:", "step", "--limit", "0"],
        ["du", "memory:", "--top", "-3"],
        ["du", "memory:", "--top", "0"],
    ],
)
def test_a_count_below_one_is_refused(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """Not "No threads." (exit 1, as if the database were empty), a match
    printed past a limit of 0, nor an empty "Biggest threads:" list: a wrong
    argument (exit 2)."""
    with pytest.raises(SystemExit) as exited:
        build_parser().parse_args(argv)
    assert exited.value.code == 2
    flag = argv[-2]
    assert f"{flag}: must be a whole number of 1 or more" in capsys.readouterr().err


# -- show ----------------------------------------------------------------------------------


def test_show_json_of_a_failed_head(demo: MemoryCheckpointer) -> None:
    code, data = run_json(["show", "memory:", "refund-3150"], demo)
    assert code == 0
    assert data["checkpoint_id"] == head_id(demo, "refund-3150")
    assert data["status"] == "failed"
    assert data["next"] == ["issue_refund"]
    (error,) = data["errors"]
    assert error["node"] == "issue_refund"
    assert error["type"] == "PaymentError"
    values = decode(data["values"])
    assert values["refund"]["amount"] == Decimal("749.00")
    assert data["metadata"]["graph"] == "support-agent"


def test_show_interrupt_and_refs(demo: MemoryCheckpointer) -> None:
    cid = head_id(demo, "refund-2077")
    for ref in (f"refund-2077@{cid}", f"refund-2077@{cid[:-4]}", cid):
        code, data = run_json(["show", "memory:", ref], demo)
        assert code == 0
        assert data["checkpoint_id"] == cid
    (interrupt,) = data["interrupts"]
    assert interrupt["node"] == "approve"
    assert interrupt["value"]["question"] == "Approve this refund?"
    code, out, _ = run(["show", "memory:", "refund-2077"], demo)
    assert "interrupt approve (during)" in out
    assert '"amount": {"$decimal": "194.50"}' in out


@pytest.mark.parametrize(
    ("ref", "message"),
    [
        ("nope", "No thread or checkpoint 'nope'"),
        ("nope@abc", "No thread 'nope'"),
        (
            "refund-2077@0000000000",
            "No checkpoint '0000000000' in thread 'refund-2077'",
        ),
    ],
)
def test_show_not_found(demo: MemoryCheckpointer, ref: str, message: str) -> None:
    code, out, err = run(["show", "memory:", ref], demo)
    assert code == 1
    assert out == ""
    assert message in err


# -- diff ----------------------------------------------------------------------------------


def test_diff_json_across_threads(demo: MemoryCheckpointer) -> None:
    proposal = None
    for meta in asyncio.run(_metas(demo, "refund-3150")):
        if "propose_refund" in meta.nodes:
            proposal = meta.id
    root = next(m.id for m in asyncio.run(_metas(demo, FORK)) if m.is_fork_root)
    code, data = run_json(
        ["diff", "memory:", f"refund-3150@{proposal}", f"{FORK}@{root}"], demo
    )
    assert code == 1  # they differ
    assert data["identical"] is False
    assert data["summary"] == "2 changed"
    amount = next(c for c in data["changes"] if c["path"] == "refund.amount")
    assert amount == {
        "kind": "changed",
        "path": "refund.amount",
        "old": {"$decimal": "749.00"},
        "new": {"$decimal": "500.00"},
    }
    code, out, _ = run(["diff", "memory:", f"refund-3150@{proposal}", root], demo)
    assert "~ refund.amount: 749.00 → 500.00" in out
    assert out.splitlines()[2] == "2 changed"


async def _metas(checkpointer: MemoryCheckpointer, thread: str) -> list[Any]:
    return [m async for m in checkpointer.summaries(thread)]


def test_diff_identical_and_unchanged(demo: MemoryCheckpointer) -> None:
    code, data = run_json(
        ["diff", "memory:", "refund-2077", "refund-2077", "--unchanged"], demo
    )
    assert code == 0
    assert data["identical"] is True
    assert data["changes"] == []
    assert "refund" in data["unchanged"]


def test_diff_not_found_is_trouble(demo: MemoryCheckpointer) -> None:
    code, _, err = run(["diff", "memory:", "refund-2077", "nope"], demo)
    assert code == 2
    assert "nope" in err


# -- export --------------------------------------------------------------------------------


def test_export_json(demo: MemoryCheckpointer) -> None:
    code, data = run_json(["export", "memory:", "refund-4711"], demo)
    assert code == 0
    assert data["thread"]["thread_id"] == "refund-4711"
    checkpoints = data["checkpoints"]
    assert len(checkpoints) == data["thread"]["checkpoint_count"] == 11
    assert checkpoints[0]["step"] == -1
    assert checkpoints[0]["source"] == "input"
    assert checkpoints[-1]["checkpoint_id"] == data["thread"]["head_id"]
    sources = {c["source"] for c in checkpoints}
    assert sources == {"input", "loop", "update"}
    last = decode(checkpoints[-1]["values"])
    assert last["receipt"]["amount"] == Decimal("18.50")
    code, _, err = run(["export", "memory:", "nope"], demo)
    assert (code, err) == (1, "timeloom: No thread 'nope'\n")


def test_export_text_lists_every_checkpoint(demo: MemoryCheckpointer) -> None:
    code, out, _ = run(["export", "memory:", "question-88"], demo)
    assert code == 0
    assert sum(line.startswith("question-88@") for line in out.splitlines()) == 4
    assert "Orders ship within 2 business days" in out


def test_export_json_is_streamed_in_the_usual_layout(
    demo: MemoryCheckpointer, tmp_path: Path
) -> None:
    _, out, _ = run(["export", "memory:", "refund-4711", "--json"], demo)
    assert out == json.dumps(json.loads(out), indent=2, ensure_ascii=False) + "\n"
    # One checkpoint in memory at a time: 10 checkpoints of 4.5 MB each (too big
    # for the blob cache, so the peak is what the export itself holds).
    path = tmp_path / "long.db"

    async def build() -> None:
        async with SqliteCheckpointer(str(path)) as checkpointer:
            seeder = Seeder(checkpointer)
            parent = None
            for step in range(10):
                parent = await seeder.put(
                    "long",
                    parent=parent,
                    step=step,
                    source="loop",
                    values={"doc": f"{step:04d}" * 1_125_000},
                )

    asyncio.run(build())
    sink = io.StringIO()
    args = parser().parse_args(["export", str(path), "long", "--json"])
    tracemalloc.start()
    try:
        assert args.func(args, out=_Discard(), err=sink) == 0
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 20_000_000  # the whole export is 45 MB of JSON


class _Discard(io.StringIO):
    """Counts what is written and keeps none of it."""

    def __init__(self) -> None:
        super().__init__()
        self.size = 0

    def write(self, text: str) -> int:
        self.size += len(text)
        return len(text)


# -- real databases ---------------------------------------------------------------------------


def test_sqlite_database_opened_read_only(tmp_path: Path) -> None:
    path = tmp_path / "demo.db"

    async def build() -> None:
        async with SqliteCheckpointer(str(path)) as checkpointer:
            await build_demo(checkpointer)

    asyncio.run(build())
    before = path.read_bytes()
    code, out, err = run(["threads", str(path), "--json"], None)
    assert (code, err) == (0, "")
    assert len(json.loads(out)) == 6
    code, out, _ = run(["show", str(path), "refund-2077", "--json"], None)
    assert json.loads(out)["status"] == "paused"
    assert path.read_bytes() == before


def test_cannot_open(tmp_path: Path) -> None:
    code, out, err = run(["threads", str(tmp_path / "missing.db")], None)
    assert code == 2
    assert out == ""
    assert err.startswith("timeloom: ")
    code, _, err = run(["threads", "mysql://x"], None)
    assert code == 2
    assert "Unsupported URL" in err


# -- timeloom demo -------------------------------------------------------------------------


def test_demo_rebuilds_and_runs_twice(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "demo.db"
    outputs = []
    for _ in range(2):
        out = io.StringIO()
        assert run_demo(path, open_app=False, out=out) == 0
        outputs.append(out.getvalue())
        code, listing, _ = run(["threads", str(path), "--json"], None)
        assert code == 0
        counts = {t["thread_id"]: t["checkpoint_count"] for t in json.loads(listing)}
        assert counts["refund-4711"] == 11
        assert len(counts) == 6
    text = outputs[1]
    assert text.startswith(f"Building the demo database at {path}\n")
    assert "  refund-2077   paused at the approval\n" in text
    assert text.endswith(
        f"Open it with:\n  timeloom open {path} --graph {DEMO_GRAPH}\n"
    )


def test_demo_hands_the_database_to_the_app(tmp_path: Path) -> None:
    path = tmp_path / "demo.db"
    opened: list[DemoDatabase] = []

    def start_app(demo: DemoDatabase) -> int:
        opened.append(demo)
        return 7

    assert run_demo(path, True, start_app=start_app, out=io.StringIO()) == 7
    (demo,) = opened
    assert demo.path == path

    async def approve() -> str:
        async with SqliteCheckpointer(str(path)) as checkpointer:
            graph = bind_graph(demo.graph, checkpointer)
            paused = await checkpointer.get("refund-2077")
            assert paused is not None
            outcome = await resuming.resume(
                checkpointer, graph, paused, answer=resuming.Answer("yes")
            )
            return outcome.status

    assert asyncio.run(approve()) == "done"


def test_demo_cannot_write(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    err = io.StringIO()
    code = run_demo(blocker / "demo.db", open_app=False, out=io.StringIO(), err=err)
    assert code == 2
    assert err.getvalue().startswith("timeloom: ")
