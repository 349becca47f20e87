"""A chat transcript as a state key: ``add_messages`` and ``MessagesState``.

As LangGraph's: every message gets an id; a message whose id is already in the
list replaces it; :class:`RemoveMessage` (or LangChain's) deletes by id, and
``RemoveMessage(REMOVE_ALL_MESSAGES)`` clears the list. Messages are plain dicts
(``{"role": ..., "content": ...}``) or, when ``langchain_core`` is installed, LangChain
message objects; with it installed, dicts, strings and ``(role, content)`` tuples
become LangChain messages as LangGraph makes them. ``langchain_core`` is optional.
"""

from __future__ import annotations

import dataclasses
import functools
import sys
import uuid
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, TypedDict

REMOVE_ALL_MESSAGES = "__remove_all__"
"""The id of a :class:`RemoveMessage` that deletes every message before it."""


@dataclass(frozen=True, slots=True)
class RemoveMessage:
    """In an update of a messages key: delete the message with this id."""

    id: str


def add_messages(
    left: Any = None, right: Any = None, *, format: str | None = None
) -> Any:
    """Merge ``right`` into ``left`` by message id (the reducer of a transcript).

    Called with neither list, it returns the reducer with ``format`` set, as
    LangGraph's: ``Annotated[list, add_messages(format="langchain-openai")]``
    keeps the messages with their contents in OpenAI's shape (strings, ``text``
    and ``image_url`` blocks; needs ``langchain_core``).

    Args:
        left: the messages so far (a list, or one message).
        right: the update: messages to append, replace (same id) or remove.
        format: ``None``, or ``"langchain-openai"``.

    Returns:
        The new list; neither argument is modified. (The reducer, given neither.)

    Raises:
        ValueError: a removal names an id that is not in the list, only one list
            is given, or ``format`` is unknown.
    """
    if format not in (None, "langchain-openai"):
        raise ValueError(
            f"Unrecognized format={format!r}. Expected one of 'langchain-openai', None."
        )
    if left is None and right is None:
        return functools.partial(add_messages, format=format)
    if left is None or right is None:
        raise ValueError(
            "add_messages needs both 'left' and 'right'; only "
            f"{'left' if right is None else 'right'} was given"
        )
    merged = _merged(left, right)
    return _openai_format(merged) if format == "langchain-openai" else merged


def is_add_messages(reducer: Any) -> bool:
    """Whether ``reducer`` is :func:`add_messages`, with or without a ``format``."""
    return reducer is add_messages or (
        isinstance(reducer, functools.partial) and reducer.func is add_messages
    )


def _openai_format(messages: list[Any]) -> list[Any]:
    """LangChain messages with their contents in OpenAI's shape (LangGraph's
    conversion: to OpenAI's dicts and back)."""
    try:
        from langchain_core.messages import (
            convert_to_messages,
            convert_to_openai_messages,
        )
    except ImportError:  # as LangGraph: warn, keep them (here dicts) as they are
        warnings.warn(
            'add_messages(format="langchain-openai") needs langchain_core; the '
            "messages are kept unformatted",
            stacklevel=2,
        )
        return messages
    return list(convert_to_messages(convert_to_openai_messages(messages)))


def with_message_ids(update: Any) -> list[Any]:
    """The messages of ``update`` (one, or a list), each a message with an id:
    a string, a ``(role, content)`` pair or a dict made a message as
    :func:`add_messages` makes it, a new id where it has none."""
    convert = _converter()
    return [_with_id(convert(m)) for m in _as_list(update)]


_ROLES = frozenset({"user", "human", "assistant", "ai", "tool", "system", "function"})
_TYPES = frozenset({"human", "ai", "tool", "system", "function", "remove"})
"""The ``role`` and ``type`` values that make a dict a message (LangGraph's)."""


def with_object_ids(update: Any) -> Any:
    """``update`` with an id on each LangChain message in it that has none, and
    each message dict in a list made a message with an id, as LangGraph gives
    them in a ``DeltaChannel`` whose reducer is not a transcript's; anything
    else is left as it is."""
    if isinstance(update, list):
        return [
            _with_id(_converter()(m)) if _is_message_dict(m) else object_with_id(m)
            for m in update
        ]
    if _is_message_dict(update):
        return _with_id(update)
    return object_with_id(update)


def _is_message_dict(value: Any) -> bool:
    return isinstance(value, dict) and (
        value.get("role") in _ROLES or value.get("type") in _TYPES
    )


def object_with_id(value: Any) -> Any:
    """``value`` with an id if it is a message object (not a dict) without one."""
    if isinstance(value, dict) or not _is_message(value) or message_id(value):
        return value
    return _with_id(value)


def _merged(left: Any, right: Any) -> list[Any]:
    convert = _converter()
    merged = [_with_id(convert(m)) for m in _as_list(left)]
    update = with_message_ids(right)
    for i in range(len(update) - 1, -1, -1):
        if _is_removal(update[i]) and message_id(update[i]) == REMOVE_ALL_MESSAGES:
            return update[i + 1 :]
    index = {message_id(m): i for i, m in enumerate(merged)}
    removed: set[Any] = set()
    for message in update:
        mid = message_id(message)
        if mid in index:
            if _is_removal(message):
                removed.add(mid)
            else:
                removed.discard(mid)
                merged[index[mid]] = message
        elif _is_removal(message):
            raise ValueError(
                f"Attempting to delete a message with an ID that doesn't exist ({mid!r})"
            )
        else:
            index[mid] = len(merged)
            merged.append(message)
    return [m for m in merged if message_id(m) not in removed]


class MessagesState(TypedDict):
    """A state with one key, ``messages``, merged by :func:`add_messages`."""

    messages: Annotated[list[Any], add_messages]


def message_classes() -> set[type]:
    """LangChain's message classes, when it is installed (a checkpointer may then
    revive them), else none."""
    try:
        from langchain_core import messages
    except ImportError:
        return set()
    found = set()
    for name in (
        "AIMessage",
        "HumanMessage",
        "SystemMessage",
        "ToolMessage",
        "FunctionMessage",
        "ChatMessage",
        "AIMessageChunk",
        "HumanMessageChunk",
        "SystemMessageChunk",
        "ToolMessageChunk",
        "FunctionMessageChunk",
        "ChatMessageChunk",
    ):
        cls = getattr(messages, name, None)
        if isinstance(cls, type):
            found.add(cls)
    return found


def messages_in(value: Any) -> list[Any]:
    """The messages among the values of a state or an update (a dict, a
    dataclass or a model): each value that is a message or a list of messages,
    as LangGraph's ``messages`` stream mode finds those a node wrote."""
    if isinstance(value, Mapping):
        values: Iterable[Any] = value.values()
    elif hasattr(type(value), "model_fields"):
        values = [getattr(value, k) for k in type(value).model_fields]
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        values = [getattr(value, f.name) for f in dataclasses.fields(value)]
    else:
        return []
    found = []
    for item in values:
        if _is_message(item):
            found.append(item)
        elif isinstance(item, list | tuple):
            found.extend(m for m in item if _is_message(m))
    return found


def _is_message(value: Any) -> bool:
    """A LangChain message, or a message as a dict (``role`` and ``content``)."""
    if isinstance(value, dict):
        return "role" in value and "content" in value
    return hasattr(value, "content") and hasattr(value, "type") and hasattr(value, "id")


def _as_list(messages: Any) -> list[Any]:
    if messages is None:
        return []
    if isinstance(messages, list | tuple) and not _is_role_pair(messages):
        return list(messages)
    return [messages]


def _is_role_pair(value: Any) -> bool:
    return (
        isinstance(value, tuple)
        and len(value) == 2
        and all(isinstance(v, str) for v in value)
    )


def _converter() -> Callable[[Any], Any]:
    """How one message is made a message: LangChain's conversion when installed
    (as LangGraph does), else strings and pairs become dicts."""
    try:
        from langchain_core.messages import convert_to_messages
    except ImportError:
        return _to_dict

    def convert(message: Any) -> Any:
        if _is_removal(message) and not hasattr(message, "content"):
            return message
        return convert_to_messages([message])[0]

    return convert


def _to_dict(message: Any) -> Any:
    if isinstance(message, str):
        return {"role": "user", "content": message}
    if _is_role_pair(message):
        return {"role": message[0], "content": message[1]}
    return message


def push_message(message: Any, *, state_key: str | None = "messages") -> Any:
    """Stream ``message`` now (``stream_mode="messages"``) and, unless
    ``state_key`` is ``None``, write it to that key with the node's update, as
    LangGraph's ``push_message``: for a message made without a chat model.

    Returns:
        The message (a LangChain message when ``langchain_core`` is installed).

    Raises:
        ValueError: the message has no id (LangGraph's error).
        RuntimeError: called outside a running node.
    """
    from timeloom.core.interrupts import task_scratch

    scratch = task_scratch.get()
    if scratch is None or scratch.config is None:
        raise RuntimeError("Called push_message outside of a running node")
    message = _converter()(message)
    if message_id(message) is None:
        raise ValueError("Message ID is required")
    config = scratch.config
    callbacks = config.get("callbacks")
    if isinstance(callbacks, list) and "langchain_core" in sys.modules:
        from timeloom.core.chat_stream import emitters

        for emit in emitters(callbacks):
            emit((message, dict(config.get("metadata") or {})))
    if state_key:
        scratch.pushed = [*(scratch.pushed or ()), (state_key, message)]
    return message


def message_id(message: Any) -> Any:
    """The id of a message (a dict's ``"id"``, a LangChain message's ``.id``)."""
    if isinstance(message, dict):
        return message.get("id")
    return getattr(message, "id", None)


def _is_removal(message: Any) -> bool:
    if isinstance(message, RemoveMessage):
        return True
    if isinstance(message, dict):
        return message.get("type") == "remove"
    return type(message).__name__ == "RemoveMessage"


def _with_id(message: Any) -> Any:
    if message_id(message) is not None:
        return message
    new_id = str(uuid.uuid4())
    if isinstance(message, dict):
        return {**message, "id": new_id}
    copy = getattr(message, "model_copy", None)
    if callable(copy):
        return copy(update={"id": new_id})
    raise TypeError(
        f"A message must be a dict or a LangChain message, got {type(message).__name__}"
    )


__all__: Sequence[str] = [
    "REMOVE_ALL_MESSAGES",
    "MessagesState",
    "RemoveMessage",
    "add_messages",
]
