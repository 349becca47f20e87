"""``python -m timeloom.tui`` runs the ``timeloom`` command."""

from __future__ import annotations

from timeloom.tui.cli import main

raise SystemExit(main())
