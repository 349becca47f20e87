"""The write twins of the TUI, for scripts: ``branch``, ``edit``, ``resume``.

The same on Timeloom and LangGraph databases: each goes through the database's
runner (:mod:`timeloom.tui.ops.runners`), so a LangGraph database is written only
through the user's own graph (``--graph``) and LangGraph's own saver. Exit codes as
the other commands: 0 success (for ``resume``: the run finished or paused, as
printed), 1 the thread or checkpoint was not found, 2 the database cannot be
opened, the arguments are wrong, the action is refused, or a node raised.
"""

from __future__ import annotations

import argparse
import copy
import json
import re
import sys
from collections.abc import Awaitable, Callable
from typing import IO, Any, Final, cast

from timeloom.core.checkpoint import Checkpoint
from timeloom.tui.ops.errors import CommandError
from timeloom.tui.ops.refs import resolve_ref
from timeloom.tui.ops.safetext import SafeStream, json_text
from timeloom.tui.printing import checkpoint_json
from timeloom.tui.scripting import EXIT_OK, run_command

_SEGMENT: Final = re.compile(r"\[(-?\d+)\]|\.?([^.\[\]]+)")


class BadArguments(CommandError):
    """Exit 2 with this message."""


def add_write_commands(subparsers: Any) -> None:
    """Register ``branch``, ``edit`` and ``resume`` on ``subparsers``."""
    branch = subparsers.add_parser(
        "branch",
        help="branch a checkpoint into a new thread",
        description=run_branch.__doc__,
    )
    _common(branch)
    branch.add_argument("new_thread", metavar="NEW_THREAD")
    branch.add_argument(
        "--ancestry",
        action="store_true",
        help="LangGraph: copy the checkpoint's history too (else the new thread "
        "starts at the copy)",
    )
    branch.set_defaults(func=run_branch)

    edit = subparsers.add_parser(
        "edit",
        help="write an update checkpoint with changed values",
        description=run_edit.__doc__,
    )
    _common(edit)
    edit.add_argument(
        "--set",
        dest="sets",
        metavar="PATH=JSON",
        action="append",
        required=True,
        help="a value to change: fail=false, messages[0].content='\"hi\"', "
        "order.amount=10 (repeatable)",
    )
    edit.add_argument("--as-node", metavar="NODE", help="whose update this is")
    edit.set_defaults(func=run_edit)

    resume = subparsers.add_parser(
        "resume",
        help="run on from a checkpoint with the graph",
        description=run_resume.__doc__,
    )
    _common(resume)
    resume.add_argument(
        "--answer",
        metavar="JSON",
        help="the answer to the interrupt the thread waits at (JSON, else text)",
    )
    resume.set_defaults(func=run_resume)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("url", metavar="URL", help="a database path or URL")
    parser.add_argument("ref", metavar="THREAD[@CHECKPOINT]")
    parser.add_argument(
        "--graph",
        metavar="MODULE:ATTR",
        help="the graph (package.module:attr or file.py:attr); needed to resume, "
        "and to write to a LangGraph database at all",
    )
    parser.add_argument("--json", action="store_true", help="print JSON")


# -- the commands ---------------------------------------------------------------------


def run_branch(args: argparse.Namespace, *, out: IO[str] | None = None) -> int:
    """Copy a checkpoint into a new thread (a fork); print the new thread's checkpoint."""
    from timeloom.tui.ops.runners import BranchOptions

    async def body(runner: Any, checkpoint: Checkpoint) -> Checkpoint:
        options = BranchOptions(ancestry=args.ancestry)
        written: Checkpoint = await runner.branch(checkpoint, args.new_thread, options)
        return written

    return _write(args, body, out)


def run_edit(args: argparse.Namespace, *, out: IO[str] | None = None) -> int:
    """Write an update checkpoint after THREAD[@CHECKPOINT] with the values changed."""
    from timeloom.tui.ops.editcheck import ParsedEdit

    async def body(runner: Any, checkpoint: Checkpoint) -> Checkpoint:
        changes = [_parse_set(text) for text in args.sets]
        values = copy.deepcopy(dict(checkpoint.values))
        for path, value in changes:
            values = set_path(values, path, value)
        changed = tuple(
            k
            for k in values
            if k not in checkpoint.values or values[k] != checkpoint.values[k]
        )
        edit = ParsedEdit(values, changed, ())
        written: Checkpoint = await runner.edit(checkpoint, edit, as_node=args.as_node)
        return written

    return _write(args, body, out)


def run_resume(args: argparse.Namespace, *, out: IO[str] | None = None) -> int:
    """Run on from THREAD[@CHECKPOINT] until the run ends or waits at an interrupt;
    print each checkpoint it commits."""
    from timeloom.tui.ops.resuming import Answer, parse_answer

    answer = Answer(parse_answer(args.answer)) if args.answer is not None else None
    write = cast(IO[str], SafeStream(out or sys.stdout))

    def committed(checkpoint: Checkpoint) -> None:
        if not args.json:
            write.write(_line(checkpoint) + "\n")
            write.flush()

    async def body(runner: Any, checkpoint: Checkpoint) -> Checkpoint:
        outcome = await runner.resume(
            checkpoint, answer=answer, on_checkpoint=committed
        )
        if not args.json:
            last = outcome.last
            waiting = ", ".join(w.node for w in last.interrupts)
            status = {
                "done": "done: nothing left to run",
                "paused": f"paused: waiting for {waiting or 'an answer'} "
                f"(--answer JSON continues)",
                "stopped": "stopped",
            }[outcome.status]
            write.write(f"{status}\n")
        last_checkpoint: Checkpoint = outcome.last
        return last_checkpoint

    return _write(args, body, out, quiet=True)


# -- helpers --------------------------------------------------------------------------


def _line(checkpoint: Checkpoint) -> str:
    nodes = ", ".join(checkpoint.writes) or checkpoint.source
    return f"{checkpoint.thread_id}@{checkpoint.id}  step {checkpoint.step}  {nodes}"


def _parse_set(text: str) -> tuple[str, Any]:
    path, eq, raw = text.partition("=")
    if not eq or not path:
        raise BadArguments(f"--set {text!r}: write PATH=JSON (e.g. fail=false)")
    try:
        return path, json.loads(raw)
    except ValueError as exc:
        raise BadArguments(
            f"--set {text!r}: {raw!r} is not JSON (a string needs quotes: "
            f"{path}='\"{raw}\"')"
        ) from exc


def set_path(values: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """``values`` with the part at ``path`` (``key``, ``a.b``, ``list[2].field``)
    replaced by ``value``; a field of a stored object (a LangChain message) too.

    Raises:
        BadArguments: the path does not lead anywhere in ``values``.
    """
    parts: list[str | int] = []
    end = 0
    for match in _SEGMENT.finditer(path):
        if match.start() != end:
            break
        index, key = match.groups()
        parts.append(int(index) if index is not None else key)
        end = match.end()
    if end != len(path) or not parts or not isinstance(parts[0], str):
        raise BadArguments(f"--set: cannot read the path {path!r}")
    return _replace(values, parts, value, path)  # type: ignore[no-any-return]


def _replace(node: Any, parts: list[str | int], value: Any, path: str) -> Any:
    if not parts:
        return value
    head, rest = parts[0], parts[1:]
    from timeloom.backends.inert import Inert

    if isinstance(node, dict) and isinstance(head, str):
        if head not in node and rest:
            raise BadArguments(f"--set {path}: there is no {head!r}")
        return {**node, head: _replace(node.get(head), rest, value, path)}
    if isinstance(node, list) and isinstance(head, int):
        if not -len(node) <= head < len(node):
            raise BadArguments(f"--set {path}: index {head} is out of range")
        copied = list(node)
        copied[head] = _replace(node[head], rest, value, path)
        return copied
    if isinstance(node, Inert) and isinstance(head, str) and node.fields is not None:
        if head not in node.fields:
            raise BadArguments(f"--set {path}: {node.type_name} has no {head!r}")
        from timeloom.backends.langgraph.decode import inert

        fields = {**node.fields, head: _replace(node.fields[head], rest, value, path)}
        return inert(node.type_name, fields, model=node.kind == "pydantic")
    raise BadArguments(
        f"--set {path}: cannot go into {type(node).__name__} at {head!r}"
    )


def _write(
    args: argparse.Namespace,
    body: Callable[[Any, Checkpoint], Awaitable[Checkpoint]],
    out: IO[str] | None,
    *,
    quiet: bool = False,
) -> int:
    # Everything printed may come from the database: through the one safe stream.
    write = cast(IO[str], SafeStream(out or sys.stdout))

    async def main() -> int:
        from timeloom.tui.ops.opening import open_url
        from timeloom.tui.ops.runners import open_runner

        checkpointer = open_url(args.url, read_only=False)
        await checkpointer.setup()
        try:
            runner = open_runner(checkpointer, args.graph, read_only=False)
            try:
                refusal = runner.refusal(args.command)
                if refusal is not None:
                    raise BadArguments(refusal)
                checkpoint = await resolve_ref(checkpointer, args.ref)
                written = await body(runner, checkpoint)
            finally:
                await runner.aclose()
        finally:
            await checkpointer.aclose()
        if args.json:
            write.write(json_text(checkpoint_json(written)) + "\n")
        elif not quiet:
            write.write(_line(written) + "\n")
        return EXIT_OK

    return run_command(main, None, any_error=True)
