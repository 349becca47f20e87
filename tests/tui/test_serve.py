"""``timeloom serve``: the open options reach each browser session, and SIGTERM stops
the server at once even while a browser is connected."""

from __future__ import annotations

import asyncio
import io
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import pytest

from timeloom.tui.cli import main
from timeloom.tui.demo.command import DEMO_GRAPH, run_demo


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _group_commands(group: int) -> list[str]:
    """The command lines of the live processes in a process group."""
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
            if int(stat.rsplit(")", 1)[1].split()[2]) != group or " Z " in stat:
                continue
            found.append(Path(f"/proc/{pid}/cmdline").read_text().replace("\0", " "))
        except (OSError, IndexError, ValueError):
            continue
    return found


async def _connect(
    port: int,
) -> tuple[aiohttp.ClientSession, aiohttp.ClientWebSocketResponse]:
    session = aiohttp.ClientSession()
    deadline = time.monotonic() + 60
    while True:
        try:
            ws = await session.ws_connect(
                f"http://127.0.0.1:{port}/ws?width=80&height=24"
            )
            return session, ws
        except aiohttp.ClientError:
            if time.monotonic() > deadline:
                await session.close()
                raise
            await asyncio.sleep(0.2)


async def _browse_then_stop(
    port: int, server: subprocess.Popen[bytes], expect: str
) -> float:
    """Connect like a browser, wait for the app's first screen, send SIGTERM; return
    how long the server took to exit."""
    session, ws = await _connect(port)
    async with session:
        drawn = await asyncio.wait_for(ws.receive(), timeout=60)
        assert drawn.type in (aiohttp.WSMsgType.BINARY, aiohttp.WSMsgType.TEXT)
        while True:  # until the app has drawn its screen and sits idle
            try:
                await asyncio.wait_for(ws.receive(), timeout=1.5)
            except TimeoutError:
                break
        apps = [c for c in _group_commands(server.pid) if " open " in c]
        assert apps  # the session's process (run through a shell)
        assert all(expect in command for command in apps)
        started = time.monotonic()
        server.send_signal(signal.SIGTERM)
        async for _ in ws:  # like a browser: read on, answer the server's close
            pass
        assert await asyncio.to_thread(server.wait, 30) == 0
        return time.monotonic() - started


def test_sigterm_stops_serve_with_a_browser_connected(tmp_path: Path) -> None:
    database = tmp_path / "demo.db"
    assert run_demo(database, open_app=False, out=io.StringIO()) == 0
    port = _free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "timeloom.tui",
            "serve",
            str(database),
            "--read-only",
            "--graph",
            DEMO_GRAPH,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        expect = f"open {database} --read-only --graph {DEMO_GRAPH}"
        took = asyncio.run(_browse_then_stop(port, server, expect))
        assert took < 10
        deadline = time.monotonic() + 10
        while _group_commands(server.pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _group_commands(server.pid) == []  # the session's app is gone too
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


def test_serve_refuses_what_open_would_refuse_before_serving(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A missing database or a port that cannot exist is one line and exit 2 in the
    terminal, not a server whose every browser tab shows the error."""
    served: list[str] = []

    class Server:
        """textual-serve's server, recording what it would serve."""

        def __init__(self, command: str, **_: object) -> None:
            served.append(command)

        async def handle_websocket(self, request: object) -> None: ...

        def serve(self) -> None: ...

    monkeypatch.setattr("textual_serve.server.Server", Server)
    assert main(["serve", str(tmp_path / "nope.db")]) == 2
    assert "Database not found" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exited:
        main(["serve", str(tmp_path / "nope.db"), "--port", "99999"])
    assert exited.value.code == 2
    assert "not a TCP port" in capsys.readouterr().err
    assert served == []
    db = tmp_path / "demo.db"
    assert run_demo(db, open_app=False, out=io.StringIO()) == 0
    assert main(["serve", str(db)]) == 0
    assert len(served) == 1
    assert served[0].endswith(f"-m timeloom.tui open {db}")
