"""What a ``filter=`` or ``metadata=`` argument matches, for every backend.

A backend may push part of a filter into its query (see the SQL backends); what it
cannot push is compared here, with Python's ``==``, so every backend answers alike.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from timeloom.core.checkpoint import CheckpointMeta


def metadata_matches(metadata: Mapping[str, Any], wanted: Mapping[str, Any]) -> bool:
    """Whether ``metadata`` holds every key of ``wanted`` with an equal value."""
    return all(metadata.get(k) == v for k, v in wanted.items())


def matches_filter(meta: CheckpointMeta, filter: Mapping[str, Any]) -> bool:
    """Whether a checkpoint matches a ``list(filter=...)`` filter.

    The keys ``source`` and ``step`` match those fields; any other key must be in
    the metadata with an equal value.
    """
    for key, value in filter.items():
        if key == "source":
            if meta.source != value:
                return False
        elif key == "step":
            if meta.step != value:
                return False
        elif meta.metadata.get(key) != value:
            return False
    return True
