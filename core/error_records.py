"""A node's error as plain data, the value of an ``"error"`` pending write.

The record is ``{"type", "message", "traceback", "repr"}``: what the app shows
(type, message, traceback) and what LangGraph shows as a task's error (the
exception's ``repr``). It is made from the exception when a node raises, or from
the text LangGraph stores for one (its databases, its saver API's writes).
"""

from __future__ import annotations

import ast
import re
import traceback
from collections.abc import Mapping
from typing import Any

_REPR = re.compile(r"^([A-Za-z_][\w.]*)\((.*)\)$", re.DOTALL)


def error_record(exc: BaseException) -> dict[str, str]:
    """The record of an exception a node raised."""
    return {
        "type": type(exc).__qualname__,
        "message": str(exc),
        "traceback": "".join(traceback.format_exception(exc)),
        "repr": repr(exc),
    }


def error_from_text(text: Any) -> dict[str, str]:
    """The record of an error LangGraph stored as ``repr(exc)`` (no traceback).

    The type and message are read from the text without evaluating anything but
    literals; text that is not a ``repr`` is the message of an ``Exception``.
    """
    if not isinstance(text, str):
        return {"type": "Exception", "message": repr(text), "traceback": ""}
    match = _REPR.match(text.strip())
    if match is None:
        return {"type": "Exception", "message": text, "traceback": "", "repr": text}
    kind, args = match.groups()
    try:
        parsed: Any = ast.literal_eval(f"({args},)") if args.strip() else ()
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return {"type": kind, "message": args, "traceback": "", "repr": text}
    message = ", ".join(str(p) for p in parsed)
    return {"type": kind, "message": message, "traceback": "", "repr": text}


def error_text(record: Mapping[str, Any]) -> str:
    """A record as LangGraph shows a task's error: the exception's ``repr``, e.g.
    ``"RuntimeError('boom')"``.

    Records written before they kept the ``repr`` rebuild it from the type and
    message (exact for an exception made from one message, the usual kind).
    """
    text = record.get("repr")
    if isinstance(text, str):
        return text
    return f"{record.get('type', 'Exception')}({str(record.get('message', ''))!r})"
