"""Hypothesis strategies for what travels on the wire: values of any msgspec type (built from
`msgspec.inspect`, so every request Struct is covered without a hand-written strategy) and
hostile variants of them (random bytes, truncated or mutated JSON, wrong types, unknown keys)."""

from __future__ import annotations

import base64
import datetime as dt
import re
from typing import Any

import msgspec
import msgspec.inspect as mi
from hypothesis import strategies as st

_TEXT = st.text(max_size=40)
_encoder = msgspec.json.Encoder()


def _text(t: mi.StrType) -> st.SearchStrategy[str]:
    low = t.min_length or 0
    high = t.max_length if t.max_length is not None else max(low, 60)
    high = min(high, max(low, 200))
    if t.pattern:
        try:
            re.compile(t.pattern)
        except re.error:
            return st.just("x" * low)
        return st.from_regex(t.pattern, fullmatch=True).filter(lambda s: low <= len(s) <= high)
    return st.text(min_size=low, max_size=high)


def _number(t: mi.IntType | mi.FloatType) -> st.SearchStrategy[Any]:
    low = t.ge if t.ge is not None else (t.gt + 1 if t.gt is not None else -(10**6))
    high = t.le if t.le is not None else (t.lt - 1 if t.lt is not None else 10**6)
    if isinstance(t, mi.IntType):
        return st.integers(int(low), int(high))
    return st.floats(float(low), float(high), allow_nan=False, allow_infinity=False)


def valid(t: mi.Type, depth: int = 0) -> st.SearchStrategy[Any]:
    """Values msgspec would decode into `t` (as plain JSON-able Python values)."""
    if depth > 6:
        return st.nothing()
    d = depth + 1
    if isinstance(t, mi.StructType):
        required = {f.encode_name: valid(f.type, d) for f in t.fields if f.required}
        optional = {f.encode_name: valid(f.type, d) for f in t.fields if not f.required}
        return st.fixed_dictionaries(required, optional=optional)
    if isinstance(t, mi.StrType):
        return _text(t)
    if isinstance(t, mi.IntType | mi.FloatType):
        return _number(t)
    if isinstance(t, mi.BoolType):
        return st.booleans()
    if isinstance(t, mi.NoneType):
        return st.none()
    if isinstance(t, mi.LiteralType):
        return st.sampled_from(list(t.values))
    if isinstance(t, mi.EnumType):
        return st.sampled_from([m.value for m in t.cls])
    if isinstance(t, mi.UnionType):
        return st.one_of(*[valid(x, d) for x in t.types])
    if isinstance(t, mi.ListType | mi.SetType | mi.FrozenSetType | mi.VarTupleType):
        low = t.min_length or 0
        high = min(t.max_length if t.max_length is not None else 5, low + 5)
        return st.lists(valid(t.item_type, d), min_size=low, max_size=high)
    if isinstance(t, mi.TupleType):
        return st.tuples(*[valid(x, d) for x in t.item_types]).map(list)
    if isinstance(t, mi.DictType):
        low = t.min_length or 0
        high = min(t.max_length if t.max_length is not None else 4, low + 4)
        return st.dictionaries(valid(t.key_type, d), valid(t.value_type, d), min_size=low, max_size=high)
    if isinstance(t, mi.DateTimeType):
        return st.datetimes(timezones=st.just(dt.UTC)).map(lambda x: x.isoformat())
    if isinstance(t, mi.DateType):
        return st.dates().map(lambda x: x.isoformat())
    if isinstance(t, mi.BytesType):
        return st.binary(max_size=40).map(lambda b: base64.b64encode(b).decode())
    if isinstance(t, mi.TimeType):
        return st.times().map(lambda x: x.isoformat())
    return json_values()


def json_values() -> st.SearchStrategy[Any]:
    scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | _TEXT
    return st.recursive(
        scalars,
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_TEXT, inner, max_size=4),
        max_leaves=12,
    )


@st.composite
def mutated(draw: st.DrawFn, value: Any) -> bytes:
    """A valid value spoilt in one way a broken or hostile client would."""
    how = draw(st.sampled_from(["drop", "retype", "extra", "truncate", "flip", "wrap", "huge"]))
    if isinstance(value, dict) and value and how in ("drop", "retype"):
        key = draw(st.sampled_from(sorted(value)))
        spoilt = dict(value)
        if how == "drop":
            del spoilt[key]
        else:
            spoilt[key] = draw(json_values().filter(lambda v: type(v) is not type(value[key])))
        return _encoder.encode(spoilt)
    if how == "extra" and isinstance(value, dict):
        return _encoder.encode({**value, draw(_TEXT): draw(json_values())})
    raw = _encoder.encode(value)
    if how == "truncate" and len(raw) > 1:
        return raw[: draw(st.integers(1, len(raw) - 1))]
    if how == "flip":
        i = draw(st.integers(0, len(raw) - 1))
        return raw[:i] + bytes([draw(st.integers(0, 255))]) + raw[i + 1 :]
    if how == "huge":
        return _encoder.encode({"x": "ü" * 20000, "value": value})
    return _encoder.encode([value])


# nesting deeper than msgspec recurses (it raises RecursionError, not DecodeError)
DEEP = b'{"a":' * 5000 + b"1" + b"}" * 5000


def hostile(t: type[Any]) -> st.SearchStrategy[bytes]:
    """Bytes for a field of type `t`: random bytes, random JSON, valid and mutated values."""
    good = valid(mi.type_info(t))
    return st.one_of(
        st.just(DEEP),
        st.binary(max_size=200),
        json_values().map(_encoder.encode),
        good.map(_encoder.encode),
        good.flatmap(mutated),
    )
