from __future__ import annotations

import msgspec
import pytest

from services.contracts import directory as c
from services.runtime.validation import field_errors


def errors_for(payload: bytes) -> list[tuple[str, str]]:
    with pytest.raises(msgspec.ValidationError) as info:
        msgspec.json.decode(payload, type=c.CreateInvitation)
    return [(e.field, e.message) for e in field_errors(info.value)]


class TestFieldErrors:
    def test_wrong_type_names_field_and_expected_type(self) -> None:
        assert errors_for(b'{"email": 1, "name": "n", "organisation_id": "1", "roles": ["member"]}') == [
            ("email", "Erwartet wird Text.")
        ]

    def test_missing_field(self) -> None:
        assert errors_for(b'{"name": "n", "organisation_id": "1", "roles": ["member"]}') == [
            ("email", "Pflichtfeld fehlt.")
        ]

    def test_bad_email_pattern(self) -> None:
        assert errors_for(b'{"email": "nope", "name": "n", "organisation_id": "1", "roles": ["member"]}') == [
            ("email", "Keine gültige E-Mail-Adresse.")
        ]

    def test_too_long(self) -> None:
        body = (
            b'{"email": "a@b.de", "name": "' + b"x" * 300 + b'", "organisation_id": "1", "roles": ["member"]}'
        )
        assert errors_for(body) == [("name", "Höchstens 200 Zeichen erlaubt.")]

    def test_nested_path_and_enum(self) -> None:
        assert errors_for(
            b'{"email": "a@b.de", "name": "n", "organisation_id": "1", "roles": ["kaiser"]}'
        ) == [("roles[0]", "Unzulässiger Wert 'kaiser'.")]

    def test_unknown_field(self) -> None:
        body = b'{"email": "a@b.de", "name": "n", "organisation_id": "1", "roles": ["member"], "x": 1}'
        assert errors_for(body) == [("x", "Unbekanntes Feld.")]

    def test_empty_text_and_short_lists(self) -> None:
        assert errors_for(
            b'{"email": "a@b.de", "name": "", "organisation_id": "1", "roles": ["member"]}'
        ) == [("name", "Darf nicht leer sein.")]
        assert errors_for(b'{"email": "a@b.de", "name": "n", "organisation_id": "1", "roles": []}') == [
            ("roles", "Darf nicht leer sein.")
        ]
