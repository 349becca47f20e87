"""A throwaway PostgreSQL cluster for one benchmark process, plus small admin helpers.

The cluster is started exactly like the test fixtures start theirs (the helpers in
``tests/conftest.py``): ``initdb`` + ``pg_ctl`` from the local binaries, as the
``postgres`` OS user when we run as root, listening on 127.0.0.1 and a free port. The
server keeps PostgreSQL's defaults, ``fsync=on`` and ``synchronous_commit=on``, so
every commit waits for the disk as it would in production.

Given a URL (``--postgres-url`` or ``TIMELOOM_TEST_POSTGRES_URL``) the benchmarks use
that server instead and start nothing.
"""

from __future__ import annotations

import os
import shutil
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit, urlunsplit

import psycopg

from tests.conftest import POSTGRES_URL_ENV, _start_cluster, find_pg_bindir


@contextmanager
def postgres_server(url: str | None = None) -> Iterator[str]:
    """Yield the maintenance DSN of a server; start (and remove) one if no URL.

    Args:
        url: an existing server's ``postgresql://`` URL; default: the
            ``TIMELOOM_TEST_POSTGRES_URL`` environment variable, else a new cluster.

    Raises:
        RuntimeError: no URL and no PostgreSQL binaries, or the cluster failed.
    """
    url = url or os.environ.get(POSTGRES_URL_ENV)
    if url:
        yield url
        return
    bindir = find_pg_bindir()
    if bindir is None:
        raise RuntimeError(
            "No PostgreSQL binaries (initdb/pg_ctl) found; pass --postgres-url."
        )
    server = _start_cluster(bindir)
    try:
        yield server.dsn
    finally:
        try:
            server.stop("immediate")
        finally:
            assert server.datadir is not None
            shutil.rmtree(server.datadir.parent, ignore_errors=True)


def create_database(server_dsn: str, prefix: str) -> str:
    """Create a fresh, empty database on the server and return its DSN."""
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(server_dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    parts = urlsplit(server_dsn)
    return urlunsplit(parts._replace(path=f"/{name}"))


def drop_database(server_dsn: str, dsn: str) -> None:
    """Drop a database made by :func:`create_database` (closing its sessions)."""
    name = urlsplit(dsn).path.lstrip("/")
    with psycopg.connect(server_dsn, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def database_bytes(dsn: str, *, vacuum_full: bool = False) -> int:
    """Sum ``pg_total_relation_size`` over every table of the database's public schema.

    Each system under test gets a database of its own, so this is everything it
    stored: heap, TOAST and indexes.

    Args:
        dsn: the database.
        vacuum_full: rewrite every table first (``VACUUM FULL``), dropping dead rows
            and free space, the counterpart of SQLite's ``VACUUM``.
    """
    with psycopg.connect(dsn, autocommit=True) as conn:
        if vacuum_full:
            conn.execute("VACUUM FULL")
        row = conn.execute(
            "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class AS c "
            "WHERE c.relkind IN ('r', 'p') "
            "AND c.relnamespace = 'public'::regnamespace"
        ).fetchone()
    assert row is not None
    return int(row[0])


def set_synchronous_commit(server_dsn: str | None, dsn: str | None, value: str) -> None:
    """Set ``synchronous_commit`` for new sessions of the database ``dsn``."""
    assert server_dsn is not None
    assert dsn is not None
    name = urlsplit(dsn).path.lstrip("/")
    with psycopg.connect(server_dsn, autocommit=True) as conn:
        conn.execute(f'ALTER DATABASE "{name}" SET synchronous_commit = {value}')


def commit_loop(dsn: str, count: int, *, synchronous_commit: str) -> list[float]:
    """Time ``count`` one-row autocommit INSERTs (each its own transaction)."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS floor (id serial PRIMARY KEY, b bytea)"
        )
        conn.execute(f"SET synchronous_commit = {synchronous_commit}")
        times = []
        for _ in range(count):
            start = time.perf_counter()
            conn.execute("INSERT INTO floor (b) VALUES (%s)", (b"x" * 300,))
            times.append(time.perf_counter() - start)
    return times


def server_settings(dsn: str) -> dict[str, str]:
    """The durability settings and version the server actually runs with."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT name, setting FROM pg_settings "
            "WHERE name IN ('fsync', 'synchronous_commit', 'wal_sync_method', "
            "'server_version', 'full_page_writes')"
        ).fetchall()
    return {str(name): str(value) for name, value in rows}
