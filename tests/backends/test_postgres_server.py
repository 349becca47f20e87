"""The throwaway PostgreSQL server fixture: discovery, skip-or-fail, fresh databases."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn, Protocol

import asyncpg
import pytest


class PostgresFixtureLogic(Protocol):
    """What the ``postgres_fixture_logic`` fixture (tests/conftest.py) provides.

    Declared here rather than imported: conftest.py is pytest's to import.
    """

    @property
    def unavailable(self) -> Callable[[str], NoReturn]: ...
    @property
    def find_bindir(self) -> Callable[..., Path | None]: ...
    @property
    def reap_orphans(self) -> Callable[[Path, Path, str | None], None]: ...


def _fake_bindir(root: Path, name: str) -> Path:
    bindir = root / name / "bin"
    bindir.mkdir(parents=True)
    for tool in ("initdb", "pg_ctl"):
        (bindir / tool).write_text("#!/bin/sh\n")
        (bindir / tool).chmod(0o755)
    return bindir


def test_skips_without_server_by_default(
    postgres_fixture_logic: PostgresFixtureLogic, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TIMELOOM_REQUIRE_POSTGRES", raising=False)
    with pytest.raises(pytest.skip.Exception, match="no PostgreSQL server: no bins"):
        postgres_fixture_logic.unavailable("no bins")


def test_fails_without_server_when_required(
    postgres_fixture_logic: PostgresFixtureLogic, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TIMELOOM_REQUIRE_POSTGRES", "1")
    with pytest.raises(pytest.fail.Exception, match="required.*unavailable: no bins"):
        postgres_fixture_logic.unavailable("no bins")


def test_finds_debian_layout_off_path(
    postgres_fixture_logic: PostgresFixtureLogic, tmp_path: Path
) -> None:
    _fake_bindir(tmp_path, "9.6")
    newest = _fake_bindir(tmp_path, "15")
    (tmp_path / "16" / "bin").mkdir(parents=True)  # incomplete install: ignored
    found = postgres_fixture_logic.find_bindir(
        path=str(tmp_path / "empty"), globs=(f"{tmp_path}/*/bin",)
    )
    assert found == newest


def test_prefers_path_and_reports_nothing_found(
    postgres_fixture_logic: PostgresFixtureLogic, tmp_path: Path
) -> None:
    on_path = _fake_bindir(tmp_path, "onpath")
    _fake_bindir(tmp_path / "lib", "15")
    find = postgres_fixture_logic.find_bindir
    assert find(path=str(on_path), globs=(f"{tmp_path}/lib/*/bin",)) == on_path
    assert find(path=str(tmp_path / "none"), globs=(f"{tmp_path}/x/*/bin",)) is None


def test_reaps_only_clusters_whose_owner_died(
    postgres_fixture_logic: PostgresFixtureLogic, tmp_path: Path
) -> None:
    dead = subprocess.Popen(["true"])
    dead.wait()
    orphan, alive, unowned = (tmp_path / f"timeloom-pg-{n}" for n in "abc")
    for path in (orphan, alive, unowned):
        (path / "data").mkdir(parents=True)
    (orphan / "owner.pid").write_text(str(dead.pid))
    (alive / "owner.pid").write_text(str(os.getpid()))
    postgres_fixture_logic.reap_orphans(tmp_path, tmp_path / "bin", None)
    assert not orphan.exists()
    assert alive.exists()
    assert unowned.exists()


@pytest.mark.postgres
async def test_each_test_gets_a_fresh_database(postgres_dsn: str) -> None:
    conn = await asyncpg.connect(postgres_dsn)
    try:
        name = await conn.fetchval("SELECT current_database()")
        tables = await conn.fetchval(
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"
        )
        fsync = await conn.fetchval("SHOW fsync")
    finally:
        await conn.close()
    assert name.startswith("timeloom_test_")
    assert postgres_dsn.endswith(f"/{name}")
    assert tables == 0
    assert fsync == "on"  # benchmarks measure a durable server
