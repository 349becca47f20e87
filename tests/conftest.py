"""Fixtures shared by every test folder.

PostgreSQL: ``postgres_server`` (session) is a throwaway cluster started from the local
binaries, or the server named by ``TIMELOOM_TEST_POSTGRES_URL``; ``postgres_dsn``
(function) is a fresh database on it for one test. Tests that use them carry
``@pytest.mark.postgres``. Without a server they skip with the reason, unless
``TIMELOOM_REQUIRE_POSTGRES=1`` (CI), which turns the skip into a failure.

The cluster lives in a temp dir (data, log, unix socket), listens on 127.0.0.1 and a
free port, and keeps PostgreSQL's durable defaults (fsync on). ``initdb`` and
``pg_ctl`` refuse to run as root, so as root they run as the ``postgres`` OS user
(``runuser``). A cluster whose test process was killed before its teardown is
stopped and deleted by the next session that starts one.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import stat
import subprocess
import tempfile
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn
from urllib.parse import unquote, urlsplit, urlunsplit

import pytest
from pytest_postgresql.janitor import DatabaseJanitor

POSTGRES_URL_ENV = "TIMELOOM_TEST_POSTGRES_URL"
REQUIRE_POSTGRES_ENV = "TIMELOOM_REQUIRE_POSTGRES"
# Debian's `postgresql` package keeps the server binaries off PATH.
PG_BIN_GLOBS = ("/usr/lib/postgresql/*/bin", "/usr/local/pgsql/bin")
CLUSTER_PREFIX = "timeloom-pg-"
OWNER_FILE = "owner.pid"  # the pid of the test process that started the cluster


def postgres_unavailable(reason: str) -> NoReturn:
    """Skip the current test because no PostgreSQL server can be had, or fail in CI.

    Args:
        reason: why there is no server; shown in the skip or failure message.
    """
    if os.environ.get(REQUIRE_POSTGRES_ENV) == "1":
        pytest.fail(
            f"PostgreSQL is required ({REQUIRE_POSTGRES_ENV}=1) but unavailable: "
            f"{reason}",
            pytrace=False,
        )
    pytest.skip(
        f"no PostgreSQL server: {reason} (install the PostgreSQL server binaries or "
        f"set {POSTGRES_URL_ENV})"
    )


def find_pg_bindir(
    path: str | None = None, globs: tuple[str, ...] = PG_BIN_GLOBS
) -> Path | None:
    """Return the directory holding ``initdb`` and ``pg_ctl``, or None.

    Args:
        path: a PATH-style search path (default: the PATH environment variable).
        globs: further directories to try, newest version first.
    """
    initdb = shutil.which("initdb", path=path)
    if initdb is not None:
        bindir = Path(initdb).resolve().parent
        if (bindir / "pg_ctl").exists():
            return bindir
    for pattern in globs:
        # Sort numerically so 15 beats 9.6; the newest installed version wins.
        dirs = sorted(glob.glob(pattern), key=_version_key, reverse=True)
        for candidate in map(Path, dirs):
            if (candidate / "initdb").exists() and (candidate / "pg_ctl").exists():
                return candidate
    return None


def _version_key(path: str) -> tuple[int, ...]:
    parts = Path(path).parent.name.split(".")
    return tuple(int(p) for p in parts if p.isdigit())


@dataclass
class PostgresServer:
    """A PostgreSQL server for tests: where it is, and (if ours) how to restart it."""

    dsn: str
    """``postgresql://`` URL of the maintenance database."""
    datadir: Path | None = None
    """The data directory when this session started the cluster, else None."""
    bindir: Path | None = None
    as_user: str | None = None
    """The OS user that runs ``pg_ctl`` (``postgres`` when tests run as root)."""
    logfile: Path | None = None
    options: str = ""
    """Server options (port, listen address, socket dir) passed on every start."""

    @property
    def managed(self) -> bool:
        """Whether this session started the server (and may stop/start it)."""
        return self.datadir is not None

    def pg_ctl(self, *args: str) -> None:
        """Run ``pg_ctl`` on this cluster (e.g. ``"stop", "-m", "fast"``)."""
        assert self.bindir is not None, "not a server this session started"
        assert self.datadir is not None, "not a server this session started"
        cmd = [str(self.bindir / "pg_ctl"), "-D", str(self.datadir), *args]
        _run(cmd, self.as_user)

    def stop(self, mode: str = "fast") -> None:
        """Stop the server (``pg_ctl stop -m mode``) and wait until it is down."""
        self.pg_ctl("stop", "-w", "-m", mode)

    def start(self) -> None:
        """Start the server again and wait until it accepts connections."""
        assert self.logfile is not None, "not a server this session started"
        self.pg_ctl("start", "-w", "-l", str(self.logfile), "-o", self.options)

    def database_dsn(self, dbname: str) -> str:
        """Return this server's DSN pointing at database ``dbname``."""
        parts = urlsplit(self.dsn)
        return urlunsplit(parts._replace(path=f"/{dbname}"))


def _run(cmd: list[str], as_user: str | None) -> None:
    if as_user is not None:
        cmd = ["runuser", "-u", as_user, "--", *cmd]
    result = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(
            f"{' '.join(cmd)} failed ({result.returncode}): "
            f"{result.stderr.strip() or result.stdout.strip()}"
        )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _traversable_by_others(path: Path) -> bool:
    """Whether another OS user can reach ``path`` (every ancestor has o+x)."""
    path = path.resolve()
    return all(os.stat(p).st_mode & stat.S_IXOTH for p in (path, *path.parents))


def _reap_orphans(parent: Path, bindir: Path, as_user: str | None) -> None:
    """Stop and delete throwaway clusters whose test process died before its teardown
    (killed by a timeout, say). Only clusters that name their owner are touched."""
    for owner in parent.glob(f"{CLUSTER_PREFIX}*/{OWNER_FILE}"):
        try:
            pid = int(owner.read_text())
            os.kill(pid, 0)
        except ProcessLookupError:
            pass  # the owner is gone: reap below
        except (OSError, ValueError):
            continue  # alive (maybe another user's), or unreadable: leave it
        else:
            continue
        orphan = PostgresServer(
            dsn="", datadir=owner.parent / "data", bindir=bindir, as_user=as_user
        )
        if (owner.parent / "data" / "postmaster.pid").exists():
            with contextlib.suppress(RuntimeError, OSError):
                orphan.stop("immediate")
        shutil.rmtree(owner.parent, ignore_errors=True)


def _start_cluster(bindir: Path) -> PostgresServer:
    """initdb + pg_ctl start a throwaway cluster in a new temp dir."""
    as_user = "postgres" if os.geteuid() == 0 else None
    parent = Path(tempfile.gettempdir())
    if as_user is not None and not _traversable_by_others(parent):
        parent = Path("/tmp")  # e.g. TMPDIR under /root: `postgres` cannot reach it
    _reap_orphans(parent, bindir, as_user)
    tmp = Path(tempfile.mkdtemp(prefix=CLUSTER_PREFIX, dir=parent))
    (tmp / OWNER_FILE).write_text(str(os.getpid()))
    if as_user is not None:
        # initdb/pg_ctl refuse to run as root: hand the directory to `postgres`.
        # mkdtemp makes it 0700 root-owned; the chown makes it traversable for them.
        shutil.chown(tmp, user=as_user, group=as_user)
    datadir, logfile = tmp / "data", tmp / "server.log"
    port = _free_port()
    options = f"-c listen_addresses=127.0.0.1 -p {port} -k {tmp}"
    server = PostgresServer(
        dsn=f"postgresql://postgres@127.0.0.1:{port}/postgres",
        datadir=datadir,
        bindir=bindir,
        as_user=as_user,
        logfile=logfile,
        options=options,
    )
    try:
        # --no-sync only skips flushing initdb's own files of a cluster we delete at
        # the end; the server itself runs with fsync=on, as in production.
        _run(
            [
                str(bindir / "initdb"),
                "-D",
                str(datadir),
                "-U",
                "postgres",
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C",
                "--no-sync",
                "--no-instructions",
            ],
            as_user,
        )
        server.start()
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return server


@pytest.fixture(scope="session")
def _postgres_server_or_reason() -> Iterator[PostgresServer | str]:
    # Errors are returned, not raised, so that each test that needs Postgres skips or
    # fails with the reason (a session fixture that raises is reported only once).
    url = os.environ.get(POSTGRES_URL_ENV)
    if url:
        yield PostgresServer(dsn=url)
        return
    bindir = find_pg_bindir()
    if bindir is None:
        yield "initdb/pg_ctl not found on PATH or in /usr/lib/postgresql/*/bin"
        return
    try:
        server = _start_cluster(bindir)
    except (OSError, RuntimeError) as exc:
        yield f"could not start a throwaway cluster from {bindir}: {exc}"
        return
    try:
        yield server
    finally:
        assert server.datadir is not None
        try:
            server.stop("immediate")
        except RuntimeError:
            pass  # a test may have left it stopped
        shutil.rmtree(server.datadir.parent, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server(_postgres_server_or_reason: PostgresServer | str) -> PostgresServer:
    """The session's PostgreSQL server (skips, or fails in CI, when there is none)."""
    if isinstance(_postgres_server_or_reason, str):
        postgres_unavailable(_postgres_server_or_reason)
    return _postgres_server_or_reason


@pytest.fixture
def postgres_dsn(postgres_server: PostgresServer) -> Iterator[str]:
    """A fresh, empty database for one test; yields its ``postgresql://`` DSN."""
    parts = urlsplit(postgres_server.dsn)
    dbname = f"timeloom_test_{uuid.uuid4().hex[:12]}"
    janitor = DatabaseJanitor(
        user=unquote(parts.username or "postgres"),
        password=unquote(parts.password) if parts.password else None,
        host=parts.hostname or "127.0.0.1",
        port=parts.port or 5432,
        dbname=dbname,
        maintenance_dbname=parts.path.lstrip("/") or "postgres",
        connection_timeout=5,
    )
    if postgres_server.managed and postgres_server.datadir is not None:
        # A test may have stopped the server without restarting it (it failed).
        pid = postgres_server.datadir / "postmaster.pid"
        if not pid.exists():
            postgres_server.start()
    with janitor:
        yield postgres_server.database_dsn(dbname)


@dataclass(frozen=True)
class PostgresFixtureLogic:
    """The pieces of the server fixture that tests of the fixture itself exercise."""

    unavailable: Callable[[str], NoReturn]
    find_bindir: Callable[..., Path | None]
    reap_orphans: Callable[[Path, Path, str | None], None]


@pytest.fixture
def postgres_fixture_logic() -> PostgresFixtureLogic:
    """The skip-or-fail helper, binary finder and reaper (tests of this conftest)."""
    return PostgresFixtureLogic(postgres_unavailable, find_pg_bindir, _reap_orphans)


@pytest.fixture(autouse=True)
def own_config_dir(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every test gets an empty config directory: the app's saved settings (its theme)
    are the test's own, never the developer's, and nothing is written to ~/.config."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path_factory.mktemp("config")))
