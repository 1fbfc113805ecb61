"""Translations: German is the source language; other languages come from gettext catalogs.

Catalogs are compiled from their .po files in memory at start-up, so no build step is needed.
"""

from __future__ import annotations

import io
from contextvars import ContextVar
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

DEFAULT = "de"
LANGUAGES = {"de": "Deutsch", "en": "English"}
COOKIE = "gdst_lang"

current: ContextVar[str] = ContextVar("gdst_language", default=DEFAULT)
_catalogs: dict[str, Translations] = {}


def load(folder: Path | None = None) -> None:
    folder = folder or Path(__file__).parent
    for lang in LANGUAGES:
        po = folder / lang / "LC_MESSAGES" / "messages.po"
        if lang == DEFAULT or not po.exists():
            continue
        with po.open("rb") as handle:
            catalog = read_po(handle, locale=lang)
        buffer = io.BytesIO()
        write_mo(buffer, catalog)
        buffer.seek(0)
        _catalogs[lang] = Translations(buffer)


def gettext(message: str) -> str:
    catalog = _catalogs.get(current.get())
    return catalog.gettext(message) if catalog else message


def ngettext(singular: str, plural: str, n: int) -> str:
    catalog = _catalogs.get(current.get())
    if catalog:
        return catalog.ngettext(singular, plural, n)
    return singular if n == 1 else plural


def choose(cookie: str | None, accept_language: str | None) -> str:
    if cookie in LANGUAGES:
        return str(cookie)
    for part in (accept_language or "").split(","):
        tag = part.split(";")[0].strip().lower()[:2]
        if tag in LANGUAGES:
            return tag
    return DEFAULT
