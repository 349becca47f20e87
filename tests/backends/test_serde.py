"""The msgpack codec: round trips, inert values, error paths, and safe reading."""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import enum
import math
import operator
import os
import pickle
import socket
import struct
import subprocess
import sys
import uuid
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, NamedTuple, TypedDict
from zoneinfo import ZoneInfo

import msgpack
import pydantic
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from timeloom.backends.serde import EXT_CODES, MAX_NESTING, Inert, Serializer
from timeloom.core.errors import SerializationError

# -- application classes: some registered, some not ----------------------------------


class Color(enum.Enum):
    RED = "red"
    GREEN = "green"


class Level(enum.IntEnum):
    LOW = 1
    HIGH = 2


class Shape(enum.Enum):  # never registered
    CIRCLE = 1
    SQUARE = (4, "corners")


@dataclasses.dataclass
class Point:
    x: Any
    y: Any


@dataclasses.dataclass(frozen=True)
class Tag:  # never registered; frozen, so it can live in sets
    label: Any


@dataclasses.dataclass
class Counter:
    start: int
    doubled: int = dataclasses.field(init=False)

    def __post_init__(self) -> None:
        self.doubled = self.start * 2


@dataclasses.dataclass
class Message:
    role: str
    payload: Any


class Note(pydantic.BaseModel):
    title: str
    body: Any = None


class Loose(pydantic.BaseModel):  # never registered
    data: Any


class Child(pydantic.BaseModel):  # never registered; nested in Parent
    name: str


class Parent(pydantic.BaseModel):
    child: Child
    color: Color


class Aliased(pydantic.BaseModel):
    user_name: str = pydantic.Field(alias="userName")


REGISTERED: tuple[type, ...] = (Color, Level, Point, Counter, Note, Parent, Aliased)


def full() -> Serializer:
    return Serializer(register=REGISTERED)


# -- comparing values exactly (types, NaN, tz, fold) ----------------------------------


def _type_name(value: Any) -> str:
    return f"{type(value).__module__}.{type(value).__qualname__}"


def _stored_fields(value: Any) -> dict[str, Any]:
    if isinstance(value, enum.Enum):
        return {"name": value.name, "value": value.value}
    if isinstance(value, pydantic.BaseModel):
        return {name: getattr(value, name) for name in type(value).model_fields}
    return {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}


def assert_same(original: Any, decoded: Any, registered: tuple[type, ...]) -> None:
    """``decoded`` is ``original`` read back: same types, values, and inert classes."""
    if isinstance(decoded, Inert) and not isinstance(original, Inert):
        assert type(original) not in registered, f"{original!r} was not revived"
        assert decoded.type_name == _type_name(original)
        assert decoded.fields is not None
        expected = _stored_fields(original)
        assert list(decoded.fields) == list(expected)
        for key, value in expected.items():
            assert_same(value, decoded.fields[key], registered)
        return
    assert type(decoded) is type(original), (original, decoded)
    if isinstance(original, float):
        assert struct.pack("<d", original) == struct.pack("<d", decoded)
    elif isinstance(original, Decimal):
        assert str(original) == str(decoded)
    elif isinstance(original, dt.datetime | dt.time):
        assert original.replace(tzinfo=None) == decoded.replace(tzinfo=None)
        assert original.fold == decoded.fold
        assert original.utcoffset() == decoded.utcoffset()
        if isinstance(original.tzinfo, ZoneInfo):
            assert decoded.tzinfo is original.tzinfo  # the same cached zone
    elif isinstance(original, dict):
        assert len(original) == len(decoded)
        for (key, value), (dkey, dvalue) in zip(
            original.items(), decoded.items(), strict=True
        ):
            assert_same(key, dkey, registered)
            assert_same(value, dvalue, registered)
    elif isinstance(original, list | tuple):
        assert len(original) == len(decoded)
        for item, ditem in zip(original, decoded, strict=True):
            assert_same(item, ditem, registered)
    elif isinstance(original, set | frozenset):
        assert len(original) == len(decoded)
        for item in original:
            assert any(_is_same(item, ditem, registered) for ditem in decoded), item
    elif isinstance(original, enum.Enum):
        assert original is decoded
    elif dataclasses.is_dataclass(original) or isinstance(original, pydantic.BaseModel):
        assert_same(_stored_fields(original), _stored_fields(decoded), registered)
    else:
        assert original == decoded


def _is_same(a: Any, b: Any, registered: tuple[type, ...]) -> bool:
    try:
        assert_same(a, b, registered)
    except AssertionError:
        return False
    return True


# -- hypothesis strategies -------------------------------------------------------------

fixed_offsets = st.builds(
    dt.timezone,
    st.timedeltas(min_value=dt.timedelta(hours=-23), max_value=dt.timedelta(hours=23)),
)
zones = st.none() | fixed_offsets | st.timezones()
# Hashable leaves without NaN, so set membership means what it says.
hashable_leaves = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats(allow_nan=False)
    | st.text(max_size=8)
    | st.binary(max_size=8)
    | st.datetimes(timezones=zones)
    | st.dates()
    | st.times(timezones=st.none() | fixed_offsets)
    | st.timedeltas()
    | st.uuids()
    | st.decimals(allow_nan=False)
    | st.sampled_from(Color)
    | st.sampled_from(Level)
    | st.sampled_from(Shape)
)
hashables = st.recursive(
    hashable_leaves,
    lambda inner: (
        st.tuples(inner, inner)
        | st.frozensets(inner, max_size=3)
        | st.builds(Tag, inner)
    ),
    max_leaves=6,
)
leaves = (
    hashables
    | st.floats()  # NaN and infinities too
    | st.decimals()  # NaN, sNaN, infinities
    | st.datetimes(timezones=zones)
)
keys = (
    st.text(max_size=6)
    | st.integers(-1000, 1000)
    | st.tuples(st.integers(-9, 9), st.text())
)


def _containers(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return (
        st.lists(inner, max_size=4)
        | st.lists(inner, max_size=3).map(tuple)
        | st.dictionaries(keys, inner, max_size=4)
        | st.sets(hashables, max_size=4)
        | st.frozensets(hashables, max_size=3)
        | st.builds(Point, inner, inner)
        | st.builds(Note, title=st.text(max_size=5), body=inner)
        | st.builds(Loose, data=inner)
        | st.builds(Counter, st.integers(-100, 100))
    )


values = st.recursive(leaves, _containers, max_leaves=20)
PROPERTY = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


@PROPERTY
@given(values)
def test_registered_values_round_trip_exactly(value: Any) -> None:
    serde = full()
    assert_same(value, serde.loads(serde.dumps(value)), REGISTERED)


@PROPERTY
@given(values)
def test_unregistered_values_read_inert_and_write_back_the_same_bytes(
    value: Any,
) -> None:
    bare = Serializer()
    data = bare.dumps(value)
    decoded = bare.loads(data)
    assert_same(value, decoded, ())
    assert bare.dumps(decoded) == data
    # A process that has the classes writes the same bytes as one that has not.
    assert full().dumps(full().loads(data)) == data


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=64))
def test_arbitrary_bytes_decode_or_raise_serialization_error(data: bytes) -> None:
    try:
        full().loads(data)
    except SerializationError:
        pass


# -- native types and specific round trips --------------------------------------------


def test_tuples_stay_tuples_and_non_string_keys_survive() -> None:
    serde = Serializer()
    value = {1: (1, [2, (3,)]), (1, "a"): "tuple key", "s": (), None: True}
    decoded = serde.loads(serde.dumps(value))
    assert decoded == value
    assert type(decoded[1]) is tuple
    assert type(decoded[1][1]) is list
    assert type(decoded[1][1][1]) is tuple
    assert list(decoded) == [1, (1, "a"), "s", None]


def test_sets_encode_the_same_whatever_their_insertion_order() -> None:
    serde = Serializer()
    words = [f"word{i}" for i in range(50)]
    forward, backward = set(words), set(reversed(words))
    assert serde.dumps(forward) == serde.dumps(backward)
    assert serde.loads(serde.dumps(frozenset(words))) == frozenset(words)


def test_datetimes_keep_their_zone_offset_and_fold() -> None:
    serde = Serializer()
    paris = ZoneInfo("Europe/Paris")
    ambiguous = dt.datetime(2024, 10, 27, 2, 30, fold=1, tzinfo=paris)
    offset = dt.datetime(2024, 1, 1, 12, tzinfo=dt.timezone(dt.timedelta(hours=-5)))
    naive = dt.datetime(2024, 1, 1, 12, 0, 0, 1)
    for value in (ambiguous, offset, naive):
        decoded = serde.loads(serde.dumps(value))
        assert decoded.replace(tzinfo=None) == value.replace(tzinfo=None)
        assert decoded.utcoffset() == value.utcoffset()
        assert decoded.fold == value.fold
    assert serde.loads(serde.dumps(ambiguous)).tzinfo is paris
    assert serde.loads(serde.dumps(naive)).tzinfo is None


def _datetime_payload(tz: Any) -> bytes:
    payload = msgpack.packb([2024, 6, 1, 12, 0, 0, 0, 0, tz])
    return msgpack.packb(msgpack.ExtType(4, payload))


def test_unknown_or_suspicious_zone_names_fall_back_to_the_stored_offset() -> None:
    two_hours = 2 * 3600 * 10**6
    for key in ("Mars/Olympus_Mons", "../../etc/passwd", "/etc/localtime", "os.path"):
        decoded = Serializer().loads(_datetime_payload([key, two_hours]))
        assert decoded.tzinfo == dt.timezone(dt.timedelta(hours=2)), key
    assert "os.path" not in {type(v).__name__ for v in sys.modules.values()}


def test_decimals_keep_nan_signaling_nan_signed_zero_and_exponent() -> None:
    serde = Serializer()
    for text in (
        "NaN",
        "-NaN123",
        "sNaN",
        "Infinity",
        "-Infinity",
        "-0",
        "1.500",
        "1E+9",
    ):
        assert str(serde.loads(serde.dumps(Decimal(text)))) == text


def test_native_subclasses_are_stored_as_their_base_type() -> None:
    class Pair(NamedTuple):
        left: int
        right: int

    serde = Serializer()
    decoded = serde.loads(serde.dumps({"od": OrderedDict(a=1), "pair": Pair(1, 2)}))
    assert type(decoded["od"]) is dict
    assert decoded["pair"] == (1, 2)
    assert type(decoded["pair"]) is tuple


def _ext_bytes(code: int, payload: Any) -> bytes:
    data = payload if isinstance(payload, bytes) else msgpack.packb(payload)
    return msgpack.packb(msgpack.ExtType(code, data))


def test_values_are_stored_in_the_documented_ext_format() -> None:
    """The on-disk format, spelled out from the table in the module docstring."""
    paris = ZoneInfo("Europe/Paris")
    ident = uuid.UUID(int=7)
    when = dt.datetime(2024, 6, 1, 12, 30, 15, 7)
    cases: list[tuple[Any, bytes]] = [
        ((1, "a"), _ext_bytes(1, [1, "a"])),
        ({2, 1}, _ext_bytes(2, [1, 2])),
        (frozenset({"b", "a"}), _ext_bytes(3, ["a", "b"])),
        (when, _ext_bytes(4, [2024, 6, 1, 12, 30, 15, 7, 0, None])),
        (when.replace(tzinfo=dt.UTC), _ext_bytes(4, [2024, 6, 1, 12, 30, 15, 7, 0, 0])),
        (
            when.replace(tzinfo=paris),
            _ext_bytes(
                4, [2024, 6, 1, 12, 30, 15, 7, 0, ["Europe/Paris", 7_200_000_000]]
            ),
        ),
        (when.date(), _ext_bytes(5, when.date().toordinal())),
        (dt.time(1, 2, 3, 4), _ext_bytes(6, [1, 2, 3, 4, 0, None])),
        (dt.timedelta(days=-1, microseconds=5), _ext_bytes(7, [-1, 0, 5])),
        (ident, _ext_bytes(8, ident.bytes)),
        (Decimal("1.50"), _ext_bytes(9, b"1.50")),
        (Color.RED, _ext_bytes(10, [__name__, "Color", "RED", "red"])),
        (Point(1, 2), _ext_bytes(11, [__name__, "Point", {"x": 1, "y": 2}])),
        (
            Note(title="t"),
            _ext_bytes(12, [__name__, "Note", {"title": "t", "body": None}]),
        ),
    ]
    serde = Serializer()
    for value, expected in cases:
        assert serde.dumps(value) == expected, value
    assert EXT_CODES == {
        1: "tuple", 2: "set", 3: "frozenset", 4: "datetime", 5: "date", 6: "time",
        7: "timedelta", 8: "UUID", 9: "Decimal", 10: "Enum member", 11: "dataclass",
        12: "pydantic model",
    }  # fmt: skip


def test_sets_encode_the_same_in_every_process() -> None:
    script = (
        "from timeloom.backends.serde import Serializer\n"
        "words = {f'w{i}' for i in range(40)}\n"
        "print(Serializer().dumps({'s': words, 'f': frozenset(words)}).hex())\n"
    )
    outputs = {
        subprocess.run(
            [sys.executable, "-c", script],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONHASHSEED": seed},
        ).stdout
        for seed in ("1", "2")
    }
    assert len(outputs) == 1


# -- registration and reviving ------------------------------------------------------


def test_registered_classes_are_revived() -> None:
    serde = full()
    value = {
        "color": Color.GREEN,
        "level": Level.HIGH,
        "point": Point(1, (2, 3)),
        "counter": Counter(21),
        "note": Note(title="t", body={"k": (1,)}),
        "parent": Parent(child=Child(name="kid"), color=Color.RED),
        "aliased": Aliased(userName="ada"),
    }
    decoded = serde.loads(serde.dumps(value))
    assert decoded == value
    assert decoded["level"] is Level.HIGH  # an IntEnum is not stored as a bare int
    assert decoded["counter"].doubled == 42
    # Child was not passed; Parent's annotation named it, so it was registered.
    assert type(decoded["parent"].child) is Child


def test_register_later_and_ignore_what_cannot_be_revived() -> None:
    serde = Serializer()
    data = serde.dumps(Point(1, 2))
    assert isinstance(serde.loads(data), Inert)
    serde.register(int, str, dict, list[int], object, Point)
    assert serde.loads(data) == Point(1, 2)


@dataclasses.dataclass
class Tree:  # refers to itself: the schema search must terminate
    label: Level
    children: list[Tree]


class ChatState(TypedDict):
    messages: Annotated[list[Message], operator.add]
    mood: Color | None
    tree: Tree | None
    parent: Parent


def test_registering_a_schema_registers_every_class_it_names() -> None:
    serde = Serializer()
    serde.register([ChatState])  # an iterable works as well as separate arguments
    value = {
        "messages": [Message("user", Tag("not named by the schema"))],
        "mood": Color.RED,
        "tree": Tree(Level.LOW, [Tree(Level.HIGH, [])]),
        "parent": Parent(child=Child(name="c"), color=Color.GREEN),
    }
    decoded = serde.loads(serde.dumps(value))
    assert decoded["messages"][0].role == "user"
    assert type(decoded["messages"][0]) is Message
    assert isinstance(decoded["messages"][0].payload, Inert)
    assert decoded["mood"] is Color.RED
    assert decoded["tree"] == value["tree"]
    assert type(decoded["parent"].child) is Child  # named by Parent's annotation


def test_a_nested_model_stored_under_an_old_name_is_rebuilt_from_its_fields() -> None:
    old_child = msgpack.ExtType(
        12, msgpack.packb(["old.models", "Child", {"name": "k"}])
    )
    green = msgpack.unpackb(Serializer().dumps(Color.GREEN))
    fields = {"child": old_child, "color": green}
    data = msgpack.packb(
        msgpack.ExtType(12, msgpack.packb([__name__, "Parent", fields]))
    )
    assert isinstance(Serializer().loads(data).child, Inert)
    decoded = full().loads(data)
    assert decoded == Parent(child=Child(name="k"), color=Color.GREEN)


def test_a_registered_class_that_changed_reads_inert() -> None:
    @dataclasses.dataclass
    class Changed:  # stands for Point after a release renamed a field
        x: int
        z: int

    Changed.__qualname__ = Point.__qualname__
    decoded = Serializer(register=[Changed]).loads(Serializer().dumps(Point(1, 2)))
    assert isinstance(decoded, Inert)
    assert decoded.fields == {"x": 1, "y": 2}


# -- inert values ----------------------------------------------------------------------


def test_unregistered_classes_read_as_inert_values_showing_name_and_fields() -> None:
    serde = Serializer()
    value = {"tag": Tag(label=["a", Shape.SQUARE]), "model": Loose(data={"n": 1})}
    data = serde.dumps(value)
    decoded = serde.loads(data)
    tag, model = decoded["tag"], decoded["model"]
    assert tag.type_name == f"{__name__}.Tag"
    assert tag.kind == "dataclass"
    assert tag.label == tag["label"] == tag.fields["label"]
    shape = tag.label[1]
    assert shape.type_name == f"{__name__}.Shape"
    assert (shape.name, shape.value) == ("SQUARE", (4, "corners"))
    assert model.kind == "pydantic"
    assert model.data == {"n": 1}
    assert repr(tag) == f"<inert {__name__}.Tag(label=['a', {shape!r}])>"
    assert repr(shape) == f"<inert {__name__}.Shape.SQUARE: (4, 'corners')>"
    with pytest.raises(AttributeError, match="no field 'missing'"):
        _ = tag.missing
    assert serde.dumps(decoded) == data
    assert serde.loads(data) == decoded
    assert {tag, serde.loads(data)["tag"]} == {tag}


def test_unknown_ext_codes_read_inert_and_write_back_the_same_bytes() -> None:
    assert 42 not in EXT_CODES
    data = msgpack.packb({"future": [msgpack.ExtType(42, b"\x00\x01new")]})
    serde = Serializer()
    decoded = serde.loads(data)
    value = decoded["future"][0]
    assert isinstance(value, Inert)
    assert (value.kind, value.code, value.raw, value.fields) == (
        "ext",
        42,
        b"\x00\x01new",
        None,
    )
    assert value.type_name == "ext 42"
    assert repr(value) == "<inert ext 42: 5 bytes 00016e6577>"
    assert serde.dumps(decoded) == data


def test_inert_values_copy_and_pickle() -> None:
    inert = Serializer().loads(Serializer().dumps(Tag(label="x")))
    assert copy.deepcopy(inert) == inert
    assert pickle.loads(pickle.dumps(inert)) == inert


# -- reading never executes anything ------------------------------------------------


def _crafted(code: int, module: str, qualname: str, *rest: Any) -> bytes:
    payload = msgpack.packb([module, qualname, *rest])
    return msgpack.packb(msgpack.ExtType(code, payload))


def test_payloads_naming_dangerous_callables_decode_inert_and_run_nothing(
    tmp_path: Path,
) -> None:
    target = tmp_path / "pwned"
    command = f"touch {target}"
    payloads = [
        _crafted(11, "os", "system", {"command": command}),
        _crafted(12, "subprocess", "call", {"args": ["touch", str(target)]}),
        _crafted(10, "builtins", "eval", "x", f"__import__('os').system('{command}')"),
        _crafted(11, "builtins", "exec", {"source": f"open('{target}', 'w')"}),
    ]
    for data in payloads:
        decoded = full().loads(data)
        assert isinstance(decoded, Inert)
        assert full().dumps(decoded) == data
    assert decoded.type_name == "builtins.exec"
    assert not target.exists()


def test_a_module_named_in_the_data_is_never_imported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    marker = tmp_path / "imported"
    (tmp_path / "timeloom_trap.py").write_text(
        f"open({str(marker)!r}, 'w').close()\n"
        "class Gadget:\n    def __init__(self, **kw):\n        pass\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    for code in (10, 11, 12):
        rest: list[Any] = ["A", 1] if code == 10 else [{"a": 1}]
        decoded = full().loads(_crafted(code, "timeloom_trap", "Gadget", *rest))
        assert isinstance(decoded, Inert)
    assert "timeloom_trap" not in sys.modules
    assert not marker.exists()


def test_the_codec_does_not_import_pydantic() -> None:
    script = (
        "import sys, dataclasses\n"
        "from timeloom.backends.serde import Serializer\n"
        "@dataclasses.dataclass\n"
        "class P:\n    x: int\n"
        "s = Serializer(register=[P])\n"
        "data = s.dumps({'p': P(1), 't': (1, 2)})\n"
        "assert s.loads(data) == {'p': P(1), 't': (1, 2)}\n"
        "print('pydantic' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"


# -- errors ------------------------------------------------------------------------------


def test_an_unsupported_value_is_named_by_its_path_and_type() -> None:
    with socket.socket() as sock:
        state = {"messages": [Message("user", "hi")] * 3 + [Message("tool", sock)]}
        with pytest.raises(SerializationError) as caught:
            Serializer().dumps(state, root="values")
    message = str(caught.value)
    assert message.startswith(
        "cannot store values[\"messages\"][3].payload: object of type 'socket' "
        "is not supported (supported: None, bool, int, float, str"
    )
    assert "pydantic models)" in message
    assert caught.value.title == "Cannot serialize value"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (
            {"n": [1, 2**64]},
            'cannot store value["n"][1]: int 18446744073709551616 does not fit in 64 bits',
        ),
        ({"s": "\ud800"}, 'cannot store value["s"]: the string is not valid UTF-8'),
        ({1: {object(): 1}}, "cannot store value[1] (the key <object object at"),
        (
            {"t": (1, {2, print})},
            "cannot store value[\"t\"][1]{...}: object of type 'builtin_function_or_method'",
        ),
        (
            Note(title="x", body=[Ellipsis]),
            "cannot store value.body[0]: object of type 'ellipsis'",
        ),
        (Shape.CIRCLE, None),
    ],
)
def test_error_paths_through_every_container(value: Any, expected: str | None) -> None:
    serde = Serializer()
    if expected is None:
        assert isinstance(serde.loads(serde.dumps(value)), Inert)
        return
    with pytest.raises(SerializationError) as caught:
        serde.dumps(value)
    assert str(caught.value).startswith(expected), str(caught.value)


def test_a_reference_cycle_is_reported_not_looped_on() -> None:
    loop: list[Any] = [1]
    loop.append({"again": loop})
    with pytest.raises(
        SerializationError, match=r'value\[1\]\["again"\]: the list contains itself'
    ):
        Serializer().dumps(loop)


def _nested_tuples(levels: int) -> Any:
    value: Any = "core"
    for _ in range(levels):
        value = (value,)
    return value


def test_nesting_is_capped_the_same_for_writing_and_reading() -> None:
    serde = Serializer()
    deepest = {"v": [_nested_tuples(MAX_NESTING)]}
    assert serde.loads(serde.dumps(deepest)) == deepest
    with pytest.raises(SerializationError) as caught:
        serde.dumps({"v": [_nested_tuples(MAX_NESTING + 1)]}, root="values")
    path = 'values["v"][0]' + "[0]" * MAX_NESTING
    assert str(caught.value) == (
        f"cannot store {path}: tuples, sets, dates and classes nest more than "
        f"{MAX_NESTING} deep"
    )


def test_deeply_nested_crafted_bytes_raise_instead_of_crashing() -> None:
    # Each ext level costs the C decoder tens of KiB of stack: without the cap,
    # a few hundred levels crash the interpreter. A subprocess keeps a crash
    # from taking the test run with it.
    script = (
        "import msgpack\n"
        "from timeloom.backends.serde import Serializer\n"
        "from timeloom.core.errors import SerializationError\n"
        "data = msgpack.packb(1)\n"
        "for _ in range(5000):\n"
        "    data = msgpack.packb(msgpack.ExtType(1, b'\\x91' + data))\n"
        "try:\n"
        "    Serializer().loads(data)\n"
        "except SerializationError as exc:\n"
        "    print(exc)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert f"nest more than {MAX_NESTING} deep" in result.stdout


def test_truncated_and_corrupt_bytes_raise_serialization_error() -> None:
    serde = full()
    data = serde.dumps(
        {"when": dt.datetime(2024, 1, 1), "p": Point(1, (2,)), "s": {1, 2}}
    )
    for end in range(len(data)):
        with pytest.raises(SerializationError, match="truncated or corrupt"):
            serde.loads(data[:end])
    corrupt = [
        msgpack.packb(msgpack.ExtType(4, b"\x93\x01\x02")),  # datetime missing fields
        msgpack.packb(msgpack.ExtType(8, b"short")),  # a UUID is 16 bytes
        msgpack.packb(msgpack.ExtType(9, b"not a number")),
        msgpack.packb(msgpack.ExtType(11, msgpack.packb(["m", "Q", "not fields"]))),
        msgpack.packb(msgpack.ExtType(2, msgpack.packb([[1], [2]]))),  # unhashable
        b"\xc1",  # a byte msgpack never uses
    ]
    for bad in corrupt:
        with pytest.raises(SerializationError) as caught:
            serde.loads(bad)
        assert caught.value.title == "Corrupt stored value"
    assert math.isnan(serde.loads(serde.dumps(float("nan"))))


def test_langchain_messages_revive_when_the_state_schema_is_registered() -> None:
    # Imported here: only this test pays for langchain (a dev dependency via
    # langgraph).
    from langchain_core.messages import AIMessage, AnyMessage, HumanMessage
    from langgraph.graph.message import add_messages

    messages = [
        HumanMessage("refund order 7", id="1"),
        AIMessage(
            "",
            id="2",
            tool_calls=[{"name": "refund", "args": {"order": 7}, "id": "c1"}],
        ),
    ]
    data = Serializer().dumps({"messages": messages})
    unknown = Serializer().loads(data)["messages"][1]
    assert unknown.type_name == "langchain_core.messages.ai.AIMessage"
    assert unknown.tool_calls[0]["args"] == {"order": 7}
    serde = Serializer()
    serde.register(Annotated[list[AnyMessage], add_messages])
    assert serde.loads(data) == {"messages": messages}


def test_one_serializer_serves_many_threads() -> None:
    serde = full()
    values = [
        {"n": i, "t": (i, str(i)), "p": Point(i, {i}), "c": Color.RED, "x": Tag(i)}
        for i in range(64)
    ]
    expected = [Serializer().dumps(value) for value in values]

    def work(_: int) -> bool:
        return all(
            serde.dumps(serde.loads(serde.dumps(value))) == data
            for value, data in zip(values, expected, strict=True)
        )

    with ThreadPoolExecutor(max_workers=4) as pool:
        assert all(pool.map(work, range(16)))
