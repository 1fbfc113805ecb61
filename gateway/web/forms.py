"""Form handling shared by pages: field errors and the error summary."""

from __future__ import annotations

from dataclasses import dataclass, field

from services.contracts.envelope import FieldError


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

    def __bool__(self) -> bool:
        return bool(self.fields or self.general)
