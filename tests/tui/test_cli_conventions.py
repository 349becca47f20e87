"""The command line behaves as Unix tools do: --version, quiet on a closed pipe, a demo
database that is built atomically and never replaced while it is open."""

from __future__ import annotations

import asyncio
import io
import subprocess
import sys
from pathlib import Path

import pytest

from timeloom.backends.sqlite import SqliteCheckpointer
from timeloom.tui.cli import EXIT_BROKEN_PIPE, main
from timeloom.tui.demo.command import run_demo


def _thread_ids(path: Path) -> list[str]:
    async def read() -> list[str]:
        async with SqliteCheckpointer(str(path), read_only=True) as store:
            return sorted(t.thread_id for t in await store.threads(limit=100))

    return asyncio.run(read())


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out.strip() == "timeloom 0.1.0"


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("demo") / "demo.db"
    assert run_demo(path, open_app=False, out=io.StringIO()) == 0
    return path


def test_a_closed_pipe_ends_the_command_quietly(demo_db: Path) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "timeloom.tui", "export", str(demo_db), "refund-4711"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdout is not None
    assert process.stderr is not None
    process.stdout.close()  # like `| head` that has read enough, before any output
    err = process.stderr.read().decode()
    assert process.wait(timeout=60) == EXIT_BROKEN_PIPE
    assert err == ""


class _ClosesAfter(io.StringIO):
    """An output whose reader goes away after ``lines`` writes."""

    def __init__(self, lines: int) -> None:
        super().__init__()
        self.left = lines

    def write(self, text: str) -> int:
        if self.left == 0:
            raise BrokenPipeError(32, "Broken pipe")
        self.left -= 1
        return super().write(text)


def test_an_interrupted_demo_build_leaves_the_old_database(tmp_path: Path) -> None:
    path = tmp_path / "demo.db"
    assert run_demo(path, open_app=False, out=io.StringIO()) == 0
    before = path.read_bytes()
    with pytest.raises(BrokenPipeError):
        run_demo(path, open_app=False, out=_ClosesAfter(3))
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["demo.db"]


def test_the_demo_is_not_replaced_while_another_program_has_it_open(
    tmp_path: Path,
) -> None:
    path = tmp_path / "demo.db"
    assert run_demo(path, open_app=False, out=io.StringIO()) == 0
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import asyncio, sys\n"
            "from timeloom.backends.sqlite import SqliteCheckpointer\n"
            "async def hold():\n"
            "    async with SqliteCheckpointer(sys.argv[1]) as cp:\n"
            "        await cp.threads(limit=1)\n"
            "        print('open', flush=True)\n"
            "        sys.stdin.read()\n"
            "asyncio.run(hold())\n",
            str(path),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline() == "open\n"
        inode = path.stat().st_ino
        err = io.StringIO()
        assert run_demo(path, open_app=False, out=io.StringIO(), err=err) == 1
        assert "is open in another program" in err.getvalue()
        assert path.stat().st_ino == inode  # not deleted, not replaced
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(timeout=30)
    # Closed: the next run rebuilds it (a new file renamed over the old one).
    assert run_demo(path, open_app=False, out=io.StringIO()) == 0
    assert path.stat().st_ino != inode
    assert len(_thread_ids(path)) == 6


# -- what users type to name a database ------------------------------------------------


def test_sqlite_urls_read_as_sqlalchemy_does_and_say_which_path_was_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    for argv in (["open", "sqlite:///tmp/x.db"], ["threads", "sqlite:///tmp/x.db"]):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert err.startswith("timeloom: Database not found: There is no database at ")
        assert "three slashes is relative to the current directory: " in err
        assert str(tmp_path / "tmp" / "x.db") in err
        assert "sqlite:////tmp/x.db" in err
    assert not (tmp_path / "tmp").exists()  # nothing was created


def test_a_directory_is_not_a_database(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for command in ("open", "threads", "show"):
        argv = [command, str(tmp_path)] + (["t"] if command == "show" else [])
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert err == (
            f"timeloom: Not a database file: {tmp_path} is a directory; give the "
            f"database file in it.\n"
        )


async def test_the_header_shows_a_plain_path(demo_db: Path) -> None:
    from textual.widgets import Static

    from timeloom.tui.app import TimeloomApp
    from timeloom.tui.ops.opening import open_url

    for url in (str(demo_db), f"sqlite:///{demo_db}"):  # four slashes: absolute
        app = TimeloomApp(open_url(url, read_only=True))
        async with app.run_test() as pilot:
            await pilot.pause()
            assert str(app.query_one("#location", Static).render()) == str(demo_db)


@pytest.mark.postgres
def test_an_empty_postgres_database_names_a_command_that_exists(
    postgres_dsn: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["threads", postgres_dsn]) == 2
    err = capsys.readouterr().err
    assert "it is empty: `timeloom open URL` (without --read-only)" in err
    assert "open it once without --read-only" not in err
