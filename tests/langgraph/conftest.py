"""Fixtures: LangGraph databases written by real LangGraph, and what LangGraph itself
reports about them (captured while building: LangGraph's savers run ``setup()`` on
every read, so they must not touch a database under test)."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from pytest_postgresql.janitor import DatabaseJanitor

from tests.conftest import PostgresServer
from tests.langgraph import lgdb


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory) -> lgdb.Built:
    """The scenario database in SQLite (built once; tests only read it or copy it)."""
    return lgdb.build_sqlite(tmp_path_factory.mktemp("lg") / "scenarios.db")


@pytest.fixture
def scenario_db(built: lgdb.Built, tmp_path: Path) -> Path:
    """A private copy of the SQLite scenario database (a test may check its bytes)."""
    target = tmp_path / "scenarios.db"
    shutil.copy(built.url, target)
    return target


@pytest.fixture(scope="session")
def pg_built(postgres_server: PostgresServer) -> Iterator[lgdb.Built]:
    """The scenario database in a fresh Postgres database, shared by the tests that
    only read it."""
    parts = urlsplit(postgres_server.dsn)
    dbname = f"timeloom_lg_{uuid.uuid4().hex[:12]}"
    janitor = DatabaseJanitor(
        user=unquote(parts.username or "postgres"),
        password=unquote(parts.password) if parts.password else None,
        host=parts.hostname or "127.0.0.1",
        port=parts.port or 5432,
        dbname=dbname,
        maintenance_dbname=parts.path.lstrip("/") or "postgres",
        connection_timeout=5,
    )
    with janitor:
        yield lgdb.build_postgres(postgres_server.database_dsn(dbname))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def source(request: pytest.FixtureRequest, built: lgdb.Built) -> lgdb.Built:
    """The scenario database in SQLite, then in Postgres."""
    if request.param == "sqlite":
        return built
    pg: lgdb.Built = request.getfixturevalue("pg_built")
    return pg


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def writable(request: pytest.FixtureRequest, scenario_db: Path) -> str:
    """A private scenario database to write to: a SQLite copy, then a fresh Postgres
    database (a path or a DSN)."""
    if request.param == "sqlite":
        return str(scenario_db)
    dsn: str = request.getfixturevalue("postgres_dsn")
    lgdb.build_postgres(dsn)
    return dsn
