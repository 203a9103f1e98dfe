"""Calendar feeds (RFC 5545): one VEVENT per occurrence, instants in UTC (clients show
them in their own zone) or, with `zone_of`, local times with a TZID (the school's zone)
and a VTIMEZONE per zone used; cancelled dates kept as STATUS:CANCELLED so subscribed
calendars drop them, tentative holds as TENTATIVE.

The content lines are written here directly: the `icalendar` library took 15 ms for a
school's quarter (70 lessons), this 1 ms; tests/api/test_ical_feed.py holds it to what the
library would have written, read back by the library."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from icalendar import Timezone

from booking.bookings import BookingStatus
from booking.services.bookings import Session

MEDIA_TYPE = "text/calendar; charset=utf-8"
PRODUCT = "-//RCC Kuzbass//vks//RU"
KIND_LABELS = {
    "full_broadcast": "онлайн-трансляция",
    "partial_broadcast": "частичная трансляция",
    "recording": "запись",
    "lms": "урок в LMS",
    "event": "мероприятие",
}


def _status(session: Session) -> str:
    if session.occurrence.cancelled or session.booking.status == BookingStatus.CANCELLED:
        return "CANCELLED"
    if session.booking.status == BookingStatus.HELD:
        return "TENTATIVE"
    return "CONFIRMED"


def _summary(session: Session, numbers: Mapping[str, int | None] | None = None) -> str:
    """The title and the lesson number — the feed's school's own, when `numbers` gives it."""
    number = session.occurrence.lesson_number
    if numbers is not None:
        number = numbers.get(session.occurrence.id, number)
    lesson = f" ({number}-й урок)" if number is not None else ""
    return f"{session.booking.title}{lesson}"


def _description(session: Session) -> str:
    booking, occurrence = session.booking, session.occurrence
    lines = [f"Учитель: {session.teacher}"]
    if occurrence.teacher:
        lines.append(f"Замена: вместо {booking.teacher}")
    if booking.subject:
        lines.append(f"Предмет: {booking.subject}")
    lines.append(f"Вид: {KIND_LABELS.get(booking.kind, booking.kind)}")
    schools = ", ".join(
        p.school_id + (f" ({p.class_name})" if p.class_name else "") for p in booking.participants
    )
    lines.append(f"Участники: {schools}")
    terminals = ", ".join(occurrence.terminal_ids or booking.terminal_ids)
    if terminals:
        lines.append(f"Терминалы: {terminals}")
    if occurrence.moved_from is not None:
        lines.append(f"Перенесено с {occurrence.moved_from:%Y-%m-%d %H:%M} UTC")
    return "\n".join(lines)


def _text(value: str) -> str:
    """A TEXT value (RFC 5545 §3.3.11): backslash, semicolon, comma and line breaks escaped."""
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    return value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def _unescaped(value: str) -> str:
    """An X- property's value as the `icalendar` library wrote it before (and clients read
    it): not escaped, on one line."""
    return " ".join(value.splitlines())


def _instant(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _local(name: str, value: datetime, zone: ZoneInfo) -> str:
    """`DTSTART;TZID=Asia/Novokuznetsk:20261110T094500`: the wall-clock time in `zone`."""
    return f"{name};TZID={zone.key}:{value.astimezone(zone):%Y%m%dT%H%M%S}"


def _vtimezones(zones: dict[str, list[datetime]]) -> list[str]:
    """A VTIMEZONE for each zone, covering the instants of its events (written once per
    feed by the `icalendar` library: the rules of a zone are its business)."""
    lines: list[str] = []
    for key, instants in sorted(zones.items()):
        first = (min(instants) - timedelta(days=1)).date()
        last = (max(instants) + timedelta(days=1)).date()
        text = Timezone.from_tzid(key, first_date=first, last_date=last).to_ical().decode()
        lines += [line for line in text.replace("\r\n ", "").split("\r\n") if line]
    return lines


def _fold(line: str) -> str:
    """A content line folded after 75 octets (RFC 5545 §3.1), never inside a character."""
    data = line.encode()
    if len(data) <= 75:
        return line
    parts, start, limit = [], 0, 75
    while start < len(data):
        end = min(start + limit, len(data))
        while end < len(data) and data[end] & 0xC0 == 0x80:  # a UTF-8 continuation byte
            end -= 1
        parts.append(data[start:end].decode())
        start, limit = end, 74  # continuation lines begin with a space
    return "\r\n ".join(parts)


def calendar(
    name: str,
    sessions: Iterable[Session],
    *,
    now: datetime,
    domain: str,
    zone_of: Callable[[Session], ZoneInfo] | None = None,
    lesson_numbers: Mapping[str, int | None] | None = None,
) -> bytes:
    """The feed: the content lines, in the order the `icalendar` library wrote them; with
    `zone_of`, each event in the local time of its zone (TZID), the zones' VTIMEZONEs
    after the calendar's properties; with `lesson_numbers`, the feed's school's own
    lesson numbers in the summaries."""
    header = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:{_text(PRODUCT)}",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        f"X-WR-CALNAME:{_unescaped(name)}",
    ]
    lines: list[str] = []
    zones: dict[str, list[datetime]] = {}
    stamp = _instant(now)
    for session in sessions:
        occurrence, booking = session.occurrence, session.booking
        if zone_of is None:
            start, end = (
                f"DTSTART:{_instant(occurrence.start)}",
                f"DTEND:{_instant(occurrence.end)}",
            )
        else:
            zone = zone_of(session)
            zones.setdefault(zone.key, []).extend((occurrence.start, occurrence.end))
            start = _local("DTSTART", occurrence.start, zone)
            end = _local("DTEND", occurrence.end, zone)
        lines += [
            "BEGIN:VEVENT",
            f"SUMMARY:{_text(_summary(session, lesson_numbers))}",
            start,
            end,
            f"DTSTAMP:{stamp}",
            f"UID:{_text(f'{occurrence.id}@{domain}')}",
            f"SEQUENCE:{occurrence.version + booking.version - 1}",
            f"CATEGORIES:{_text(str(booking.kind))}",
            f"DESCRIPTION:{_text(_description(session))}",
            f"STATUS:{_status(session)}",
        ]
        if booking.subject:
            lines.append(f"X-VKS-SUBJECT:{_unescaped(booking.subject)}")
        lines.append("END:VEVENT")
    lines.append("END:VCALENDAR")
    every = [*header, *_vtimezones(zones), *lines]
    return ("".join(_fold(line) + "\r\n" for line in every)).encode()
