"""Run a check as a user who cannot write a directory, wherever the checkout lives.

Root ignores file permissions, so as root the check runs in a forked child that
drops to ``nobody``. The child only uses modules this process imported before the
fork: it needs no access to the checkout or its virtualenv (a clone in a private
folder works). As another user the check simply runs in this process.
"""

from __future__ import annotations

import os
import pwd
import shutil
import tempfile
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def read_only_dir() -> Iterator[Path]:
    """A directory the checks below may read but not write (made writable again,
    then removed, on exit). Fill it before calling :func:`run_unprivileged`."""
    folder = Path(tempfile.mkdtemp(prefix="timeloom-ro-"))
    try:
        yield folder
    finally:
        os.chmod(folder, 0o755)
        shutil.rmtree(folder)


def run_unprivileged(folder: Path, check: Callable[[], str]) -> str:
    """Run ``check()`` as a user who may read ``folder`` but not write it; return
    what it returned.

    Raises:
        AssertionError: the check raised (its traceback is the message).
    """
    for path in folder.iterdir():
        os.chmod(path, 0o644)
    if os.geteuid() != 0:
        os.chmod(folder, 0o555)
        return check()
    os.chmod(folder, 0o755)  # owned by root: "nobody" may enter and read only
    nobody = pwd.getpwnam("nobody")
    reader, writer = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into the test runner
        os.close(reader)
        code = 0
        try:
            os.setgid(nobody.pw_gid)
            os.setuid(nobody.pw_uid)
            answer = "ok:" + check()
        except BaseException:
            answer = "error:" + traceback.format_exc()
            code = 1
        with os.fdopen(writer, "w") as out:
            out.write(answer)
        os._exit(code)
    os.close(writer)
    with os.fdopen(reader) as got:
        answer = got.read()
    os.waitpid(pid, 0)
    status, _, text = answer.partition(":")
    assert status == "ok", text
    return text
