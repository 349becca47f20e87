"""The CLI around part 2: ``timeloom demo`` headless and opening, ``open --graph``."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from timeloom.backends.sqlite import SqliteCheckpointer
from timeloom.tui import cli
from timeloom.tui.app import TimeloomApp
from timeloom.tui.cli import main
from timeloom.tui.demo.build import FORK, REQUESTS


def _threads(path: Path) -> list[str]:
    async def read() -> list[str]:
        async with SqliteCheckpointer(str(path)) as store:
            return sorted(t.thread_id for t in await store.threads(limit=100))

    return asyncio.run(read())


def test_demo_no_open_builds_the_database_and_says_what_is_in_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    database = tmp_path / "demo.db"
    assert main(["demo", "--no-open", "--db", str(database)]) == 0
    out = capsys.readouterr().out
    assert f"Building the demo database at {database}" in out
    expected = sorted([*REQUESTS, FORK])
    assert len(expected) == 6
    for thread_id in expected:
        assert thread_id in out
    assert "paused at the approval" in out
    assert f"timeloom open {database} --graph timeloom.tui.demo.agent:graph" in out
    assert _threads(database) == expected
    # Twice: rebuilt from scratch, the same six threads.
    assert main(["demo", "--no-open", "--path", str(database)]) == 0
    assert _threads(database) == expected


def test_demo_opens_the_app_writable_with_the_graph(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened: list[TimeloomApp] = []

    def run(self: TimeloomApp) -> None:
        opened.append(self)

    monkeypatch.setattr(TimeloomApp, "run", run)
    database = tmp_path / "demo.db"
    assert main(["demo", "--db", str(database)]) == 0
    (app,) = opened
    assert isinstance(app.checkpointer, SqliteCheckpointer)
    assert not app.checkpointer.read_only
    assert app.graph is not None
    assert app.graph.checkpointer is app.checkpointer
    assert "approve" in app.graph.nodes
    assert app.write_refusals() == []  # edit, branch and resume all available


def test_open_with_a_bad_graph_reference_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def run(self: TimeloomApp) -> None:  # pragma: no cover - must not be reached
        raise AssertionError("the app must not start")

    monkeypatch.setattr(TimeloomApp, "run", run)
    database = tmp_path / "demo.db"
    assert main(["demo", "--no-open", "--db", str(database)]) == 0
    capsys.readouterr()

    assert main(["open", str(database), "--graph", "no_such_module_xyz:graph"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("timeloom: Cannot load the graph: No module named")
    assert "no_such_module_xyz" in err
    assert "Traceback" not in err

    assert main(["open", str(database), "--graph", "timeloom.tui.demo.agent"]) == 2
    err = capsys.readouterr().err
    assert "must look like package.module:attribute" in err

    assert main(["open", str(database), "--graph", "timeloom.tui.demo.agent:nope"]) == 2
    err = capsys.readouterr().err
    assert "has no attribute 'nope'" in err
    assert "timeloom.tui.demo.agent:graph" in err  # the graphs it does hold


def test_open_with_the_graph_binds_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened: list[TimeloomApp] = []
    monkeypatch.setattr(TimeloomApp, "run", lambda self: opened.append(self))
    database = tmp_path / "demo.db"
    assert main(["demo", "--no-open", "--db", str(database)]) == 0
    ref = "timeloom.tui.demo.agent:graph"
    assert main(["open", str(database), "--graph", ref]) == 0
    assert main(["open", "--read-only", str(database)]) == 0
    with_graph, read_only = opened
    assert with_graph.graph is not None
    assert with_graph.graph.checkpointer is with_graph.checkpointer
    assert read_only.graph is None
    assert read_only.checkpointer.read_only
    assert {action for action, _ in read_only.write_refusals()} == {
        "e edit",
        "b branch",
        "r resume",
    }


def test_help_lists_part_2_commands(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 0
    out = capsys.readouterr().out
    for command in ("open", "demo", "threads", "show", "diff", "export"):
        assert f"    {command} " in out
    with pytest.raises(SystemExit):
        main(["open", "--help"])
    assert "--graph MODULE:ATTR" in capsys.readouterr().out


def test_every_command_help_reads_as_a_paragraph(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """No description keeps its docstring's indentation (it showed as a stray
    indented block under `timeloom find --help`)."""
    for command in (
        *("open", "serve", "threads", "show", "diff", "export", "branch", "edit"),
        *("resume", "find", "bisect", "blame", "du", "eval", "demo"),
    ):
        with pytest.raises(SystemExit):
            main([command, "--help"])
        description = capsys.readouterr().out.split("\n\n")[1]
        assert not any(line.startswith(" ") for line in description.splitlines()), (
            command,
            description,
        )


def test_cli_module_does_not_import_textual_for_headless_commands() -> None:
    # Registering the demo and script commands must stay cheap (no Textual).
    import subprocess
    import sys

    code = (
        "import sys, timeloom.tui.cli as c; c.build_parser(); "
        "print('textual' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"
    assert cli.EXIT_ERROR == 2
