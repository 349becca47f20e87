"""A password in a database URL never reaches the screen, whatever fails.

Every command is run against a server that refuses it (nothing listening, a
database that does not exist) and a URL that does not parse, with the password in
the user info (holding an ``@``) and in the query string.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from timeloom.backends.dsn import mask_dsn, scrub
from timeloom.backends.urls import open_checkpointer
from timeloom.core.errors import StoreConnectionError
from timeloom.tui.cli import main

SECRET = "s3cr3t"
TAIL = "TA1Lpart"  # the part of an "@"-holding password a naive mask shows

COMMANDS = (
    ["threads"],
    ["threads", "--json"],
    ["show", "t"],
    ["diff", "t@a", "t@b"],
    ["export", "t"],
    ["open"],
    ["open", "--read-only"],
)


def _urls(host: str, path: str = "/db") -> list[str]:
    return [
        f"postgresql://ada:{SECRET}@{TAIL}@{host}{path}",
        f"postgresql://ada@{host}{path}?password={SECRET}{TAIL}&sslmode=disable",
        f"postgresql://{host}{path}?user=ada&PASSWORD={SECRET}{TAIL}",
    ]


def _run(command: list[str], url: str, capsys: pytest.CaptureFixture[str]) -> str:
    code = main([command[0], url, *command[1:]])
    captured = capsys.readouterr()
    shown = captured.out + captured.err
    assert code == 2, shown
    assert "Traceback" not in shown
    return shown


def _assert_masked(shown: str) -> None:
    assert SECRET not in shown
    assert TAIL not in shown
    assert "***" in shown  # the URL is still named, masked


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
@pytest.mark.parametrize(
    "url", _urls("127.0.0.1:1"), ids=["userinfo", "query", "QUERY"]
)
def test_unreachable_server_never_shows_the_password(
    command: list[str], url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _assert_masked(_run(command, url, capsys))


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
@pytest.mark.parametrize(
    "url", _urls("127.0.0.1:port"), ids=["userinfo", "query", "QUERY"]
)
def test_a_malformed_port_is_a_clear_error_without_the_password(
    command: list[str], url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    shown = _run(command, url, capsys)
    _assert_masked(shown)
    assert "Not a valid PostgreSQL URL" in shown


@pytest.mark.postgres
@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_a_refusing_server_never_shows_the_password(
    command: list[str], postgres_dsn: str, capsys: pytest.CaptureFixture[str]
) -> None:
    host = urlsplit(postgres_dsn).netloc.rpartition("@")[2]
    for url in _urls(host, "/no_such_database"):
        # The server is there; the database is not.
        _assert_masked(_run(command, url, capsys))


@pytest.mark.parametrize(
    "url", _urls("127.0.0.1:1"), ids=["userinfo", "query", "QUERY"]
)
def test_open_checkpointer_never_shows_the_password(url: str) -> None:
    with pytest.raises(StoreConnectionError) as raised:
        open_checkpointer(url)
    _assert_masked(str(raised.value))


def test_one_mask_for_every_form() -> None:
    assert (
        mask_dsn(f"postgresql://ada:{SECRET}@{TAIL}@db:5432/prod")
        == "postgresql://ada:***@db:5432/prod"
    )
    assert (
        mask_dsn(f"postgresql://db/prod?user=ada&password={SECRET}&sslmode=require")
        == "postgresql://db/prod?user=ada&password=***&sslmode=require"
    )
    assert mask_dsn("postgresql://ada@db/prod") == "postgresql://ada@db/prod"
    assert mask_dsn("postgresql://db/prod") == "postgresql://db/prod"
    # A driver error echoing the password, or the tail a driver took for a host.
    dsn = f"postgresql://ada:{SECRET}@{TAIL}@db/prod"
    assert scrub(f"no host {TAIL}@db; auth {SECRET}@{TAIL}", dsn) == (
        "no host ***@db; auth ***"
    )
