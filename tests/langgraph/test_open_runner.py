"""Which runner ``timeloom open`` picks for a LangGraph database, and ``--graph``
forms (``module:attr``, ``file.py:attr``, a builder or a compiled graph)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from timeloom.backends.langgraph import LangGraphReader, open_langgraph
from timeloom.tui.ops.graphref import GraphLoadError
from timeloom.tui.ops.resuming import Answer
from timeloom.tui.ops.runners import open_runner
from timeloom.tui.ops.runners.langgraph import STRICT_ENV, LangGraphRunner

AGENT = """
from tests.langgraph import lgdb

graph = lgdb.scenario_builder().compile()
not_a_graph = 42
"""


@pytest.fixture
async def reader(scenario_db: Path) -> AsyncIterator[LangGraphReader]:
    found = open_langgraph(str(scenario_db))
    await found.setup()
    yield found
    await found.aclose()


async def test_graph_from_a_file_writes_through_langgraph(
    reader: LangGraphReader, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(STRICT_ENV, raising=False)
    agent = tmp_path / "my_agent.py"
    agent.write_text(AGENT)
    runner = open_runner(reader, f"{agent}:graph", read_only=False)
    assert isinstance(runner, LangGraphRunner)
    assert runner.refusal("resume") is None
    assert "approve" in runner.nodes
    assert "messages" in runner.reducer_keys()
    assert os.environ[STRICT_ENV] == "true"  # LangGraph's strict mode, turned on
    assert runner.notice is not None
    head = await reader.get("paused-1")
    assert head is not None
    try:
        outcome = await runner.resume(head, answer=Answer("yes"))
    finally:
        await runner.aclose()
    assert outcome.status == "done"


def test_a_user_choice_of_strict_mode_is_kept(
    reader: LangGraphReader, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(STRICT_ENV, "false")
    open_runner(reader, "tests.langgraph.lgdb:chat_builder", read_only=False)
    assert os.environ[STRICT_ENV] == "false"


def test_bad_graph_references(reader: LangGraphReader, tmp_path: Path) -> None:
    agent = tmp_path / "agent2.py"
    agent.write_text(AGENT)
    with pytest.raises(GraphLoadError, match="not a LangGraph graph"):
        open_runner(reader, f"{agent}:not_a_graph", read_only=False)
    with pytest.raises(GraphLoadError, match="no attribute"):
        open_runner(reader, f"{agent}:nope", read_only=False)
    with pytest.raises(GraphLoadError, match="no file"):
        open_runner(reader, f"{tmp_path / 'missing.py'}:graph", read_only=False)


def test_read_only_wins_and_the_graph_is_not_imported(
    reader: LangGraphReader, tmp_path: Path
) -> None:
    agent = tmp_path / "exploding.py"
    agent.write_text("raise SystemExit('imported')\n")
    runner = open_runner(reader, f"{agent}:graph", read_only=True)
    assert isinstance(runner, LangGraphRunner)
    reason = runner.refusal("edit")
    assert reason is not None
    assert "-r" in reason
    assert runner.notice is None


def test_without_a_graph_the_refusal_names_graph(reader: LangGraphReader) -> None:
    runner = open_runner(reader, None, read_only=False)
    reason = runner.refusal("branch")
    assert reason is not None
    assert "--graph" in reason
    assert "without --read-only" not in reason
