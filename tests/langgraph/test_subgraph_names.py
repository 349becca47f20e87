"""The commands name a LangGraph subgraph's timeline as a user types it
(``hitl-1|sub``, ``hitl-1|sub|deep``), on databases written by real LangGraph,
SQLite and Postgres."""

from __future__ import annotations

import asyncio
import json

import pytest

from tests.langgraph import lgdb
from timeloom.backends.langgraph import open_langgraph
from timeloom.tui.cli import main


async def _subgraphs(url: str, thread_id: str) -> list[str]:
    reader = open_langgraph(url)
    try:
        return sorted(i.thread_id for i in await reader.subgraphs(thread_id))
    finally:
        await reader.aclose()


def test_show_a_langgraph_subgraph_by_its_node(
    source: lgdb.Built, capsys: pytest.CaptureFixture[str]
) -> None:
    sub, deep = asyncio.run(
        _subgraphs(source.url, "hitl-1")
    )  # "hitl-1|sub:<task>" and "hitl-1|sub:<task>|deep:<task>"
    for typed, timeline in (("hitl-1|sub", sub), ("hitl-1|sub|deep", deep)):
        assert main(["show", source.url, typed, "--json"]) == 0
        assert json.loads(capsys.readouterr().out)["thread_id"] == timeline
    assert main(["show", source.url, "hitl-1|deep"]) == 1
    assert "No subgraph timeline 'hitl-1|deep'" in capsys.readouterr().err
