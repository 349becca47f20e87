"""The ``timeloom`` command line: errors are one clear line, never a traceback."""

from __future__ import annotations

import importlib
from pathlib import Path
from types import ModuleType

import pytest

from timeloom.tui.cli import main


def test_cli_missing_database_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nope.db"
    assert main(["open", "--read-only", str(missing)]) == 2
    err = capsys.readouterr().err
    assert (
        err.strip()
        == f"timeloom: Database not found: There is no database at {missing}."
    )
    assert not missing.exists()  # browsing never creates a database


def test_cli_unknown_url_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["open", "ftp://example.com/x.db"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("timeloom: Unsupported URL: ")
    assert "Traceback" not in err


def test_serve_without_textual_serve_says_what_to_run(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    real = importlib.import_module

    def without_textual_serve(name: str, package: str | None = None) -> ModuleType:
        if name.startswith("textual_serve"):
            raise ImportError(name)
        return real(name, package)

    monkeypatch.setattr(importlib, "import_module", without_textual_serve)
    assert main(["serve", "-r", "checkpoints.db"]) == 2
    err = capsys.readouterr().err
    assert "pip install textual-serve" in err
    assert "textual serve 'timeloom open checkpoints.db --read-only'" in err


def test_help_lists_the_commands(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 0
    out = capsys.readouterr().out
    assert "open" in out
    assert "serve" in out
