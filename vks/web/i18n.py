"""Languages of the pages: gettext catalogues (`locale/<lang>/LC_MESSAGES/messages.po`),
compiled in memory with Babel when the process starts — a clean clone needs no build
step and no compiled file is committed. Russian is the default; English is the second
language (the message ids are English, so its catalogue is the ids themselves)."""

from __future__ import annotations

import gettext
import io
from datetime import date, datetime
from functools import cache, partial
from pathlib import Path
from zoneinfo import ZoneInfo

from babel.dates import format_date
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from booking import reason_words
from booking.words import Words
from vks.web.formats import zone_named

LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "messages"
LANGUAGES: dict[str, str] = {"ru": "Русский", "en": "English"}
DEFAULT = "ru"
BABEL_LOCALES: dict[str, str] = {"ru": "ru_RU", "en": "en_GB"}
"""Babel's locale for dates, times and numbers in each language (24-hour clocks both)."""


def chosen(value: str | None) -> str:
    """The language of a request: the cookie's if we have it, else Russian."""
    return value if value in LANGUAGES else DEFAULT


@cache
def translations(language: str) -> gettext.NullTranslations:
    """The compiled catalogue of `language` (English: the message ids themselves)."""
    path = LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"
    if not path.exists():
        return gettext.NullTranslations()
    with path.open("rb") as source:
        catalogue = read_po(source, locale=language)
    compiled = io.BytesIO()
    write_mo(compiled, catalogue)
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)


def said(thing: object, language: str) -> str:
    """What the domain said — `Words`, or an error or a conflict carrying them as `words` —
    in `language`; a plain message (no words kept) as it is."""
    words = thing if isinstance(thing, Words) else getattr(thing, "words", None)
    if isinstance(words, Words):
        return words.said(translations(language).gettext, partial(_shown, language))
    return str(getattr(thing, "message", thing))


def _shown(language: str, value: object) -> object:
    """A parameter of words as the page writes it: a time zone as people name it, a date
    as the language writes one («19.01.2027»; the API's English says 2027-01-19)."""
    if isinstance(value, ZoneInfo):
        return zone_named(value, BABEL_LOCALES[language])
    if isinstance(value, date) and not isinstance(value, datetime):
        return format_date(value, "short", locale=BABEL_LOCALES[language])
    return value


def cause(code: str, language: str) -> str:
    """What moved a lesson to a state (its history's `cause`) in `language`."""
    return said(reason_words.cause(code), language)


def reason(text: str, language: str) -> str:
    """A reason the monitor or the automation stored (in English) in `language`."""
    return said(reason_words.read(text), language) if text else ""
