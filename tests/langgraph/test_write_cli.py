"""``timeloom branch / edit / resume`` and ``export --to``: the same on LangGraph and
Timeloom databases, checked with LangGraph (or Timeloom) reading the result."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.langgraph import lgdb
from tests.langgraph.test_write import cfg, langgraph_saver
from timeloom.tui.cli import main
from timeloom.tui.ops.runners.langgraph import STRICT_ENV

CHAT = "tests.langgraph.lgdb:chat_builder"
SCENARIO = "tests.langgraph.lgdb:scenario_builder"
DEMO_GRAPH = "timeloom.tui.demo.agent:graph"


@pytest.fixture(autouse=True)
def strict_env_restored(monkeypatch: pytest.MonkeyPatch) -> None:
    """``--graph`` turns LangGraph's strict mode on in the environment: undo it."""
    monkeypatch.delenv(STRICT_ENV, raising=False)


def test_fix_a_failed_run_from_the_command_line(
    writable: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["resume", writable, "fail-1"]) == 2
    refused = capsys.readouterr().err
    assert "add --graph" in refused
    assert "timeloom resume" in refused  # the command run, not only the app's
    assert main(["resume", writable, "fail-1", "--graph", CHAT]) == 2
    assert "node 'respond' raised ValueError: kaboom" in capsys.readouterr().err
    assert (
        main(["edit", writable, "fail-1", "--set", "fail=false", "--graph", CHAT]) == 0
    )
    assert "update_state" in capsys.readouterr().out
    assert main(["resume", writable, "fail-1", "--graph", CHAT]) == 0
    out = capsys.readouterr().out
    assert "respond" in out
    assert out.endswith("done: nothing left to run\n")
    with langgraph_saver(writable) as saver:
        state = lgdb.chat_graph(saver).get_state(cfg("fail-1"))
    assert state.next == ()
    assert state.values["messages"][-1].content == "done"


def test_edit_a_message_by_path(writable: str) -> None:
    args = ["edit", writable, "chat-1", "--graph", CHAT]
    assert main([*args, "--set", 'messages[0].content="HELLO"']) == 0
    with langgraph_saver(writable) as saver:
        messages = lgdb.chat_graph(saver).get_state(cfg("chat-1")).values["messages"]
    assert messages[0].content == "HELLO"
    assert type(messages[0]).__name__ == "HumanMessage"
    assert len(messages) == 8  # replaced by id, not appended


def test_branch_answer_differently_and_export(
    writable: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        main(["branch", writable, "paused-1", "paused-1-b", "--graph", SCENARIO]) == 0
    )
    assert "paused-1-b@" in capsys.readouterr().out
    assert (
        main(["branch", writable, "paused-1", "paused-1-b", "--graph", SCENARIO]) == 2
    )
    assert "already exists" in capsys.readouterr().err
    answer = ["--answer", '"no"', "--graph", SCENARIO]
    assert main(["resume", writable, "paused-1-b", *answer]) == 0
    with langgraph_saver(writable) as saver:
        graph = lgdb.scenario_graph(saver)
        assert graph.get_state(cfg("paused-1-b")).values["approved"] == (
            "no (checked deep down)"
        )
        assert graph.get_state(cfg("paused-1")).next == ("approve",)
    target = tmp_path / "copy.db"
    assert main(["export", writable, "paused-1-b", "--to", str(target)]) == 0
    assert "Copied" in capsys.readouterr().out
    assert main(["threads", str(target), "--json"]) == 0
    assert '"paused-1-b"' in capsys.readouterr().out
    assert main(["export", writable, "nope", "--to", str(target)]) == 1


def test_not_found_and_bad_arguments(
    writable: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["edit", writable, "nope", "--set", "x=1", "--graph", CHAT]) == 1
    assert main(["edit", writable, "chat-1", "--set", "x", "--graph", CHAT]) == 2
    assert "PATH=JSON" in capsys.readouterr().err
    assert main(["edit", writable, "chat-1", "--set", "log=oops", "--graph", CHAT]) == 2
    assert "not JSON" in capsys.readouterr().err
    assert main(["edit", writable, "chat-1", "--set", "log=[]", "--graph", CHAT]) == 2
    assert "reducer" in capsys.readouterr().err


def test_the_same_commands_on_a_timeloom_database(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    database = str(tmp_path / "demo.db")
    assert main(["demo", "--no-open", "--db", database]) == 0
    assert main(["branch", database, "refund-2077", "refund-2077-b"]) == 0
    assert main(["resume", database, "refund-2077-b", "--answer", '"no"']) == 2
    assert "--graph" in capsys.readouterr().err  # resuming needs the graph
    graph = ["--graph", DEMO_GRAPH]
    assert main(["resume", database, "refund-2077-b", "--answer", '"no"', *graph]) == 0
    assert capsys.readouterr().out.endswith("done: nothing left to run\n")
    assert main(["show", database, "refund-2077-b", "--json"]) == 0
    shown: Any = capsys.readouterr().out
    assert '"status": "done"' in shown
    assert main(["show", database, "refund-2077", "--json"]) == 0
    assert '"status": "paused"' in capsys.readouterr().out
    assert main(["edit", database, "refund-2077", "--set", 'refund.reason="late"']) == 0
    assert main(["show", database, "refund-2077", "--json"]) == 0
    assert '"reason": "late"' in capsys.readouterr().out
