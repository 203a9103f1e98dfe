"""The Russian catalogue covers every text of the pages: each message of the templates
and of vks/web's Python (as Babel extracts them), and the words shown from the domain's
enumerations (roles, lesson states, booking statuses, device kinds and health states,
the navigation) — so a page never shows English to a Russian user by omission."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from booking.access import Role
from booking.bookings import BookingStatus, OccurrenceState
from booking.health import DeviceKind, HealthState
from booking.workflow.requests import RequestAction, RequestState
from vks.importing.report import COUNTED, OUTCOMES
from vks.web import i18n
from vks.web.navigation import ENTRIES

WEB = Path(i18n.__file__).parent
METHODS = [("**/templates/**.html", "jinja2"), ("**.py", "python")]
OPTIONS = {"**/templates/**.html": {"extensions": "jinja2.ext.i18n"}}


def russian() -> dict[str, str]:
    with (i18n.LOCALE_DIR / "ru" / "LC_MESSAGES" / "messages.po").open("rb") as source:
        catalogue = read_po(source, locale="ru")
    return {str(m.id): str(m.string) for m in catalogue if m.id}


def extracted() -> set[str]:
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(WEB), METHODS, options_map=OPTIONS
    ):
        found.add(message if isinstance(message, str) else message[0])
    return found


def test_every_extracted_message_has_a_russian_translation() -> None:
    ru = russian()

    missing = sorted(m for m in extracted() if not ru.get(m))

    assert missing == []
    assert len(extracted()) > 100


@pytest.mark.parametrize(
    "words",
    [
        [r.value for r in Role],
        [s.value for s in OccurrenceState],
        [s.value for s in BookingStatus],
        [k.value for k in DeviceKind],
        [s.value for s in HealthState],
        [e.label for e in ENTRIES],
        [f"{kind} {outcome}" for kind in COUNTED for outcome in OUTCOMES],
    ],
    ids=[
        "roles",
        "lesson states",
        "booking statuses",
        "device kinds",
        "health",
        "navigation",
        "import counts",
    ],
)
def test_words_shown_from_the_domain_are_translated(words: list[str]) -> None:
    ru = russian()

    assert [w for w in words if not ru.get(w)] == []


def test_the_catalogue_compiles_at_start_up_and_english_is_the_message_ids() -> None:
    assert i18n.translations("ru").gettext("Today") == "Сегодня"
    assert i18n.translations("en").gettext("Today") == "Today"
    assert i18n.chosen("de") == "ru"  # an unknown language falls back to Russian


def said_by_the_domain() -> set[str]:
    """The templates of `Words(...)` in the domain and the pages (message ids, like `_()`)."""
    root = WEB.parents[1]
    found = set()
    for folder in (root / "booking", WEB, root / "vks" / "importing", root / "vks" / "automation"):
        for _file, _line, message, _comments, _context in extract_from_dir(
            str(folder), [("**.py", "python")], keywords={"Words": None}
        ):
            found.add(message if isinstance(message, str) else message[0])
    return found


def test_the_domains_words_shown_on_pages_are_translated() -> None:
    """Conflicts, the cross-check and the request workflow's refusals read in Russian on a
    page (the API keeps the English template filled in); the words put into them too."""
    ru = russian()
    inserted = [a.value for a in RequestAction] + [s.value for s in RequestState] + ["none"]

    missing = sorted(m for m in said_by_the_domain() | set(inserted) if not ru.get(m))

    assert missing == []
    assert len(said_by_the_domain()) >= 10
