"""Turn msgspec validation messages into field-level German messages."""

from __future__ import annotations

import re

import msgspec

from services.contracts.envelope import FieldError

_AT = re.compile(r" - at `\$(?P<path>[^`]*)`$")
_TYPE = re.compile(r"^Expected `(?P<expected>[^`]+)`, got `(?P<got>[^`]+)`")
_MISSING = re.compile(r"^Object missing required field `(?P<name>[^`]+)`")
_UNKNOWN = re.compile(r"^Object contains unknown field `(?P<name>[^`]+)`")
_LEN_MAX = re.compile(r"^Expected `(?P<kind>str|array|object)` of length <= (?P<n>\d+)")
_LEN_MIN = re.compile(r"^Expected `(?P<kind>str|array|object)` of length >= (?P<n>\d+)")
_REGEX = re.compile(r"^Expected `str` matching regex")
_GE = re.compile(r"^Expected `(?:int|float)` >= (?P<n>[-\d.]+)")
_LE = re.compile(r"^Expected `(?:int|float)` <= (?P<n>[-\d.]+)")
_ENUM = re.compile(r"^Invalid enum value (?P<v>.+)$")

_TYPE_NAMES = {
    "str": "Text",
    "int": "eine ganze Zahl",
    "float": "eine Zahl",
    "bool": "wahr oder falsch",
    "array": "eine Liste",
    "object": "ein Objekt",
    "null": "leer",
}


def _path_to_field(path: str) -> str:
    # "$.answers[2].label" -> "answers[2].label"; "$" alone means the whole body
    return path.lstrip(".") or "body"


def field_errors(exc: msgspec.ValidationError | msgspec.DecodeError, prefix: str = "") -> list[FieldError]:
    """`prefix` names the field when a single value was checked on its own."""
    message = str(exc)
    path = ""
    at = _AT.search(message)
    if at:
        path = at.group("path")
        message = message[: at.start()]
    if prefix:
        path = f".{prefix}{path}"
    m = _MISSING.match(message)
    if m:
        name = f"{path}.{m.group('name')}" if path else m.group("name")
        return [FieldError(_path_to_field(name), "Pflichtfeld fehlt.")]
    m = _UNKNOWN.match(message)
    if m:
        name = f"{path}.{m.group('name')}" if path else m.group("name")
        return [FieldError(_path_to_field(name), "Unbekanntes Feld.")]
    name = _path_to_field(path)
    if m := _LEN_MAX.match(message):
        unit = "Zeichen" if m.group("kind") == "str" else "Einträge"
        return [FieldError(name, f"Höchstens {m.group('n')} {unit} erlaubt.")]
    if m := _LEN_MIN.match(message):
        if m.group("n") == "1":
            return [FieldError(name, "Darf nicht leer sein.")]
        unit = "Zeichen" if m.group("kind") == "str" else "Einträge"
        return [FieldError(name, f"Mindestens {m.group('n')} {unit} nötig.")]
    if _REGEX.match(message):
        if name.endswith("email"):
            return [FieldError(name, "Keine gültige E-Mail-Adresse.")]
        return [FieldError(name, "Ungültiges Format.")]
    if m := _GE.match(message):
        return [FieldError(name, f"Muss mindestens {m.group('n')} sein.")]
    if m := _LE.match(message):
        return [FieldError(name, f"Darf höchstens {m.group('n')} sein.")]
    if m := _ENUM.match(message):
        return [FieldError(name, f"Unzulässiger Wert {m.group('v')}.")]
    if m := _TYPE.match(message):
        expected = " oder ".join(
            _TYPE_NAMES.get(part.strip(), part.strip()) for part in m.group("expected").split("|")
        )
        return [FieldError(name, f"Erwartet wird {expected}.")]
    return [FieldError(name, message)]
