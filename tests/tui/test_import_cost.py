"""What each entry point loads: the CLI's headless paths pay for no UI, and one backend
never needs the driver of another (the memory checkpointer works without asyncpg).

Each case runs in a fresh interpreter, since this test process has imported everything.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import TypedDict

import pytest

from timeloom.backends.sqlite import SqliteCheckpointer
from timeloom.core import END, START, StateGraph

WATCHED = ("textual", "rich", "asyncpg", "aiosqlite", "psycopg", "langgraph")

# Runs a snippet, then prints which of the watched top-level packages it loaded.
PROBE = """
import json, sys
{code}
print(json.dumps(sorted({{m.split(".")[0] for m in sys.modules}} & set({watched!r}))))
"""


def loaded_by(code: str) -> set[str]:
    """The watched packages that ``code`` loads in a fresh interpreter."""
    probe = PROBE.format(code=code, watched=WATCHED)
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout
    return set(json.loads(out.splitlines()[-1]))


def cli(*args: str) -> str:
    """A snippet that runs the ``timeloom`` command with ``args``, quietly."""
    return (
        "import contextlib, io\n"
        "from timeloom.tui.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    main({list(args)!r})\n"
    )


def test_the_memory_checkpointer_needs_no_database_driver() -> None:
    assert loaded_by("import timeloom.backends.memory") == set()
    assert loaded_by("from timeloom.backends import MemoryCheckpointer") == set()


def test_timeloom_help_loads_no_ui_and_no_driver() -> None:
    help_ = "from timeloom.tui.cli import main\ntry:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
    assert loaded_by(help_) == set()


def test_the_headless_core_loads_no_ui() -> None:
    every_module = (
        "import importlib, pkgutil\n"
        "import timeloom.tui.ops as ops\n"
        "for found in pkgutil.walk_packages(ops.__path__, 'timeloom.tui.ops.'):\n"
        "    importlib.import_module(found.name)\n"
        "assert 'timeloom.tui.ops.runners.langgraph' in sys.modules\n"
    )
    assert loaded_by(every_module) & {"textual", "rich"} == set()


class State(TypedDict):
    x: int


@pytest.fixture
def database(tmp_path: Path) -> str:
    path = str(tmp_path / "t.db")
    graph = StateGraph(State)
    graph.add_node("a", lambda state: {"x": 2})
    graph.add_edge(START, "a")
    graph.add_edge("a", END)
    app = graph.compile(checkpointer=SqliteCheckpointer(path))
    app.invoke({"x": 1}, {"configurable": {"thread_id": "t-1"}})
    return path


def test_headless_commands_load_no_ui_and_no_other_driver(database: str) -> None:
    for command in (("threads", database), ("show", database, "t-1")):
        assert loaded_by(cli(*command)) == {"aiosqlite"}, command
