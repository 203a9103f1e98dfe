"""The booking form of the timetable grid: what a click on a free cell prefills, what the
browser sends back, the `BookingRequest` it stands for, and taking one of the alternatives
a dry run proposed (another terminal, another lesson) into the form.

No rule is decided here: the booking service checks the request (dry run) and books it."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date

from booking.bookings import Participant, Recurrence, SessionKind
from booking.conflicts import Alternative, AlternativeKind
from booking.errors import InvalidInput
from booking.resources import PlatformKind
from booking.services.plans import BookingRequest
from booking.words import Words
from vks.web.dates import day_of

PARTICIPANT_ROWS = 4  # the host's row and up to three partners
SEPARATOR = " · "  # a school or terminal field reads «name · id»: people read the name
CAMERA_PRESETS = ("", "teacher", "board", "class")
REPEATS = ("once", "quarter", "year")


@dataclass(frozen=True)
class ParticipantRow:
    school_id: str = ""
    terminal_id: str = ""
    camera_preset: str = ""
    class_name: str = ""


@dataclass(frozen=True)
class BookingForm:
    title: str = ""
    teacher: str = ""
    host_school_id: str = ""
    on_date: date | None = None
    lesson_number: int | None = None
    repeat: str = "once"  # once, weekly over the "quarter" or the "year"
    platform: str = ""  # "" = any
    participants: tuple[ParticipantRow, ...] = field(default_factory=tuple)
    back: str = "/grid"  # the grid the form was opened from

    @property
    def rows(self) -> list[ParticipantRow]:
        """The participants' rows, padded with empty ones for partners to add."""
        rows = list(self.participants)
        return rows + [ParticipantRow()] * max(0, PARTICIPANT_ROWS - len(rows))

    @classmethod
    def read(cls, form: Mapping[str, str]) -> BookingForm:
        """The form as the browser sent it (unknown choices and bad numbers refused)."""
        rows = []
        for i in range(PARTICIPANT_ROWS):
            row = ParticipantRow(
                id_of(form.get(f"school_{i}", "")),
                id_of(form.get(f"terminal_{i}", "")),
                form.get(f"preset_{i}", "").strip(),
                form.get(f"class_{i}", "").strip(),
            )
            if row.school_id:
                rows.append(row)
        repeat = form.get("repeat", "once")
        platform = form.get("platform", "")
        if repeat not in REPEATS:
            raise InvalidInput(
                Words("unknown repetition %(value)s", {"value": repr(repeat)}), field="repeat"
            )
        if platform and platform not in {p.value for p in PlatformKind}:
            raise InvalidInput(
                Words("unknown platform %(value)s", {"value": repr(platform)}), field="platform"
            )
        if any(r.camera_preset not in CAMERA_PRESETS for r in rows):
            raise InvalidInput(Words("unknown camera preset"), field="preset")
        back = form.get("back", "/grid")
        return cls(
            title=form.get("title", "").strip(),
            teacher=form.get("teacher", "").strip(),
            host_school_id=id_of(form.get("host_school_id", "")),
            on_date=_day(form.get("date", "")),
            lesson_number=_number(form.get("lesson_number", "")),
            repeat=repeat,
            platform=platform,
            participants=tuple(rows),
            back=back if back.startswith("/grid") else "/grid",
        )

    def request(self, span: Callable[[date, str], tuple[date, date]]) -> BookingRequest:
        """The booking this form asks for; `span(date, "quarter"|"year")` gives a weekly
        series' first and last dates."""
        if self.on_date is None or self.lesson_number is None:
            raise InvalidInput(Words("choose a date and a lesson"), field="date")
        participants = [
            Participant(
                r.school_id, r.terminal_id or None, r.camera_preset or None, r.class_name or None
            )
            for r in self.participants
        ]
        request = BookingRequest(
            title=self.title,
            kind=SessionKind.FULL_BROADCAST,
            host_school_id=self.host_school_id,
            teacher=self.teacher,
            participants=participants,
            platform=PlatformKind(self.platform) if self.platform else None,
        )
        if self.repeat == "once":
            return replace(request, on_date=self.on_date, lesson_number=self.lesson_number)
        starts, ends = span(self.on_date, self.repeat)
        recurrence = Recurrence(
            weekdays=[self.on_date.weekday()],
            starts_on=starts,
            ends_on=ends,
            lesson_number=self.lesson_number,
        )
        return replace(request, recurrence=recurrence)

    def take(self, alternative: Alternative) -> BookingForm:
        """The form with a proposed alternative taken: another terminal instead of one,
        another lesson on the date, or a lesson number free on every date of the series.
        (Another lesson on one date of a series is not offered: it would move them all.)"""
        if alternative.kind == AlternativeKind.OTHER_TERMINAL and alternative.terminal_id:
            rows = tuple(
                replace(r, terminal_id=alternative.terminal_id)
                if r.terminal_id == alternative.instead_of_terminal_id
                else r
                for r in self.participants
            )
            return replace(self, participants=rows)
        if alternative.lesson_number is None:
            return self
        if alternative.kind == AlternativeKind.OTHER_LESSON and alternative.local_date:
            return replace(
                self, on_date=alternative.local_date, lesson_number=alternative.lesson_number
            )
        return replace(self, lesson_number=alternative.lesson_number)


def labelled(name: str, id: str) -> str:
    """A school or a terminal as its field shows it: «МБОУ «СОШ №20» · kem-school-20»."""
    return f"{name}{SEPARATOR}{id}" if name and id and name != id else id


def id_of(field: str) -> str:
    """The id a school or terminal field holds: after the last « · », else all of it."""
    return field.rsplit(SEPARATOR.strip(), 1)[-1].strip()


def alternative_token(alternative: Alternative) -> str:
    """An alternative as the value of the button that takes it."""
    parts = (
        alternative.kind.value,
        alternative.terminal_id or "",
        alternative.instead_of_terminal_id or "",
        alternative.local_date.isoformat() if alternative.local_date else "",
        "" if alternative.lesson_number is None else str(alternative.lesson_number),
    )
    return "|".join(parts)


def read_alternative(token: str) -> Alternative:
    """The alternative a button's value names."""
    try:
        kind, terminal, instead, day, number = token.split("|")
        return Alternative(
            AlternativeKind(kind),
            terminal_id=terminal or None,
            instead_of_terminal_id=instead or None,
            local_date=_day(day),
            lesson_number=_number(number),
        )
    except ValueError:
        raise InvalidInput(Words("the alternative chosen is not one the check proposed")) from None


def _day(value: str) -> date | None:
    """A date as the reader writes it («12.01.2027», or ISO from a link); empty: None."""
    found = day_of(value)
    return found if isinstance(found, date) else None


def _number(value: str) -> int | None:
    if not value:
        return None
    if not value.isdigit() or int(value) > 20:
        raise InvalidInput(
            Words("«%(value)s» is not a lesson number", {"value": value[:20]}),
            field="lesson_number",
        )
    return int(value)
