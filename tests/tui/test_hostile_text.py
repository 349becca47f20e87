"""Strings from a database never reach the terminal raw and are never read as markup.

Thread ids, keys, node names, metadata keys, error messages and values hold escape
sequences (OSC 52 writes the clipboard, OSC 0 the window title, U+009B is a
one-character CSI) and Textual markup (``[/b]`` crashed the app; ``[@click=...]``
was interpreted). The app is driven by Pilot and what it would send to the
terminal is checked; the headless commands are run on the same data.
"""

from __future__ import annotations

import asyncio
import io
import json
import sqlite3
from argparse import Namespace
from pathlib import Path
from typing import Any, cast

import pytest

from tests.tui.conftest import SIZE, wait_for_workers
from tests.tui.seed import Seeder
from timeloom.backends.memory import MemoryCheckpointer
from timeloom.backends.sqlite import SqliteCheckpointer
from timeloom.core.checkpoint import PendingWrite, Source
from timeloom.core.checkpointer import BaseCheckpointer
from timeloom.tui.app import TimeloomApp
from timeloom.tui.ops.safetext import json_text, safe, unescaped
from timeloom.tui.scripting import run_diff, run_export, run_show, run_threads
from timeloom.tui.widgets.labels import markup

OSC52 = "\x1b]52;c;cHduZWQ=\x07"
OSC0 = "\x1b]0;pwned\x07"
CSI = "\u009b31m"
HOSTILE = (
    f"clip{OSC52}",
    f"title{OSC0}",
    f"c1{CSI}",
    "[/b]",
    "[@click=app.quit]x[/]",
    "[$error]y",
    "back\\",
)
RAW = ("\x1b]", "\x07", "\u009b", "\x9b")


async def _seed(checkpointer: BaseCheckpointer) -> None:
    """One thread per hostile string, holding it everywhere a string can be."""
    seeder = Seeder(checkpointer)
    for evil in HOSTILE:
        first = await seeder.put(
            evil,
            parent=None,
            step=-1,
            source="input",
            values={evil: evil, "list": [evil, {evil: evil}]},
            writes={evil: {evil: evil}},
            next_nodes=(evil,),
            metadata={evil: evil},
        )
        await seeder.put(
            evil,
            parent=first,
            step=0,
            source=cast(Source, evil),  # another writer's source: any text
            values={evil: evil + "!", "list": [evil]},
            writes={evil: {evil: evil + "!"}},
            next_nodes=(evil,),
            metadata={evil: evil},
            pending=(
                PendingWrite(evil, "error", {"type": evil, "message": evil}),
                PendingWrite(evil, "interrupt", {"id": evil, "value": evil}),
            ),
        )


def _assert_clean(shown: str) -> None:
    for raw in RAW:
        assert raw not in shown, (raw, shown[:400])


def _frame(app: TimeloomApp) -> str:
    """Exactly what the app would write to the terminal for the whole screen."""
    update = app.screen._compositor.render_full_update()
    return update.render_segments(app.console)


async def test_the_app_shows_hostile_strings_as_text() -> None:
    checkpointer = MemoryCheckpointer()
    await _seed(checkpointer)
    app = TimeloomApp(checkpointer)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_workers(pilot)
        seen: set[str] = set()
        for index in range(len(HOSTILE)):
            app.thread_list.action_first()
            for _ in range(index):
                app.thread_list.action_cursor(1)
            await wait_for_workers(pilot)
            assert app.selected_thread is not None
            seen.add(app.selected_thread)
            for tab in ("state", "writes", "meta"):
                app.action_tab(tab)
                await wait_for_workers(pilot)
                assert app.is_running
                _assert_clean(_frame(app))
            app.checkpoint_tree.focus()
            await pilot.press("ctrl+c")  # copies the id, notifies with it
            await wait_for_workers(pilot)
            frame = _frame(app)
            _assert_clean(frame)
            if app.selected_thread == HOSTILE[0]:
                assert "\\x1b]52" in frame  # shown, visibly escaped
        assert seen == set(HOSTILE)
        assert app.is_running  # [@click=app.quit] in the data did not quit


async def test_an_unknown_status_and_a_step_of_text_do_not_crash(
    tmp_path: Path,
) -> None:
    path = str(tmp_path / "odd.db")
    async with SqliteCheckpointer(path) as checkpointer:
        await _seed(checkpointer)
    # Another writer's rows: a status this version does not know, a step of text.
    conn = sqlite3.connect(path)
    with conn:
        conn.execute("UPDATE threads SET status = 'weird[/b]'")
        conn.execute("UPDATE checkpoints SET step = 'seven[/b]'")
    conn.close()
    app = TimeloomApp(SqliteCheckpointer(path, read_only=True))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_workers(pilot)
        assert app.selected_thread is not None
        assert app.checkpoint_tree.row_count == 2
        for tab in ("state", "writes", "meta"):
            app.action_tab(tab)
            await wait_for_workers(pilot)
            _assert_clean(_frame(app))
        assert app.is_running


def _run(
    command: Any, checkpointer: BaseCheckpointer, as_json: bool, **args: Any
) -> str:
    out, err = io.StringIO(), io.StringIO()
    namespace = Namespace(url="memory:", json=as_json, **args)
    command(namespace, opener=lambda _url: checkpointer, out=out, err=err)
    return out.getvalue() + err.getvalue()


@pytest.mark.parametrize("as_json", [False, True], ids=["text", "json"])
def test_the_commands_print_hostile_strings_escaped(as_json: bool) -> None:
    checkpointer = MemoryCheckpointer()
    asyncio.run(_seed(checkpointer))
    shown = [
        _run(run_threads, checkpointer, as_json, status=None, search=None, limit=None),
    ]
    for evil in HOSTILE:
        shown.append(_run(run_show, checkpointer, as_json, ref=evil))
        shown.append(_run(run_export, checkpointer, as_json, thread=evil))
        shown.append(
            _run(run_diff, checkpointer, as_json, a=evil, b=HOSTILE[0], unchanged=True)
        )
    for text in shown:
        _assert_clean(text)
    everything = "\n".join(shown)
    assert "\\x1b]52" in everything or "\\u001b]52" in everything
    if as_json:
        parsed = json.loads(shown[1])  # still JSON, and the same value
        assert parsed["thread_id"] == HOSTILE[0]


def test_safe_escapes_every_control_character() -> None:
    assert safe("a\x1b]0;t\x07b") == "a\\x1b]0;t\\x07b"
    assert safe("\u009b\x7f\n\t\u202e") == "\\x9b\\x7f\\x0a\\x09\\u202e"
    assert safe("plain ünïcode [b]") == "plain ünïcode [b]"
    assert json.loads(json_text({"k": "\u009b\x1b"})) == {"k": "\u009b\x1b"}
    assert "\u009b" not in json_text({"k": "\u009b"})
    assert markup("[/b]") == "\\[/b]"
    for evil in HOSTILE:
        assert unescaped(safe(evil)) == evil
    assert unescaped("\\x41 \\u0041 \\x1B") == "\\x41 \\u0041 \\x1B"  # not safe's


def test_an_id_copied_as_shown_names_its_thread() -> None:
    """``threads`` shows an id holding ESC as ``\\x1b[31mred``; typed back as
    shown, ``show`` said "No thread or checkpoint". The escapes ``safe`` writes
    are read back when the text as typed names nothing; and an id holding "@"
    names its thread's head (it was split as THREAD@CHECKPOINT)."""
    checkpointer = MemoryCheckpointer()
    asyncio.run(_seed(checkpointer))
    listed = _run(
        run_threads, checkpointer, False, status=None, search=None, limit=None
    )
    for evil in HOSTILE:
        shown = safe(evil)
        assert shown in listed
        for ref in (shown, f"{shown}@{_head_id(checkpointer, evil)}"):
            printed = _run(run_show, checkpointer, False, ref=ref)
            assert printed.startswith(f"{shown}@"), printed
            _assert_clean(printed)
        exported = _run(run_export, checkpointer, False, thread=shown)
        assert "No thread" not in exported, exported
    missing = _run(run_show, checkpointer, False, ref="\\x1bnope")
    assert "No thread or checkpoint" in missing


def _head_id(checkpointer: BaseCheckpointer, thread_id: str) -> str:
    info = asyncio.run(checkpointer.get_thread(thread_id))
    assert info is not None
    return info.head_id
