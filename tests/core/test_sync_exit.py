"""The sync API's event loops are wound down at exit, quietly."""

from __future__ import annotations

import subprocess
import sys

_SCRIPT = """
import asyncio
from timeloom.core.sync import run_sync

async def leave_a_task(pending: bool) -> int:
    if pending:
        asyncio.get_running_loop().create_task(asyncio.sleep(3600))
    return 1

print(run_sync(leave_a_task({pending})))
"""


def test_exit_after_a_sync_call_prints_nothing() -> None:
    for pending in (False, True):
        done = subprocess.run(
            [sys.executable, "-c", _SCRIPT.format(pending=pending)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0
        assert done.stdout == "1\n"
        assert done.stderr == "", pending
