"""Retrying a failing node, as LangGraph's ``add_node(..., retry_policy=...)``."""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

_NOT_RETRIED: tuple[type[BaseException], ...] = (
    ValueError,
    TypeError,
    ArithmeticError,
    ImportError,
    LookupError,
    NameError,
    SyntaxError,
    RuntimeError,
    ReferenceError,
    StopIteration,
    StopAsyncIteration,
    OSError,
)


def default_retry_on(exc: Exception) -> bool:
    """LangGraph's default: retry what may be transient (a lost connection, a
    server's 5xx), not what a retry would only repeat (a bug, a bad input)."""
    if isinstance(exc, ConnectionError):
        return True
    response = getattr(exc, "response", None)
    status = getattr(response, "status_code", None)
    if isinstance(status, int):
        return 500 <= status < 600
    return not isinstance(exc, _NOT_RETRIED)


RetryOn = type[Exception] | Sequence[type[Exception]] | Callable[[Exception], bool]


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how fast to run a failing node again (LangGraph's fields)."""

    initial_interval: float = 0.5
    """Seconds before the first retry."""
    backoff_factor: float = 2.0
    """Each later wait is this many times the one before."""
    max_interval: float = 128.0
    """The longest wait, in seconds."""
    max_attempts: int = 3
    """Attempts in all, the first included."""
    jitter: bool = True
    """Add up to a second at random to each wait."""
    retry_on: RetryOn = default_retry_on
    """Exception types to retry, or a predicate on the exception."""


def retry_delay(policies: Any, exc: Exception, attempt: int) -> float | None:
    """Seconds to wait before attempt ``attempt + 1`` after ``exc``, or None to
    give up. ``policies``: a policy (ours or LangGraph's) or a list of them; the
    first whose ``retry_on`` matches applies."""
    listed = policies if isinstance(policies, list | tuple) else [policies]
    for policy in listed:
        if not _matches(policy.retry_on, exc):
            continue
        if attempt >= policy.max_attempts:
            return None
        delay = min(
            float(policy.max_interval),
            float(policy.initial_interval)
            * float(policy.backoff_factor) ** (attempt - 1),
        )
        return delay + (random.uniform(0, 1) if policy.jitter else 0.0)
    return None


def _matches(retry_on: Any, exc: Exception) -> bool:
    if isinstance(retry_on, type):
        return isinstance(exc, retry_on)
    if isinstance(retry_on, Sequence):
        return isinstance(exc, tuple(retry_on))
    return bool(retry_on(exc))
