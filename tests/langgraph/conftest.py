"""Fixtures: LangGraph databases written by real LangGraph, and what LangGraph itself
reports about them (captured while building: LangGraph's savers run ``setup()`` on
every read, so they must not touch a database under test)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.langgraph import lgdb


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> lgdb.Built:
    """The scenario database in SQLite (built once per module)."""
    return lgdb.build_sqlite(tmp_path_factory.mktemp("lg") / "scenarios.db")


@pytest.fixture
def scenario_db(built: lgdb.Built, tmp_path: Path) -> Path:
    """A private copy of the SQLite scenario database (a test may check its bytes)."""
    target = tmp_path / "scenarios.db"
    shutil.copy(built.url, target)
    return target


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def source(request: pytest.FixtureRequest, built: lgdb.Built) -> lgdb.Built:
    """The scenario database in SQLite, then in Postgres (a fresh database)."""
    if request.param == "sqlite":
        return built
    dsn: str = request.getfixturevalue("postgres_dsn")
    return lgdb.build_postgres(dsn)
