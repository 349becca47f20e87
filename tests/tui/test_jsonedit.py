"""Type-aware JSON for the editor (exact round trips) and the checks of an edit
(specific errors)."""

from __future__ import annotations

import dataclasses
import enum
import json
import math
import operator
import uuid
from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import Decimal
from typing import Annotated, Any, Literal, TypedDict
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from timeloom.backends.inert import Inert
from timeloom.backends.serde import Serializer
from timeloom.core.state import StateSchema
from timeloom.tui.ops.editcheck import parse_edit
from timeloom.tui.ops.jsondecode import decode, loads
from timeloom.tui.ops.jsonedit import JsonEditError, dumps, encode


class Color(enum.Enum):
    RED = 1
    BLUE = "blue"


@dataclasses.dataclass(frozen=True)
class Point:
    x: int
    y: int


class Refund(TypedDict):
    amount: Decimal
    currency: str


class State(TypedDict, total=False):
    messages: Annotated[list[dict[str, Any]], operator.add]
    amount: Decimal
    when: datetime
    count: int
    ratio: float
    name: str
    ok: bool
    maybe: int | None
    mode: Literal["a", "b"]
    refund: Refund
    color: Color
    tags: set[str]
    request: uuid.UUID


SCHEMA = StateSchema.from_type(State)


def same(a: Any, b: Any) -> bool:
    """Equal and of the same type, all the way down (NaN equals NaN)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return (math.isnan(a) and math.isnan(b)) or a == b
    if isinstance(a, Decimal):
        return str(a) == str(b)
    if isinstance(a, datetime | time):
        return a == b and a.tzinfo == b.tzinfo and a.fold == b.fold and str(a) == str(b)
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


zones = st.sampled_from(
    [None, UTC, timezone(timedelta(hours=-5, minutes=-30)), ZoneInfo("Europe/Paris")]
)
leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(),
    st.binary(),
    st.decimals(allow_nan=False) | st.sampled_from([Decimal("NaN"), Decimal("-0")]),
    st.uuids(),
    st.datetimes(timezones=zones),
    st.dates(),
    st.times(timezones=zones),
    st.timedeltas(),
    st.frozensets(st.integers() | st.text(), max_size=4),
)
values = st.recursive(
    leaves,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.lists(inner, max_size=4).map(tuple),
        st.dictionaries(st.text(), inner, max_size=4),
        st.dictionaries(st.integers(), inner, max_size=3),
        st.sets(st.integers() | st.text(), max_size=4),
    ),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.text(), values, max_size=5))
def test_round_trip_is_exact(state: dict[str, Any]) -> None:
    text = dumps(state)
    json.loads(text)  # plain, standard JSON: no NaN, no Infinity
    back = loads(text)
    assert same(back, state)


def test_decimal_nan_round_trips_as_text() -> None:
    back = loads(dumps({"x": Decimal("NaN"), "y": Decimal("-0")}))
    assert str(back["x"]) == "NaN"
    assert str(back["y"]) == "-0"


def test_tagged_values_read_as_documented() -> None:
    data = encode(
        {
            "at": datetime(2026, 11, 2, 9, 30, tzinfo=UTC),
            "amount": Decimal("749.00"),
            "pair": (1, 2),
            "raw": b"\x00\xff",
            "keys": {1: "one"},
            "dollar": {"$ref": "x"},
        }
    )
    assert data == {
        "at": {"$datetime": "2026-11-02T09:30:00+00:00"},
        "amount": {"$decimal": "749.00"},
        "pair": {"$tuple": [1, 2]},
        "raw": {"$bytes": "AP8="},
        "keys": {"$dict": [[1, "one"]]},
        "dollar": {"$dict": [["$ref", "x"]]},
    }
    assert '"amount": {"$decimal": "749.00"}' in dumps({"amount": Decimal("749.00")})


def test_classes_revive_only_when_allowed() -> None:
    text = dumps({"c": Color.BLUE, "p": Point(1, 2)})
    assert loads(text, [Color, Point]) == {"c": Color.BLUE, "p": Point(1, 2)}
    with pytest.raises(JsonEditError, match="not in the graph's state schema"):
        loads(text)


def test_inert_value_round_trips_and_cannot_be_edited() -> None:
    serde = Serializer()
    stored = Serializer([Point]).dumps({"p": Point(1, 2)})
    original = serde.loads(stored)
    assert isinstance(original["p"], Inert)
    text = dumps(original)
    back = loads(text)
    assert back == original
    assert serde.dumps(back) == stored  # the very same bytes are written back
    edited = text.replace('"x": 1', '"x": 5')
    with pytest.raises(JsonEditError, match="fields cannot be edited"):
        parse_edit(edited, original)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"count": 1,}', "line 1, column 13: Expecting property name"),
        ('{\n  "count": NaN\n}', 'NaN is not JSON; write {"$float": "nan"}'),
        ('{"amount": {"$decimal": "abc"}}', "amount: invalid $decimal value 'abc'"),
        ('{"when": {"$datetim": "x"}}', "when: unknown tag '$datetim'"),
        (
            '{"when": {"$datetime": "2026-01-01", "tz": 1}}',
            "when: $datetime does not take tz",
        ),
        ("[1, 2]", "the state must be a JSON object"),
    ],
)
def test_specific_errors(text: str, message: str) -> None:
    with pytest.raises(JsonEditError) as caught:
        parse_edit(text, {}, SCHEMA)
    assert any(message in problem for problem in caught.value.problems), caught.value


def test_unknown_keys_against_schema_and_without_it() -> None:
    with pytest.raises(JsonEditError, match="bogus: unknown key; State has messages"):
        parse_edit('{"bogus": 1}', {}, SCHEMA)
    with pytest.raises(JsonEditError, match="bogus: unknown key; the checkpoint has a"):
        parse_edit('{"a": 1, "bogus": 1}', {"a": 1}, None)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"count": "3"}, "count: expected int, got str '3'"),
        ({"count": True}, "count: expected int, got bool True"),
        ({"ratio": "x"}, "ratio: expected float"),
        ({"amount": "500.00"}, 'write it as {"$decimal": "12.50"}'),
        ({"when": "2026-01-01"}, "when: expected datetime"),
        ({"maybe": "x"}, "maybe: expected int | None"),
        ({"mode": "c"}, "mode: expected one of 'a', 'b', got 'c'"),
        ({"messages": [1]}, "messages[0]: expected dict"),
        (
            {"refund": {"amount": 5, "currency": "EUR"}},
            "refund.amount: expected Decimal",
        ),
        ({"refund": {"amount": Decimal(5), "cur": "EUR"}}, "refund.cur: unknown key"),
        ({"tags": ["a"]}, "tags: expected set"),
        ({"request": "abc"}, "request: expected UUID"),
    ],
)
def test_wrong_types_are_named(values: dict[str, Any], message: str) -> None:
    with pytest.raises(JsonEditError) as caught:
        parse_edit(dumps(values), {}, SCHEMA)
    assert any(message in p for p in caught.value.problems), caught.value.problems


def test_right_types_pass_and_changes_are_listed() -> None:
    original = {"count": 1, "ratio": 0.5, "maybe": None, "name": "x", "ok": True}
    edited = {
        "count": 2,
        "ratio": 1,  # an int is a fine float
        "maybe": 3,
        "name": "x",
        "ok": True,
        "amount": Decimal("1.50"),
        "color": Color.RED,
        "tags": {"a"},
    }
    parsed = parse_edit(dumps(edited), original, SCHEMA)
    assert parsed.values == edited
    assert parsed.changed == ("count", "ratio", "maybe", "amount", "color", "tags")
    assert parsed.removed == ()
    parsed = parse_edit(dumps({"count": 1}), original, None)
    assert parsed.changed == ()
    assert parsed.removed == ("ratio", "maybe", "name", "ok")


def test_decode_checks_tag_contents() -> None:
    with pytest.raises(JsonEditError, match=r"x\[0\]: invalid \$bytes"):
        decode({"x": [{"$bytes": "not base64!"}]})
    with pytest.raises(JsonEditError, match="more precise than a microsecond"):
        decode({"$timedelta": "0.0000001"})
    assert decode({"$date": "2026-11-02"}) == date(2026, 11, 2)


def test_editing_some_keys_keeps_the_others() -> None:
    original = {"a": 1, "big": [1, 2, 3], "c": "x"}
    parsed = parse_edit(dumps({"a": 2}), original, None, keys=["a"])
    assert parsed.values == {"a": 2, "big": [1, 2, 3], "c": "x"}
    assert (parsed.changed, parsed.removed) == (("a",), ())
    parsed = parse_edit("{}", original, None, keys=["a", "c"])
    assert parsed.values == {"big": [1, 2, 3]}
    assert parsed.removed == ("a", "c")
    parsed = parse_edit(
        dumps({"a": 1, "count": 3}), original, SCHEMA_WITH_A, keys=["a"]
    )
    assert parsed.values == {"a": 1, "big": [1, 2, 3], "c": "x", "count": 3}
    assert parsed.changed == ("count",)


class WithA(TypedDict, total=False):
    a: int
    big: list[int]
    c: str
    count: int


SCHEMA_WITH_A = StateSchema.from_type(WithA)
