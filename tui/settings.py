"""The user's settings, kept between runs in ``$XDG_CONFIG_HOME/timeloom/settings.json``
(``~/.config/timeloom/settings.json`` by default), as the XDG convention asks.

Only what the user chose in the app is stored (the theme). A missing or unreadable file
means the defaults; failing to write it never stops the app.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any


def settings_path() -> Path:
    """Where the settings file is (it may not exist)."""
    base = os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config"
    return Path(base) / "timeloom" / "settings.json"


def load_settings() -> dict[str, Any]:
    """The saved settings; empty when there are none or the file cannot be read."""
    try:
        data = json.loads(settings_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def save_setting(key: str, value: Any) -> str | None:
    """Store one setting, keeping the others; return why it failed, or None.

    The file is replaced whole (written beside it, then renamed), so a crash never
    leaves half a file.
    """
    path = settings_path()
    settings = load_settings()
    settings[key] = value
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=path.parent, prefix=".settings-")
    except OSError as exc:
        return f"Cannot save the settings to {path}: {exc}"
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(settings, out, indent=2)
        os.replace(temp, path)
    except OSError as exc:
        Path(temp).unlink(missing_ok=True)
        return f"Cannot save the settings to {path}: {exc}"
    return None
