"""Edited values back in LangGraph's own objects, for ``aupdate_state``.

The app edits what Timeloom's reader decoded (plain data and inert stand-ins); the
user's graph needs LangGraph's objects. Unchanged parts keep LangGraph's own
object, changed LangChain messages are rebuilt by ``langchain_core``, and any other
changed stored object is refused rather than guessed.
"""

from __future__ import annotations

from typing import Any, Final

from timeloom.backends.inert import Inert
from timeloom.backends.langgraph.decode import is_message
from timeloom.tui.ops.actions import ActionRefused


def revive(edited: Any, shown: Any, real: Any, path: str) -> Any:
    """An edited value in LangGraph's own objects.

    Where the edit left a part as Timeloom showed it, LangGraph's own object for that
    part is kept (``real``, read by LangGraph). A changed LangChain message is
    rebuilt with ``langchain_core``'s ``messages_from_dict`` (message types only);
    any other changed stored object cannot be rebuilt and is refused.

    Args:
        edited: the value as the user edited it (Timeloom's decoding).
        shown: the same part as Timeloom showed it before the edit.
        real: the same part as LangGraph reads it.
        path: where the value is, for the error.

    Raises:
        ActionRefused: a changed stored object that is not a LangChain message.
    """
    if _same(edited, shown):
        return real
    if isinstance(edited, dict) and isinstance(shown, dict) and isinstance(real, dict):
        return {
            k: revive(v, shown.get(k), real.get(k), f"{path}.{k}")
            for k, v in edited.items()
        }
    if isinstance(edited, list) and isinstance(shown, list) and isinstance(real, list):
        out = []
        for i, item in enumerate(edited):
            before = shown[i] if i < len(shown) else None
            had = real[i] if i < len(real) and i < len(shown) else None
            out.append(revive(item, before, had, f"{path}[{i}]"))
        return out
    if isinstance(edited, Inert):
        if is_message(edited):
            return _message(edited)
        raise ActionRefused(
            f"{path} holds a changed {edited.type_name}, which Timeloom cannot "
            f"rebuild for LangGraph; edit its plain fields in your graph instead.",
            title="Cannot save the edit",
        )
    return edited


def _same(a: Any, b: Any) -> bool:
    try:
        return type(a) is type(b) and bool(a == b)
    except Exception:  # an odd value's __eq__: treat it as changed
        return False


_KINDS: Final = {
    "HumanMessage": "human",
    "AIMessage": "ai",
    "SystemMessage": "system",
    "ToolMessage": "tool",
    "FunctionMessage": "function",
    "ChatMessage": "chat",
    "RemoveMessage": "remove",
}


def _message(value: Inert) -> Any:
    """A LangChain message from its inert form (``role`` first, then its fields),
    by the stored class name (LangChain's own message types only).

    Raises:
        ActionRefused: a message class LangChain cannot rebuild from a dict.
    """
    from langchain_core.messages import messages_from_dict

    name = value.type_name.rpartition(".")[2]
    kind = name if name.endswith("Chunk") else _KINDS.get(name, "")
    fields = dict(value.fields or {})
    role = fields.pop("role", None)
    if kind == "chat":
        fields["role"] = role
    fields.setdefault("content", "")
    try:
        return messages_from_dict([{"type": kind, "data": fields}])[0]
    except (ValueError, TypeError) as exc:
        raise ActionRefused(
            f"A changed {value.type_name} cannot be rebuilt: {exc}",
            title="Cannot save the edit",
        ) from exc


__all__ = ["revive"]
