"""Calendar feeds (RFC 5545) built with the `icalendar` library: one VEVENT per
occurrence, instants in UTC (clients show them in their own zone), cancelled dates kept
as STATUS:CANCELLED so subscribed calendars drop them, tentative holds as TENTATIVE."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from icalendar import Calendar, Event

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


def _summary(session: Session) -> str:
    number = session.occurrence.lesson_number
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


def calendar(name: str, sessions: Iterable[Session], *, now: datetime, domain: str) -> bytes:
    cal = Calendar()
    cal.add("prodid", PRODUCT)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", name)
    for session in sessions:
        occurrence = session.occurrence
        event = Event()
        event.add("uid", f"{occurrence.id}@{domain}")
        event.add("dtstamp", now)
        event.add("dtstart", occurrence.start)
        event.add("dtend", occurrence.end)
        event.add("summary", _summary(session))
        event.add("description", _description(session))
        event.add("status", _status(session))
        event.add("sequence", occurrence.version + session.booking.version - 1)
        event.add("categories", [str(session.booking.kind)])
        if session.booking.subject:
            event.add("x-vks-subject", session.booking.subject)
        cal.add_component(event)
    data: bytes = cal.to_ical()
    return data
