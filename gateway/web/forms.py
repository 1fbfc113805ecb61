"""Form handling shared by pages: field errors and the error summary."""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Any, TypeVar

import msgspec

from gateway.i18n import gettext as _
from services.contracts.envelope import FieldError
from services.runtime.errors import DomainError
from services.runtime.validation import field_errors

T = TypeVar("T", bound=msgspec.Struct)


@dataclass
class FormErrors:
    """Errors keyed by field id; the summary links to each field (WCAG 3.3.1)."""

    fields: dict[str, str] = field(default_factory=dict)
    general: list[str] = field(default_factory=list)

    def add(self, name: str, message: str) -> None:
        self.fields.setdefault(name, message)

    def add_all(self, errors: list[FieldError], known: set[str]) -> None:
        for err in errors:
            if err.field in known:
                self.add(err.field, err.message)
            else:
                self.general.append(err.message)

    def add_refusal(
        self, exc: DomainError, known: Collection[str], rename: Callable[[str], str] = lambda f: f
    ) -> None:
        """A service's refusal on the form: each field error on its field (the service's field
        name passed through `rename`) when the form has it, in the summary otherwise; a refusal
        without field errors in the summary by its detail."""
        for err in exc.errors:
            name = rename(err.field)
            if name in known:
                self.add(name, _(err.message))
            else:
                self.general.append(_(err.message))
        if not exc.errors:
            self.general.append(_(exc.detail or exc.title))

    def __bool__(self) -> bool:
        return bool(self.fields or self.general)


def convert_all(type_: type[T], data: dict[str, Any]) -> tuple[T | None, list[FieldError]]:
    """Convert form data into a request Struct, reporting every invalid field, not only the first.

    msgspec stops at the first error; a form should name all of them at once (WCAG 3.3.1), so
    each field is checked against its own annotated type before the whole is converted.
    """
    errors: list[FieldError] = []
    for info in msgspec.structs.fields(type_):
        if info.encode_name not in data:
            if info.required:
                errors.append(FieldError(info.encode_name, "Pflichtfeld fehlt."))
            continue
        try:
            msgspec.convert(data[info.encode_name], info.type)
        except msgspec.ValidationError as exc:
            errors.extend(field_errors(exc, prefix=info.encode_name))
    if errors:
        return None, errors
    try:
        return msgspec.convert(data, type_), []
    except msgspec.ValidationError as exc:
        return None, field_errors(exc)
